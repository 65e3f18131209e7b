"""`twelve sidecar` as its own process on a free port, for end-to-end tests that put the real
local models behind a gateway: started, waited for (`/healthz`), stopped by its PID."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.server import TWELVE, clean_env, free_port


def wait_healthy(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"no sidecar at {url}"
        time.sleep(0.1)


@contextmanager
def running_sidecar(log: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The sidecar's base URL (without `/v1`) while it runs, as an operator starts it (with
    `env`); its output goes to `log`."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [TWELVE, "sidecar", "--port", str(port)],
            env=clean_env(env or {}),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a busy machine loading models
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
