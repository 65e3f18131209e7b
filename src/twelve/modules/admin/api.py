"""Public surface of the admin module. No other module depends on admin: it sits on top."""

from __future__ import annotations

__all__: list[str] = []
