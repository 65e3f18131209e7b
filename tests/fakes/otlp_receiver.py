"""An OTLP/HTTP trace receiver, as a collector exposes it: `POST /v1/traces` with a protobuf
`ExportTraceServiceRequest`. Each export is recorded (run it with `FakeUpstream(app=otlp_app)`)
as a `RecordedRequest` whose `json` is the list of spans it held, decoded: name, ids in hex,
kind, service name and attributes."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.fakes.upstream_exchange import STATE, FakeState, RecordedRequest

PROTOBUF = "application/x-protobuf"


def otlp_app(state: FakeState) -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[STATE] = state
    app.router.add_post("/v1/traces", _traces)
    return app


async def _traces(request: web.Request) -> web.Response:
    if request.content_type != PROTOBUF:
        return web.Response(status=415, text=f"expected {PROTOBUF}")
    export = ExportTraceServiceRequest()
    export.ParseFromString(await request.read())
    spans: list[dict[str, Any]] = []
    for resource_spans in export.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "kind": span.kind,
                        "service": resource.get("service.name"),
                        "attributes": _attributes(span.attributes),
                        "duration_ns": span.end_time_unix_nano - span.start_time_unix_nano,
                    }
                )
    headers = {name.lower(): value for name, value in request.headers.items()}
    request.app[STATE].requests.append(RecordedRequest("POST", request.path, headers, spans))
    body = ExportTraceServiceResponse().SerializeToString()
    return web.Response(body=body, content_type=PROTOBUF)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None
