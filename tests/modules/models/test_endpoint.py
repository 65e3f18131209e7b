"""An endpoint prepares what every call to it sends (headers, time limits) once, not per call."""

from __future__ import annotations

from twelve.modules.models.adapters.endpoint import Endpoint


def endpoint(**overrides: object) -> Endpoint:
    fields: dict[str, object] = {
        "base_url": "http://127.0.0.1:1/v1",
        "upstream_model": "m",
        "timeout": 30.0,
        "headers": {"Authorization": "Bearer sk-x", "Accept": "application/x-custom"},
        "connect_timeout": 2.0,
    }
    return Endpoint(**{**fields, **overrides})  # type: ignore[arg-type]


def test_prepared_headers_accept_json_or_events_and_configured_headers_win() -> None:
    plain = endpoint(headers={"Authorization": "Bearer sk-x"})
    assert plain.json_headers["Accept"] == "application/json"
    assert plain.sse_headers["Accept"] == "text/event-stream"
    for headers in (plain.json_headers, plain.sse_headers):
        assert headers["Content-Type"] == "application/json"
        assert headers["Accept-Encoding"] == "gzip, deflate"
        assert headers["Authorization"] == "Bearer sk-x"
    # An operator's configured header overrides ours, as it did when merged per call.
    assert endpoint().json_headers["Accept"] == "application/x-custom"


def test_prepared_time_limits_follow_the_configured_ones() -> None:
    e = endpoint()
    assert (e.call_timeout.total, e.call_timeout.connect) == (30.0, 2.0)
    assert (e.stream_timeout.total, e.stream_timeout.connect) == (None, 2.0)
    # Prepared fields are not part of an endpoint's identity.
    assert e == endpoint()
