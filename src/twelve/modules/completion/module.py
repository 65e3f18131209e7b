"""The completion module as the process wires it: the completion port, over the models port."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.modules.completion.api import CompletionService
from twelve.modules.completion.service import TextCompletions
from twelve.modules.models.api import ModelsService


def build(context: ModuleContext) -> Built:
    return Built(services={CompletionService: TextCompletions(context.port(ModelsService))})


MODULE = ModuleSpec(name="completion", provides=(CompletionService,), build=build)
