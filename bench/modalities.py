"""Latency per modality of the local models, through the gateway with a Twelve key.

    python -m bench.modalities [--requests 10] [--output bench/results/modalities.json]

Starts `twelve serve` with its supervised sidecar (models preloaded), makes a customer and key,
then for each modality sends one warm-up and N sequential requests through the gateway — with the
official `openai` SDK where OpenAI has the endpoint, a plain HTTP POST otherwise — and prints
p50/p95 per modality as a table on stdout, and writes them as JSON. A modality whose endpoint
answers 404 (not built on this branch yet) is skipped with a note, as is one whose test input
cannot be made here (e.g. OCR's rendered page needs Pillow). Every process is stopped by PID.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import secrets
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from openai import NotFoundError, OpenAI

from bench.procs import BenchError, free_port
from bench.progress import log
from bench.targets import Stack, _env, _twelve_key, _wait

RESULTS = Path(__file__).resolve().parent / "results" / "modalities.json"
# local-chat as a config entry: the gateway of this branch does not list it by default yet (a
# model in the config file wins over the built-in list, so this stays right after that lands).
CONFIG = """\
models:
  - name: local-chat
    capabilities: [chat, completions]
    deployments:
      - provider: local
        base_url: http://127.0.0.1:{port}/v1
        model: local-chat
        free: true
        timeout: 120
