"""The images module as the process wires it: the images port, over the models port and (when
it is served or located) the storage port."""

from __future__ import annotations

from twelve.kernel.event_publisher import EventPublisher
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.modules.images.api import ImagesService
from twelve.modules.images.service import Images
from twelve.modules.images.settings import ImagesSettings
from twelve.modules.models.api import ModelsService
from twelve.modules.storage.api import StorageService


def build(context: ModuleContext) -> Built:
    images = Images(
        context.port(ModelsService),
        context.optional_port(StorageService),
        context.settings_as(ImagesSettings),
        EventPublisher(context.bus),
    )
    context.on_stop(images.close)
    return Built(services={ImagesService: images})


MODULE = ModuleSpec(name="images", provides=(ImagesService,), settings=ImagesSettings, build=build)
