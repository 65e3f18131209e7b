"""Events: the event log, signed and retried webhooks, subscriptions."""
