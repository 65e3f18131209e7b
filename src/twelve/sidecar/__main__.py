"""`python -m twelve.sidecar [--host H] [--port P]`: what `twelve serve` starts as its child."""

from __future__ import annotations

import argparse

from twelve.sidecar.server import serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m twelve.sidecar")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port)
