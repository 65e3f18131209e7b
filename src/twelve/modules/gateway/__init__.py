"""Gateway: the public edge — API-key auth, routing, retries and fallbacks, metering."""
