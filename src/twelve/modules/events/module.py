"""The events module as the process wires it: webhook deliveries and signing secrets on its own
database, and the sender that delivers them in serving processes."""

from __future__ import annotations

from twelve.kernel.module_spec import Built, ModuleContext, ModuleSpec, migrations_of
from twelve.modules.events.api import EventsService
from twelve.modules.events.service import EventsService as Events
from twelve.modules.events.settings import EventsSettings, with_config_file


def build(context: ModuleContext) -> Built:
    settings = with_config_file(context.settings_as(EventsSettings), context.process.config)
    service = Events(context.database, settings)
    context.on_serve(service.sender.start)
    context.on_stop(service.sender.stop)
    return Built(services={EventsService: service})


MODULE = ModuleSpec(
    name="events",
    provides=(EventsService,),
    migrations=migrations_of(__file__),
    settings=EventsSettings,
    build=build,
)
