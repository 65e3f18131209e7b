"""The images module as the process wires it: the images port, over the models port and (when
it is served or located) the storage port."""

from __future__ import annotations

from twelve.kernel.event_publisher import EventPublisher
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.kernel.rpc import encoded_body_bytes, internal_path
from twelve.modules.images.api import ImagesService
from twelve.modules.images.service import Images
from twelve.modules.images.settings import ImagesSettings
from twelve.modules.models.api import ModelsService
from twelve.modules.storage.api import StorageService


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(ImagesSettings)
    images = Images(
        context.port(ModelsService),
        context.optional_port(StorageService),
        settings,
        EventPublisher(context.bus),
    )
    context.on_stop(images.close)
    # An image crosses the internal routes base64-encoded in JSON (a split deployment).
    bound = encoded_body_bytes(settings.max_bytes)
    methods = ("resolve_input", "generate", "analyze", "read_text", "keep")
    return Built(
        services={ImagesService: images},
        body_limits={("POST", internal_path("images", m)): bound for m in methods},
    )


MODULE = ModuleSpec(name="images", provides=(ImagesService,), settings=ImagesSettings, build=build)
