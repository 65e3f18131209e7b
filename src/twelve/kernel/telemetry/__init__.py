"""Telemetry: JSON logs, Prometheus metrics, OpenTelemetry traces."""
