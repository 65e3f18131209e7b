"""The storage module as the process wires it: files per customer on its own database, their
content as content-addressed blobs under the data dir, and the open uploads."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.storage.adapters.local_blobs import LocalBlobs
from twelve.modules.storage.api import StorageService
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
    service = Storage(context.database, LocalBlobs(root), uploads)

    async def clear_uploads() -> None:
        uploads.clear()

    context.on_serve(clear_uploads)
    context.on_stop(uploads.close)
    return Built(services={StorageService: service})


MODULE = ModuleSpec(
    name="storage",
    provides=(StorageService,),
    migrations=migrations_of(__file__),
    settings=StorageSettings,
    build=build,
)
