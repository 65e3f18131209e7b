"""An OTLP/HTTP receiver that accepts span batches and counts them, for `TWELVE_BENCH_TRACES`.

    python -m bench.otlp_sink --port P

Answers every `POST /v1/traces` with 200 and an empty `ExportTraceServiceResponse` (an empty
protobuf message is zero bytes), after reading the body; `GET /count` says how many batches and
bytes arrived, so the bench can show that spans really left Twelve.
"""

from __future__ import annotations

import argparse

from aiohttp import web

received = {"batches": 0, "bytes": 0}


async def traces(request: web.Request) -> web.Response:
    body = await request.read()
    received["batches"] += 1
    received["bytes"] += len(body)
    return web.Response(body=b"", content_type="application/x-protobuf")


async def count(_request: web.Request) -> web.Response:
    return web.json_response(received)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.otlp_sink")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/traces", traces)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
