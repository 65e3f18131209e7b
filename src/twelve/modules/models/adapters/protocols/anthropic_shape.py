"""Typed reads of Anthropic's JSON: each returns the value or raises a 502 naming the field.

Absent optional fields read as empty (`""`, `{}`, `0`); present ones of the wrong type are the
upstream breaking its contract, and so an `UpstreamError`, retryable unless a stream already
started.
"""

from __future__ import annotations

from typing import Any

from twelve.kernel.errors import UpstreamError
from twelve.modules.models.adapters.upstream_failures import malformed
from twelve.modules.models.api import JSONObject


class AnthropicShape:
    def __init__(self, label: str, *, retryable: bool) -> None:
        self._label = label
        self._retryable = retryable

    def object(self, value: Any, where: str) -> JSONObject:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.bad(f"`{where}` is not an object")
        return value

    def objects(self, value: Any, where: str) -> list[JSONObject]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.bad(f"`{where}` is not a list of objects")
        return value

    def text(self, value: Any, where: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.bad(f"`{where}` is not a string")
        return value

    def required_text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.bad(f"`{where}` is missing")
        return value

    def count(self, value: Any, where: str) -> int:
        if value is None:
            return 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.bad(f"`{where}` is not a token count")
        return value

    def index(self, value: Any) -> int:
        return self.count(value, "index")

    def bad(self, what: str) -> UpstreamError:
        return malformed(what, retryable=self._retryable, label=self._label)
