"""The audio service: uploads checked before routing, calls to one deployment through the models
port, spoken audio kept in storage.

Metering: a transcription's `usage.seconds` (OpenAI's `{"type": "duration", "seconds": n}`, or
the sidecar's `x-twelve-audio-seconds` header when the answer is text); speech's `usage` counts
`characters` (of the input) and `seconds` (of audio made, from `x-twelve-audio-seconds` when the
upstream says).
"""

from __future__ import annotations

import math
import time
from typing import Any

from twelve.kernel.event_publisher import EventPublisher
from twelve.modules.audio.api import USAGE_SUBJECT, KeepOutput
from twelve.modules.audio.audio_input import check, decode
from twelve.modules.audio.settings import AudioSettings
from twelve.modules.models.api import (
    BINARY_OBJECT,
    SPEECH,
    TRANSCRIPTIONS,
    JSONObject,
    ModelsService,
)
from twelve.modules.storage.api import PutFile, StorageService

SECONDS_HEADER = "x-twelve-audio-seconds"
OUTPUT_PURPOSE = "audio_output"
_EXTENSIONS = {"audio/wav": "wav", "audio/mpeg": "mp3", "audio/pcm": "pcm", "audio/flac": "flac"}


class Audio:
    def __init__(
        self,
        models: ModelsService,
        storage: StorageService | None,
        settings: AudioSettings,
        events: EventPublisher,
    ) -> None:
        self._models = models
        self._events = events
        self._storage = storage
        self._settings = settings

    async def check_upload(self, body: JSONObject) -> JSONObject:
        upload = body["file"]
        data = decode(upload["data"], self._settings.max_bytes)
        media = check(
            data, max_bytes=self._settings.max_bytes, max_seconds=self._settings.max_seconds
        )
        declared = upload.get("content_type") or ""
        # The type the bytes say, when the client declared none or a generic one.
        if not declared.startswith("audio/"):
            upload = {**upload, "content_type": media}
        return {**body, "file": upload}

    async def transcribe(self, deployment_id: str, body: JSONObject) -> JSONObject:
        answer = await self._models.call(deployment_id, TRANSCRIPTIONS.name, body)
        usage = _usage(answer)
        if "seconds" not in usage:
            seconds = _seconds(answer)
            if seconds is not None:
                usage = {"type": "duration", **usage, "seconds": math.ceil(seconds)}
        if usage:
            answer["usage"] = usage
        return answer

    async def speak(self, deployment_id: str, body: JSONObject) -> JSONObject:
        answer = await self._models.call(deployment_id, SPEECH.name, body)
        usage: dict[str, Any] = {**_usage(answer), "characters": len(body["input"])}
        seconds = _seconds(answer)
        if seconds is not None:
            usage["seconds"] = seconds
        answer["usage"] = usage
        return answer

    async def keep(self, command: KeepOutput) -> JSONObject:
        answer = command.answer
        file_id = None
        if command.operation == "speech" and answer.get("object") == BINARY_OBJECT:
            file_id = await self._store(command.customer_id, answer)
            if file_id is not None:
                headers = {**answer.get("headers", {}), "x-twelve-file-id": file_id}
                answer = {**answer, "headers": headers}
        usage = _usage(answer)
        await self._events.publish(
            USAGE_SUBJECT,
            {
                "customer_id": command.customer_id,
                "model": command.model,
                "operation": command.operation,
                "seconds": usage.get("seconds"),
                "characters": usage.get("characters"),
                "file_id": file_id,
            },
        )
        return answer

    async def _store(self, customer_id: str, answer: JSONObject) -> str | None:
        if self._storage is None:
            return None
        media = str(answer.get("content_type") or "application/octet-stream")
        extension = _EXTENSIONS.get(media.split(";")[0].strip(), "bin")
        stored = await self._storage.put_file(
            PutFile(
                customer_id=customer_id,
                filename=f"speech-{int(time.time())}.{extension}",
                purpose=OUTPUT_PURPOSE,
                content_type=media,
                content=answer["data"],  # base64, as the port takes it
            )
        )
        return stored.id


def _usage(answer: JSONObject) -> dict[str, Any]:
    usage = answer.get("usage")
    return dict(usage) if isinstance(usage, dict) else {}


def _seconds(answer: JSONObject) -> float | None:
    headers = answer.get("headers")
    raw = headers.get(SECONDS_HEADER) if isinstance(headers, dict) else None
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None
