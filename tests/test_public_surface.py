"""Each module's `api.py` is its whole public surface: `__all__` lists exactly what it defines,
and no other module imports a name from it that `__all__` does not list."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "twelve"
MODULES = sorted(p.name for p in (SRC / "modules").iterdir() if (p / "api.py").exists())


def test_all_twelve_modules_exist() -> None:
    assert (
        sorted(
            [
                "gateway",
                "chat",
                "completion",
                "embeddings",
                "images",
                "audio",
                "credits",
                "models",
                "jobs",
                "storage",
                "events",
                "admin",
            ]
        )
        == MODULES
    )


@pytest.mark.parametrize("module", MODULES)
def test_all_lists_exactly_what_api_defines(module: str) -> None:
    api = importlib.import_module(f"twelve.modules.{module}.api")
    exported = set(api.__all__)
    assert all(hasattr(api, name) for name in exported)
    defined_here = {
        name
        for name, value in vars(api).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == api.__name__
    }
    assert defined_here <= exported, f"public but not in __all__: {defined_here - exported}"


def test_other_modules_import_only_exported_names() -> None:
    exports = {m: set(importlib.import_module(f"twelve.modules.{m}.api").__all__) for m in MODULES}
    offences = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[:2] == ["twelve", "modules"] and parts[3:] == ["api"]:
                    for alias in node.names:
                        if alias.name not in exports[parts[2]]:
                            offences.append(f"{path.relative_to(SRC)}: {alias.name}")
    assert offences == []
