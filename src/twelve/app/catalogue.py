"""Every module of the platform, by its descriptor (`modules/<name>/module.py`), in the order the
process builds them and the start-up banner names them. Adding a module is one line here."""

from __future__ import annotations

from twelve.kernel.module_spec import ModuleSpec
from twelve.modules.admin.module import MODULE as ADMIN
from twelve.modules.audio.module import MODULE as AUDIO
from twelve.modules.chat.module import MODULE as CHAT
from twelve.modules.completion.module import MODULE as COMPLETION
from twelve.modules.credits.module import MODULE as CREDITS
from twelve.modules.embeddings.module import MODULE as EMBEDDINGS
from twelve.modules.events.module import MODULE as EVENTS
from twelve.modules.gateway.module import MODULE as GATEWAY
from twelve.modules.images.module import MODULE as IMAGES
from twelve.modules.jobs.module import MODULE as JOBS
from twelve.modules.models.module import MODULE as MODELS
from twelve.modules.storage.module import MODULE as STORAGE

CATALOGUE: tuple[ModuleSpec, ...] = (
    GATEWAY, CHAT, COMPLETION, EMBEDDINGS, IMAGES, AUDIO,
    CREDITS, MODELS, JOBS, STORAGE, EVENTS, ADMIN,
)  # fmt: skip