"""
QUESTION = [
    {"role": "system", "content": "Answer in one short English sentence."},
    {"role": "user", "content": "What is the capital of France?"},
]
TEXT = (
    "The city council approved the new budget on Tuesday. The budget raises spending on public "
    "transport by ten percent. Council members said better buses were the main goal."
)


class Skip(Exception):
    """This modality cannot be measured here; the message says why."""


def png(width: int = 96, height: int = 96) -> bytes:
    """A small RGB test picture (a gradient with a dark square), written with the standard
    library so the bench needs no imaging package."""
    rows = b"".join(
        b"\0" + b"".join(
            bytes((20, 20, 20) if 32 <= x < 64 and 32 <= y < 64 else (x * 2, y * 2, 160))
            for x in range(width)
        )
        for y in range(height)
    )  # fmt: skip

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    parts = (chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(rows)), chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(parts)


def text_page() -> bytes:
    try:
        from PIL import Image, ImageDraw, ImageFont  # type: ignore[import-not-found]
    except ImportError:
        raise Skip("rendering the test page needs Pillow, not installed here") from None
    image = Image.new("RGB", (800, 200), "white")
    ImageDraw.Draw(image).text((20, 60), "Invoice 2041 total 87 EUR", fill="black",
                               font=ImageFont.load_default(size=40))  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def speech_wav(folder: Path) -> bytes:
    if shutil.which("flite") is None:
        raise Skip("making test speech needs flite (`make` installs it)")
    wav = folder / "speech.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", "The quick brown fox jumps over the lazy "
                    "dog.", "-o", str(wav)], check=True, timeout=30)  # fmt: skip
    return wav.read_bytes()


class Absent(Exception):
    """The gateway answered 404 for this endpoint."""


def cases(sdk: OpenAI, http: httpx.Client, tmp: Path) -> dict[str, Callable[[], Callable[[], Any]]]:
    """Each modality: a setup that makes its input (or raises Skip) and returns one request."""

    def post(path: str, body: dict[str, Any]) -> Callable[[], Any]:
        def send() -> Any:
            answer = http.post(path, json=body)
            if answer.status_code == 404:
                raise Absent(answer.text)
            answer.raise_for_status()
            return answer

        return send

    def image(data: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(data).decode()

    def chat() -> Callable[[], Any]:
        messages: Any = QUESTION
        return lambda: sdk.chat.completions.create(
            model="local-chat", messages=messages, max_tokens=32, temperature=0
        )

    def completions() -> Callable[[], Any]:
        return lambda: sdk.completions.create(
            model="local-chat", prompt="The capital of France is", max_tokens=16, temperature=0
        )

    def transcription() -> Callable[[], Any]:
        wav = speech_wav(tmp)
        return lambda: sdk.audio.transcriptions.create(
            model="local-stt", file=("speech.wav", wav, "audio/wav")
        )

    def speech() -> Callable[[], Any]:
        return lambda: sdk.audio.speech.create(
            model="local-tts", input="Twelve speaks.", voice="alloy", response_format="wav"
        )

    labels = ["politics", "sports", "cooking"]
    return {
        "embeddings": lambda: lambda: sdk.embeddings.create(model="local-embed", input=TEXT),
        "chat": chat,
        "completions": completions,
        "classify": lambda: post(
            "/v1/classifications", {"model": "local-classify", "input": TEXT, "labels": labels}
        ),
        "summarize": lambda: post(
            "/v1/summaries", {"model": "local-summarize", "input": TEXT, "sentences": 1}
        ),
        "transcription": transcription,
        "speech": speech,
        "ocr": lambda: post("/v1/ocr", {"model": "local-ocr", "file": image(text_page())}),
        "image analysis": lambda: post(
            "/v1/images/analyses", {"model": "local-vision", "image": image(png())}
        ),
    }


def measure(send: Callable[[], Any], n: int) -> dict[str, Any]:
    send()  # warm-up: a model's first call may load it
    times = []
    for _ in range(n):
        started = time.perf_counter()
        send()
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=20, method="inclusive")
    return {"requests": n, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(cuts[18], 1), "max_ms": round(max(times), 1)}  # fmt: skip


def run(n: int) -> dict[str, Any]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="twelve-modalities-")))
    failed = True
    try:
        port, sidecar_port = free_port(), free_port()
        config = stack.tmp / "twelve.yaml"
        config.write_text(CONFIG.format(port=sidecar_port), encoding="utf-8")
        admin_key = "twadmin-bench-" + secrets.token_urlsafe(24)
        env = {"TWELVE_DATA_DIR": str(stack.tmp / "data"), "TWELVE_ADMIN_KEY": admin_key,
               "TWELVE_CONFIG": str(config), "TWELVE_SIDECAR": "auto",
               "TWELVE_SIDECAR_PORT": str(sidecar_port), "TWELVE_SIDECAR_PRELOAD": "1"}  # fmt: skip
        argv = [str(Path(sys.executable).parent / "twelve"), "serve", "--port", str(port)]
        twelve = stack.start("twelve", argv, _env(env), stack.tmp)
        _wait(twelve, port, "/readyz")
        _wait(twelve, sidecar_port, "/healthz", within=180)  # preloading the models
        key = _twelve_key(port, admin_key)
        results: dict[str, Any] = {}
        base = f"http://127.0.0.1:{port}"
        with (
            OpenAI(api_key=key, base_url=f"{base}/v1", max_retries=0, timeout=120) as sdk,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as http,  # fmt: skip
        ):
            for name, setup in cases(sdk, http, stack.tmp).items():
                try:
                    results[name] = measure(setup(), n)
                except Skip as why:
                    results[name] = {"skipped": str(why)}
                except (NotFoundError, Absent):
                    results[name] = {"skipped": "the endpoint answers 404 (not built here yet)"}
                except Exception as exc:  # report it and go on to the next modality
                    results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
                log(f"{name}: {results[name]}")
        failed = False
        return results
    finally:
        stack.stop(show_logs=failed)


def table(results: dict[str, Any]) -> str:
    lines = [
        "| modality | requests | p50 ms | p95 ms | max ms | note |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        if "p50_ms" in row:
            lines.append(f"| {name} | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} | "
                         f"{row['max_ms']} | |")  # fmt: skip
        else:
            lines.append(f"| {name} | - | - | - | - | {row.get('skipped') or row.get('error')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.modalities")
    parser.add_argument("--requests", type=int, default=10, help="sequential requests each")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.requests < 2:
        parser.error("--requests must be at least 2")
    try:
        results = run(args.requests)
    except BenchError as exc:
        log(str(exc))
        return 1
    print(table(results))
    measured = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "requests_each": args.requests, "modalities": results}  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
