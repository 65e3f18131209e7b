"""The storage module as the process wires it: files per customer on its own database, their
content as content-addressed blobs under the data dir (or in an S3 bucket), and the open
uploads."""

from __future__ import annotations

from pathlib import Path

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.kernel.rpc import internal_path
from twelve.modules.storage.adapters.local_blobs import LocalBlobs
from twelve.modules.storage.adapters.s3_blobs import S3Blobs
from twelve.modules.storage.api import CHUNK_BYTES, StorageService
from twelve.modules.storage.blob_store import BlobStore
from twelve.modules.storage.service import Storage
from twelve.modules.storage.settings import StorageSettings
from twelve.modules.storage.uploads import Uploads


def build(context: ModuleContext) -> Built:
    settings = context.settings_as(StorageSettings)
    root = settings.blob_dir or context.process.data_dir / "blobs"
    uploads = Uploads(
        root / "uploads",
        max_bytes=settings.max_file_bytes,
        max_open=settings.max_open_uploads,
        idle_seconds=settings.upload_idle_seconds,
    )
    service = Storage(context.database, _blob_store(context, settings, root), uploads)

    async def clear_uploads() -> None:
        uploads.clear()

    context.on_serve(clear_uploads)
    context.on_stop(uploads.close)
    return Built(
        services={StorageService: service},
        # Content crosses the internal routes base64-encoded in JSON: a chunk, or a whole file
        # for `put_file`, whatever the process's `TWELVE_MAX_BODY_BYTES`.
        body_limits={
            ("POST", internal_path("storage", "append_upload")): _encoded(CHUNK_BYTES),
            ("POST", internal_path("storage", "put_file")): _encoded(settings.max_file_bytes),
        },
    )


def _blob_store(context: ModuleContext, settings: StorageSettings, root: Path) -> BlobStore:
    if settings.backend == "local":
        return LocalBlobs(root)
    secret = settings.s3_secret_access_key
    store = S3Blobs(
        bucket=settings.s3_bucket or "",  # required with this backend (StorageSettings)
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )
    context.on_start(store.start)
    context.on_stop(store.close)
    return store


def _encoded(content_bytes: int) -> int:
    """The JSON body that carries `content_bytes` of base64 content, with room for the rest."""
    return (content_bytes + 2) // 3 * 4 + 64 * 1024


MODULE = ModuleSpec(
    name="storage",
    provides=(StorageService,),
    migrations=migrations_of(__file__),
    settings=StorageSettings,
    build=build,
)
