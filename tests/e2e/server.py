"""A `twelve` process for end-to-end tests: the server on a free port, and one-shot CLI commands.

The server runs exactly as an operator starts it (the installed `twelve` script, settings from the
environment) and writes stderr to a file, so its JSON log lines can be read back and a failing
test can show them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson

TWELVE = str(Path(sys.executable).with_name("twelve"))
START_SECONDS = 30.0
# Every server started in this session, so a failing test can show their stderr.
STARTED: list[TwelveServer] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment minus any TWELVE_/OPENAI_ settings, plus `overrides`. The local
    sidecar is off unless a test turns it on (each `twelve serve` would start one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWELVE_", "OPENAI_"))}
    return env | {"TWELVE_SIDECAR": "off"} | dict(overrides)


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TWELVE, *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class TwelveServer:
    """`twelve serve --port <free port>` in a subprocess, stopped by its PID."""

    def __init__(
        self, env: Mapping[str, str], log_path: Path, *, ready_path: str = "/readyz"
    ) -> None:
        self.env = clean_env(env)
        # What answering 200 means started: /readyz, or /healthz for a server meant to be unready.
        self.ready_path = ready_path
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [TWELVE, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        STARTED.append(self)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"twelve serve exited with {self._process.returncode}:\n{self.stderr()}"
                )
            try:
                if httpx.get(f"{self.base_url}{self.ready_path}", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"twelve serve was not ready in {START_SECONDS} s:\n{self.stderr()}")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; the exit code (None if it was not running)."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        return process.returncode

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def stopped(self) -> bool:
        """Stopped by `stop` (or never started), as opposed to exited on its own."""
        return self._process is None

    def stderr(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_records(self) -> list[dict[str, Any]]:
        """Every line of stderr that is a JSON object (start-up banner lines are not)."""
        records = []
        for line in self.stderr().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def wait_for_log(self, timeout: float = 3.0, **fields: object) -> dict[str, Any]:
        """The first log record holding every one of `fields` (the access line is written just
        after the response, so it may lag the client by a moment)."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.log_records():
                if all(record.get(k) == v for k, v in fields.items()):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line with {fields}:\n{self.stderr()[-4000:]}")
            time.sleep(0.05)
