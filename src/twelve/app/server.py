"""The server runner behind `twelve serve`: bind first, then check, build, migrate, announce, serve.

The listening socket is bound before anything else happens, so a busy port is one line and exit 2
— not an admin key generated and migrations run for a server that will never listen. Every
start-up problem after that (config file, data directory, database) is also one line and exit 2.
Only once the socket is bound and the databases are migrated does the banner say "serving on".
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
from dataclasses import dataclass
from types import FrameType

import uvicorn
import uvloop
from pydantic import ValidationError

from twelve.app.asgi import admin_key_for, create_app, create_metrics_app
from twelve.app.bootstrap import Container, build
from twelve.app.http_protocol import Limits, protocol_class
from twelve.app.settings import Settings
from twelve.app.settings_errors import CONFIGURATION, SettingsError, ensure_data_dir, exit_with
from twelve.app.sidecar_process import SidecarProcess
from twelve.app.startup_error import StartupError
from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.sidecar_location import SidecarLocation
from twelve.kernel.telemetry.logging import setup_logging
from twelve.kernel.telemetry.tracing import TracingSettingError, setup_tracing
from twelve.modules.admin.adapters.admin_key import AdminKeyError, AdminKeySource

BACKLOG = 2048
# The young generation collects after this many net allocations (CPython's default: 700). A
# request allocates a few thousand objects, nearly all freed by reference counting, so the default
# ran a collection several times per request and a full one every few hundred; with the start-up
# objects frozen, full collections are rare and short. Measured with `make bench` (DECISIONS.md).
GC_THRESHOLD = (20_000, 50, 1_000)


@dataclass(frozen=True)
class Listener:
    sock: socket.socket
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def bind(host: str, port: int, variable: str) -> Listener:
    """A listening socket on host:port, or one line naming the setting and exit 2."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        exit_with([f"{variable}: cannot listen on {host}:{port}: {_reason(exc)}"])
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        exit_with([f"{variable}: cannot listen on {host}:{port}: {_reason(exc)}"])
    sock.setblocking(False)
    return Listener(sock, host, sock.getsockname()[1])


def run(settings: Settings, port_name: str = "TWELVE_PORT") -> None:
    """Serve until SIGINT/SIGTERM; exit 2 with one line for any start-up problem.

    `port_name` is what set the port (`--port` or the variable), for the busy-port message.
    """
    # Logging first: building the container already warns (no models, missing credentials).
    setup_logging(settings.log_level, settings.log_format)
    main = bind(settings.host, settings.port, port_name)
    metrics = None
    if settings.metrics_port is not None:
        metrics = bind(settings.metrics_host, settings.metrics_port, "TWELVE_METRICS_PORT")
    # Port 0 asks the OS for one: from here on, the port is the one really bound.
    settings = settings.model_copy(update={"port": main.port})
    try:
        setup_tracing()  # reads the OTEL_* variables: a bad one is a start-up problem
        ensure_data_dir(settings)
        container = build(settings)
    except TracingSettingError as exc:
        exit_with([str(exc)], prefix=CONFIGURATION)
    except SettingsError as exc:
        exit_with(exc.problems, prefix=CONFIGURATION)
    except ConfigFileError as exc:
        exit_with([str(exc)], prefix=CONFIGURATION)
    try:
        admin_key = admin_key_for(settings) if container.admin is not None else None
    except AdminKeyError as exc:
        exit_with([str(exc)])
    try:
        location = SidecarLocation()
    except ValidationError as exc:
        exit_with([f"TWELVE_{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()],
                  prefix=CONFIGURATION)  # fmt: skip
    # The embedded default runs the local models too: a process that serves the models module
    # keeps the sidecar running beside it (unless it is off or run elsewhere). It starts and stops
    # with the app's lifespan: uvicorn re-raises the stopping signal once it has shut down, so
    # nothing after `serve` would run.
    if "models" in settings.hosted_modules:
        sidecar = SidecarProcess(location)
        container.serving.append(sidecar.start)
        container.stops.append(sidecar.stop)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(settings, container, admin_key, main, metrics))


async def _serve(
    settings: Settings,
    container: Container,
    admin_key: AdminKeySource | None,
    main: Listener,
    metrics: Listener | None,
) -> None:
    try:
        await container.start()
    except StartupError as exc:
        await container.stop()
        exit_with([str(exc)])
    app = create_app(settings, container, admin_key)
    servers = [_Server(_config(app, settings), main)]
    if metrics is not None:
        servers.append(_Server(_config(create_metrics_app(settings), settings), metrics))
    for server in servers[1:]:
        servers[0].companions.append(server)
    _announce(settings, container, admin_key, main, metrics)
    settle_heap()
    await asyncio.gather(servers[0].serve([main.sock]), *(s.run_quietly() for s in servers[1:]))


def settle_heap() -> None:
    """Once start-up is done: collect its garbage, move what survives out of the collector's
    sight, and collect the young generation less often.

    Without this, a full collection walked every module, route and pydantic schema built at
    start-up, pausing every request in flight for 175-280 ms (the c=16 p99 in `make bench`).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


class _Server(uvicorn.Server):
    """A uvicorn server; companions (the metrics listener) stop when it is told to stop."""

    def __init__(self, config: uvicorn.Config, listener: Listener) -> None:
        super().__init__(config)
        self.listener = listener
        self.companions: list[_Server] = []

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        for companion in self.companions:
            companion.should_exit = True

    async def run_quietly(self) -> None:
        # Without capturing signals: the main server owns them and stops its companions.
        await self._serve([self.listener.sock])


def _config(app: object, settings: Settings) -> uvicorn.Config:
    limits = Limits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
    )
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        http=protocol_class(limits),
        loop="none",
        lifespan="auto",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=settings.keepalive_timeout_seconds,  # type: ignore[arg-type]
    )


def _announce(
    settings: Settings,
    container: Container,
    source: AdminKeySource | None,
    main: Listener,
    metrics: Listener | None,
) -> None:
    lines = [
        f"data in {settings.data_dir.resolve()}",
        f"modules {', '.join(settings.serving_modules)}",
    ]
    if container.models is not None:
        where = container.models.path or "no TWELVE_CONFIG"
        lines.append(f"{container.models.count} models from {where}")
    if source is not None:
        lines.append(_admin_key_origin(source))
    if metrics is not None:
        lines.append(f"metrics on {metrics.url}/metrics")
    lines.append(f"serving on {main.url}")
    for line in lines:
        print(f"Twelve: {line}", file=sys.stderr, flush=True)


def _admin_key_origin(source: AdminKeySource) -> str:
    if source.generated_key:
        return (
            f"generated an admin key (shown once, kept in {source.path}):\n"
            f"    {source.generated_key}"
        )
    if source.origin == "file":
        return f"admin key is in {source.path}"
    return "admin key from TWELVE_ADMIN_KEY"


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
