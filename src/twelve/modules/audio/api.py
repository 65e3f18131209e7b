"""Public surface of the audio module.

Nothing is public yet: the issue that builds this module adds its port and DTOs here, and other
modules will reach it only through this file.
"""

from __future__ import annotations

__all__: list[str] = []
