"""The audio module as the process wires it: the audio port, over the models port and (when it
is served or located) the storage port."""

from __future__ import annotations

from twelve.kernel.event_publisher import EventPublisher
from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.kernel.rpc import encoded_body_bytes, internal_path
from twelve.modules.audio.api import AudioService
from twelve.modules.audio.service import Audio
from twelve.modules.audio.settings import AudioSettings
from twelve.modules.models.api import ModelsService
from twelve.modules.storage.api import StorageService


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(AudioSettings)
    audio = Audio(
        context.port(ModelsService),
        context.optional_port(StorageService),
        settings,
        EventPublisher(context.bus),
    )
    # An upload (or speech) crosses the internal routes base64-encoded in JSON (a split
    # deployment).
    bound = encoded_body_bytes(settings.max_bytes)
    methods = ("check_upload", "transcribe", "speak", "keep")
    return Built(
        services={AudioService: audio},
        body_limits={("POST", internal_path("audio", m)): bound for m in methods},
    )


MODULE = ModuleSpec(name="audio", provides=(AudioService,), settings=AudioSettings, build=build)
