from twelve.kernel.migrations import run_env
from twelve.modules.jobs.adapters.tables import metadata

run_env(metadata)
