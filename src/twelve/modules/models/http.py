"""The models module's internal routes: its port, for gateway and feature modules elsewhere."""

from __future__ import annotations

from twelve.kernel.rpc import Endpoints
from twelve.modules.models.api import ModelsService


def internal_endpoints(models: ModelsService) -> Endpoints:
    return Endpoints(
        calls={
            "list_models": lambda _a: models.list_models(),
            "plan": lambda a: models.plan(a["model"], a["capability"]),
            "call": lambda a: models.call(a["deployment_id"], a["operation"], a["body"]),
        },
        streams={
            "stream": lambda a: models.stream(a["deployment_id"], a["operation"], a["body"]),
        },
    )
