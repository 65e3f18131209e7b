"""A request the sidecar refuses: the 4xx status, the message a client reads, the parameter at
fault and an optional code, raised deep in the speech code (form reading, decoding, synthesis) and
turned into OpenAI's error body by the route that called it."""

from __future__ import annotations


class Refused(Exception):
    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code
