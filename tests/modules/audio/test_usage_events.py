"""Each answered audio or image request publishes its usage event on the bus (best effort: a
failing bus does not fail the request)."""

from __future__ import annotations

from typing import Any, cast

from twelve.kernel.event_bus import Event, InProcessBus
from twelve.kernel.event_publisher import EventPublisher
from twelve.modules.audio.api import USAGE_SUBJECT as AUDIO_USAGE
from twelve.modules.audio.api import KeepOutput as KeepAudio
from twelve.modules.audio.service import Audio
from twelve.modules.audio.settings import AudioSettings
from twelve.modules.images.api import USAGE_SUBJECT as IMAGES_USAGE
from twelve.modules.images.api import KeepOutput
from twelve.modules.images.service import Images
from twelve.modules.images.settings import ImagesSettings
from twelve.modules.models.api import ModelsService, binary_answer

NO_MODELS = cast(ModelsService, None)  # `keep` calls no model


def listening() -> tuple[InProcessBus, list[Event]]:
    bus, seen = InProcessBus(), []

    async def handler(event: Event) -> None:
        seen.append(event)

    bus.subscribe("twelve.>", "test", handler)
    return bus, seen


async def test_speech_and_transcription_publish_their_usage() -> None:
    bus, seen = listening()
    audio = Audio(NO_MODELS, None, AudioSettings(), EventPublisher(bus))
    spoken = binary_answer(b"RIFF", "audio/wav", {}, {"characters": 5, "seconds": 0.4})
    await audio.keep(KeepAudio(customer_id="c", model="tts", operation="speech", answer=spoken))
    heard: dict[str, Any] = {"text": "hi", "usage": {"type": "duration", "seconds": 3}}
    await audio.keep(
        KeepAudio(customer_id="c", model="stt", operation="transcription", answer=heard)
    )
    assert [
        (e.subject, e.data["model"], e.data["characters"], e.data["seconds"]) for e in seen
    ] == [
        (AUDIO_USAGE, "tts", 5, 0.4),
        (AUDIO_USAGE, "stt", None, 3),
    ]
    assert len({e.id for e in seen}) == 2


async def test_images_publish_their_usage_and_a_failing_bus_fails_nothing() -> None:
    bus, seen = listening()
    images = Images(NO_MODELS, None, ImagesSettings(), EventPublisher(bus))
    made = {"created": 1, "data": [{"url": "https://x.invalid/a.png"}] * 2}
    answer = await images.keep(
        KeepOutput(customer_id="c", model="dall-e", operation="generation", answer=made)
    )
    assert answer == made
    [event] = seen
    assert event.subject == IMAGES_USAGE
    assert event.data == {"customer_id": "c", "model": "dall-e", "operation": "generation",
                          "images": 2, "file_ids": []}  # fmt: skip

    async def broken(_event: Event) -> None:
        raise RuntimeError("the bus is down")

    bus.subscribe("twelve.>", "broken", broken)
    read = {"text": "x", "pages": [], "usage": {"images": 3}}
    kept = await images.keep(KeepOutput(customer_id="c", model="ocr", operation="ocr", answer=read))
    assert kept == read and seen[-1].data["images"] == 3
