"""The command line of `python -m bench.gateway`: its flags, defaults and their checks."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"concurrencies must be positive: {text!r}")
    return values


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway",
        description="Measure Twelve's overhead against calling the upstream directly.",
    )
    parser.add_argument("--requests", type=int, default=3000, help="max requests per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="max seconds per case")
    parser.add_argument("--concurrency", type=_positive_ints, default=[1, 16, 64])
    parser.add_argument("--stream-concurrency", type=int, default=16)
    parser.add_argument("--warmup-requests", type=int, default=200)
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON result")
    parser.add_argument(
        "--twelve-log-level",
        default=None,
        help="TWELVE_LOG_LEVEL for the server (default: its own)",
    )
    parser.add_argument(
        "--twelve-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the server, e.g. TWELVE_GATEWAY_RETRIES=0 "
        "(repeatable)",
    )
    parser.add_argument(
        "--profile-twelve",
        type=Path,
        default=None,
        metavar="PATH",
        help="run Twelve under cProfile and write its stats to PATH (slows Twelve down)",
    )
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.twelve_env):
        parser.error("--twelve-env takes NAME=VALUE")
    if args.requests < 1 or args.seconds <= 0 or args.stream_concurrency < 1:
        parser.error("--requests, --seconds and --stream-concurrency must be positive")
    return args
