"""Minimal pass-through "physical limit" gateway: aiohttp server + one pooled aiohttp client.

Checks a bearer key, forwards the body unchanged to the upstream, streams SSE through as it
arrives. The benchmark's reference for what a Python gateway can reach on this machine.
  python bench/lean_proxy.py --port 8200 --upstream http://127.0.0.1:9100 --key sk-bench-key

Vendored from the project's shared benchmark references (shared/bench/lean_proxy.py); changed
only to pass this repository's linters (names, line length), not in behaviour.
"""

import argparse
import ipaddress

import aiohttp
from aiohttp import web

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=8200)
p.add_argument("--upstream", default="http://127.0.0.1:9100")  # origin; the path is kept
p.add_argument("--key", default="sk-bench-key")
p.add_argument("--upstream-key", default="sk-mock-upstream-key")
a = p.parse_args()
if not (a.host == "localhost" or ipaddress.ip_address(a.host).is_loopback):
    raise SystemExit("loopback only")
AUTH = "Bearer " + a.key
UP_HEADERS = {"Authorization": "Bearer " + a.upstream_key, "Content-Type": "application/json"}


async def on_startup(app):
    app["client"] = aiohttp.ClientSession(
        a.upstream,
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=300),
        auto_decompress=False,
    )


async def on_cleanup(app):
    await app["client"].close()


async def proxy(request):
    if request.headers.get("Authorization") != AUTH:
        return web.json_response(
            {"error": {"message": "invalid api key", "type": "auth_error"}}, status=401
        )
    body = await request.read()
    async with request.app["client"].request(
        request.method, request.rel_url, data=body, headers=UP_HEADERS
    ) as up:
        ctype = up.headers.get("Content-Type", "application/json")
        if not ctype.startswith("text/event-stream"):
            return web.Response(
                body=await up.read(), status=up.status, headers={"Content-Type": ctype}
            )
        resp = web.StreamResponse(
            status=up.status, headers={"Content-Type": ctype, "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        async for chunk in up.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp


app = web.Application()
app.on_startup.append(on_startup)
app.on_cleanup.append(on_cleanup)
app.router.add_route("*", "/{tail:.*}", proxy)
try:
    import uvloop

    loop = uvloop.new_event_loop()
except ImportError:  # pragma: no cover
    loop = None
web.run_app(app, host=a.host, port=a.port, access_log=None, print=None, loop=loop)
