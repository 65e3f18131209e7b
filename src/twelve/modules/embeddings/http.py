"""The embeddings module's internal routes: its port, for a gateway in another process."""

from __future__ import annotations

from twelve.kernel.rpc import Endpoints
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.models.api import DeploymentRef


def internal_endpoints(embeddings: EmbeddingsService) -> Endpoints:
    return Endpoints(
        calls={
            "embed": lambda a: embeddings.embed(
                DeploymentRef.model_validate(a["deployment"]), a["body"]
            )
        }
    )
