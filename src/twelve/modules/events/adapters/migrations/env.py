from twelve.kernel.migrations import run_env
from twelve.modules.events.adapters.tables import metadata

run_env(metadata)
