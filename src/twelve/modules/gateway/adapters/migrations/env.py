from twelve.kernel.migrations import run_env
from twelve.modules.gateway.adapters.tables import metadata

run_env(metadata)
