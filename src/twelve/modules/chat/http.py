"""The chat module's internal routes: its port, for a gateway in another process."""

from __future__ import annotations

from twelve.kernel.rpc import JSON, Endpoints
from twelve.modules.chat.api import ChatService
from twelve.modules.models.api import DeploymentRef


def internal_endpoints(chat: ChatService) -> Endpoints:
    def ref(args: JSON) -> DeploymentRef:
        return DeploymentRef.model_validate(args["deployment"])

    return Endpoints(
        calls={"complete": lambda a: chat.complete(ref(a), a["body"])},
        streams={"stream": lambda a: chat.stream(ref(a), a["body"])},
    )
