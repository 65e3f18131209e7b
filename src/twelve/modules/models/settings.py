"""The models module's settings: where the local sidecar is, whose models it lists by default."""

from __future__ import annotations

from twelve.kernel.sidecar_location import SidecarLocation


class ModelsSettings(SidecarLocation):
    """`TWELVE_SIDECAR`, `TWELVE_SIDECAR_URL`, `TWELVE_SIDECAR_HOST`, `TWELVE_SIDECAR_PORT`."""
