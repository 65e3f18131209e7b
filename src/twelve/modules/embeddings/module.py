"""The embeddings module as the process wires it: the embeddings port, over the models port."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.modules.embeddings.api import EmbeddingsService
from twelve.modules.embeddings.service import Embeddings
from twelve.modules.models.api import ModelsService


def build(context: ModuleContext) -> Built:
    return Built(services={EmbeddingsService: Embeddings(context.port(ModelsService))})


MODULE = ModuleSpec(name="embeddings", provides=(EmbeddingsService,), build=build)
