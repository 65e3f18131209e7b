"""The completion module's internal routes: its port, for a gateway in another process."""

from __future__ import annotations

from twelve.kernel.rpc import JSON, Endpoints
from twelve.modules.completion.api import CompletionService
from twelve.modules.models.api import DeploymentRef


def internal_endpoints(completion: CompletionService) -> Endpoints:
    def ref(args: JSON) -> DeploymentRef:
        return DeploymentRef.model_validate(args["deployment"])

    return Endpoints(
        calls={"complete": lambda a: completion.complete(ref(a), a["body"])},
        streams={"stream": lambda a: completion.stream(ref(a), a["body"])},
    )
