"""The chat module as the process wires it: the chat port, over the models port."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.modules.chat.api import ChatService
from twelve.modules.chat.service import ChatCompletions
from twelve.modules.models.api import ModelsService


def build(context: ModuleContext) -> Built:
    return Built(services={ChatService: ChatCompletions(context.port(ModelsService))})


MODULE = ModuleSpec(name="chat", provides=(ChatService,), build=build)
