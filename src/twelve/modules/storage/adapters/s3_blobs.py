"""Blobs in an S3-compatible object store: `<prefix><first two hex digits>/<sha256>` in one bucket.

Used when `TWELVE_STORAGE_BACKEND=s3`. A blob arrives as a finished temp file (the uploads stay
on the local disk) and is sent in one PUT up to `PART_BYTES`, else as a multipart upload of
`PART_BYTES` parts read a part at a time, so memory stays bounded whatever the file's size; a
failed multipart upload is aborted so no parts are left billed. The bucket must exist.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

# aiobotocore and botocore ship no type information (types-aiobotocore is a separate project).
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

PART_BYTES = 8 * 1024 * 1024  # S3's parts must be ≥ 5 MiB but the last
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class S3Blobs:
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "config": AioConfig(retries={"max_attempts": 3, "mode": "standard"}),
        }
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        if self._client is None:
            session = get_session()
            self._client = await self._stack.enter_async_context(
                session.create_client("s3", **self._options)
            )

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    def key_of(self, sha256: str) -> str:
        if not _DIGEST.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("the S3 blob store is not started")
        return self._client

    async def place(self, source: Path, sha256: str) -> None:
        if await self.exists(sha256):
            return
        key = self.key_of(sha256)
        handle = await asyncio.to_thread(source.open, "rb")
        try:
            if await asyncio.to_thread(_size, source) <= PART_BYTES:
                body = await asyncio.to_thread(handle.read)
                await self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
            else:
                await self._multipart(key, handle)
        finally:
            handle.close()

    async def _multipart(self, key: str, handle: Any) -> None:
        started = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = started["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            while part := await asyncio.to_thread(handle.read, PART_BYTES):
                number = len(parts) + 1
                sent = await self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part
                )
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )
            raise

    async def chunks(self, sha256: str, chunk_bytes: int) -> AsyncIterator[bytes]:
        answer = await self.client.get_object(Bucket=self.bucket, Key=self.key_of(sha256))
        async with answer["Body"] as body:
            while chunk := await body.read(chunk_bytes):
                yield chunk

    async def remove(self, sha256: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=self.key_of(sha256))

    async def exists(self, sha256: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.bucket, Key=self.key_of(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def _size(path: Path) -> int:
    return path.stat().st_size
