"""Chat: chat completions, streaming and not; the prompt cache and post-processing live here."""
