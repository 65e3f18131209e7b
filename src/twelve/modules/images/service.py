"""The images service: inputs checked and resolved once per request, calls to one deployment
through the models port, generated images kept in storage.

Metering: an analysis's or OCR's `usage` counts `images` (an image analysed, a page read),
whatever the upstream reported besides; a generation's images are counted from its `data` (its
`usage` stays OpenAI's), so the gateway bills one unit per image.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from twelve.kernel.errors import InvalidRequest, NotFound
from twelve.kernel.event_publisher import EventPublisher
from twelve.modules.images.api import USAGE_SUBJECT, KeepOutput, ResolveImage
from twelve.modules.images.image_input import check, decode
from twelve.modules.images.settings import ImagesSettings
from twelve.modules.images.url_fetch import UrlFetch
from twelve.modules.models.api import (
    IMAGE_ANALYSES,
    IMAGE_GENERATIONS,
    OCR,
    JSONObject,
    ModelsService,
)
from twelve.modules.storage.api import PutFile, StorageService

# Twelve's own purpose for what it made (not one a client uploads with).
OUTPUT_PURPOSE = "image_output"


class Images:
    def __init__(
        self,
        models: ModelsService,
        storage: StorageService | None,
        settings: ImagesSettings,
        events: EventPublisher,
    ) -> None:
        self._models = models
        self._events = events
        self._storage = storage
        self._settings = settings
        self.fetch = UrlFetch(
            settings.allow_networks, seconds=settings.fetch_seconds, max_bytes=settings.max_bytes
        )

    async def resolve_input(self, command: ResolveImage) -> JSONObject:
        body, field = dict(command.body), command.field
        given = [name for name in (field, "file_id", "url") if body.get(name) is not None]
        if len(given) != 1:
            raise InvalidRequest(
                f"Give the image as exactly one of '{field}' (base64 or a data URL), "
                "'file_id' or 'url'.",
                param=field,
            )
        [source] = given
        limit = self._settings.max_bytes
        if source == "url":
            data = await self.fetch.fetch(body.pop("url"))
        elif source == "file_id":
            data, name = await self._file(command.customer_id, body.pop("file_id"))
            if field == "file":  # OCR: the stored name tells a PDF's pages from an image
                body.setdefault("filename", name)
        else:
            data = decode(body[field], field, limit)
        check(
            data,
            source,
            documents=command.documents,
            max_bytes=limit,
            max_pixels=self._settings.max_pixels,
        )
        body.pop("file_id", None)
        body.pop("url", None)
        body[field] = base64.b64encode(data).decode("ascii")
        return body

    async def _file(self, customer_id: str, file_id: str) -> tuple[bytes, str]:
        if self._storage is None:
            raise InvalidRequest(
                "Files are not served here: send the image itself.", param="file_id"
            )
        stored = await self._storage.get_file(customer_id, file_id)
        if stored is None:
            raise NotFound(
                f"No such File object: {file_id!r}", param="file_id", code="file_not_found"
            )
        if stored.bytes > self._settings.max_bytes:
            raise InvalidRequest(
                f"The file is over {self._settings.max_bytes} bytes.", param="file_id"
            )
        content = await self._storage.read_file(customer_id, file_id)
        if content is None:
            raise NotFound(
                f"No such File object: {file_id!r}", param="file_id", code="file_not_found"
            )
        return content.content, stored.filename

    async def generate(self, deployment_id: str, body: JSONObject) -> JSONObject:
        # OpenAI's answer as it is (its `usage` is token counts, when any): the images made are
        # counted from `data` by the gateway's descriptor.
        return await self._models.call(deployment_id, IMAGE_GENERATIONS.name, body)

    async def analyze(self, deployment_id: str, body: JSONObject) -> JSONObject:
        answer = await self._models.call(deployment_id, IMAGE_ANALYSES.name, body)
        answer["model"] = body["model"]
        answer["usage"] = {**_usage(answer), "images": 1}
        return answer

    async def read_text(self, deployment_id: str, body: JSONObject) -> JSONObject:
        answer = await self._models.call(deployment_id, OCR.name, body)
        answer["model"] = body["model"]
        pages = answer.get("pages")
        read = _usage(answer).get("images")
        counted = read if isinstance(read, int) and read > 0 else len(pages or ()) or 1
        answer["usage"] = {**_usage(answer), "images": counted}
        return answer

    async def keep(self, command: KeepOutput) -> JSONObject:
        answer, customer_id = command.answer, command.customer_id
        data = answer.get("data")
        file_ids: list[str] = []
        if command.operation == "generation" and self._storage is not None:
            kept: list[Any] = []
            for index, item in enumerate(data if isinstance(data, list) else ()):
                stored = await self._store(customer_id, answer, index, item)
                if stored is not None:
                    file_ids.append(stored)
                    item = {**item, "file_id": stored}
                kept.append(item)
            if isinstance(data, list):
                answer = {**answer, "data": kept}
        if command.operation == "generation":
            images = len(data) if isinstance(data, list) else 0
        else:
            counted = _usage(answer).get("images")
            images = counted if isinstance(counted, int) else 1
        await self._events.publish(
            USAGE_SUBJECT,
            {
                "customer_id": customer_id,
                "model": command.model,
                "operation": command.operation,
                "images": images,
                "file_ids": file_ids,
            },
        )
        return answer

    async def _store(
        self, customer_id: str, answer: JSONObject, index: int, item: object
    ) -> str | None:
        """A generated image (`b64_json`) as one of the customer's files: its id."""
        picture = item.get("b64_json") if isinstance(item, dict) else None
        if not isinstance(picture, str):
            return None  # a URL: the provider keeps it
        try:
            base64.b64decode(picture, validate=True)
        except (binascii.Error, ValueError):
            return None
        assert self._storage is not None
        stored = await self._storage.put_file(
            PutFile(
                customer_id=customer_id,
                filename=f"image-{answer.get('created', 0)}-{index}.png",
                purpose=OUTPUT_PURPOSE,
                content_type="image/png",
                content=picture,  # base64, as the port takes it
            )
        )
        return stored.id

    async def close(self) -> None:
        await self.fetch.close()


def _no_file(file_id: str) -> NotFound:
    return NotFound(f"No such File object: {file_id!r}", param="file_id", code="file_not_found")


def _usage(answer: JSONObject) -> dict[str, Any]:
    usage = answer.get("usage")
    return dict(usage) if isinstance(usage, dict) else {}
