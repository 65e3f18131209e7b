"""Serving the sidecar: `twelve sidecar` and `python -m twelve.sidecar` both end here."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from twelve.sidecar.app import create_app
from twelve.sidecar.settings import SidecarSettings


def serve(host: str | None = None, port: int | None = None) -> None:
    try:
        settings = SidecarSettings()
    except ValidationError as exc:
        for problem in exc.errors():
            where = f"TWELVE_SIDECAR_{str(problem['loc'][0]).upper()}"
            print(
                f"twelve sidecar: configuration error: {where}: {problem['msg']}", file=sys.stderr
            )
        raise SystemExit(2) from None
    bind_host = host or settings.host
    bind_port = port or settings.port
    print(
        f"Twelve sidecar: serving local models on http://{bind_host}:{bind_port}", file=sys.stderr
    )
    uvicorn.run(
        create_app(settings),
        host=bind_host,
        port=bind_port,
        log_level="warning",
        limit_concurrency=256,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=32 * 1024,
    )
