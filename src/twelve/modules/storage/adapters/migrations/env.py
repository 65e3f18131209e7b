from twelve.kernel.migrations import run_env
from twelve.modules.storage.adapters.tables import metadata

run_env(metadata)
