"""The models module's internal routes: its port, for gateway and feature modules elsewhere."""

from __future__ import annotations

from twelve.kernel.rpc import JSON, Endpoints
from twelve.modules.models.api import DeploymentRef, ModelsService


def internal_endpoints(models: ModelsService) -> Endpoints:
    def ref(args: JSON) -> DeploymentRef:
        return DeploymentRef.model_validate(args["deployment"])

    return Endpoints(
        calls={
            "list_models": lambda _a: models.list_models(),
            "plan": lambda a: models.plan(a["model"], a["capability"]),
            "chat": lambda a: models.chat(ref(a), a["body"]),
            "completion": lambda a: models.completion(ref(a), a["body"]),
            "embeddings": lambda a: models.embeddings(ref(a), a["body"]),
        },
        streams={
            "chat_stream": lambda a: models.chat_stream(ref(a), a["body"]),
            "completion_stream": lambda a: models.completion_stream(ref(a), a["body"]),
        },
    )
