"""The models module as the process wires it: the configuration file's models, checked at
start-up, behind the models port."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec
from twelve.kernel.rpc import internal_path
from twelve.modules.models.api import ModelsService
from twelve.modules.models.loaded_models import announce, load_models
from twelve.modules.models.service import build_models_service
from twelve.modules.models.settings import ModelsSettings


def build(context: ModuleContext) -> Built:
    process = context.process
    local = context.settings_as(ModelsSettings)
    loaded = load_models(process.config, host=process.host, port=process.port, local=local)
    context.on_serve(lambda: announce(loaded))
    models = build_models_service(loaded.config, context.http)
    if models.health is not None:
        # Only a serving process checks: a one-shot CLI command serves no model.
        context.on_serve(models.health.start)
        context.on_stop(models.health.stop)
    return Built(
        services={ModelsService: models},
        facts=[loaded],
        notices={"missing_credentials": loaded.missing_credentials},
        # An audio upload or an image crosses `call` base64-encoded in JSON (a split deployment).
        body_limits={("POST", internal_path("models", "call")): MAX_MEDIA_CALL_BYTES},
    )


# Room for the largest default media input (a 25 MB audio upload), base64-encoded.
MAX_MEDIA_CALL_BYTES = 48 * 1024 * 1024


MODULE = ModuleSpec(name="models", provides=(ModelsService,), settings=ModelsSettings, build=build)
