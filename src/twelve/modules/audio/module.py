"""The audio module as the process wires it: the audio port, over the models port and (when it
is served or located) the storage port."""

from __future__ import annotations

from twelve.kernel.event_publisher import EventPublisher
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.modules.audio.api import AudioService
from twelve.modules.audio.service import Audio
from twelve.modules.audio.settings import AudioSettings
from twelve.modules.models.api import ModelsService
from twelve.modules.storage.api import StorageService


def build(context: ModuleContext) -> Built:
    audio = Audio(
        context.port(ModelsService),
        context.optional_port(StorageService),
        context.settings_as(AudioSettings),
        EventPublisher(context.bus),
    )
    return Built(services={AudioService: audio})


MODULE = ModuleSpec(name="audio", provides=(AudioService,), settings=AudioSettings, build=build)
