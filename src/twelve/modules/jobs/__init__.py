"""Jobs: async tasks, workers, retries, dead letters and workflows (sagas)."""
