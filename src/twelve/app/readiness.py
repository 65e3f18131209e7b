"""What `/readyz` reports: this process's databases, the remote modules it depends on, and what
modules noted without being unready (e.g. the deployments that lack credentials).

A remote module is probed on its internal routes with the internal key, so a process whose key
the remote refuses is not ready (a public `/readyz` on the remote would say nothing about that).
The probe names a method no module has: an answer of 404 proves the route is mounted and the key
accepted; 401/403 is a refused key; no answer or a 5xx is a module that is down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from twelve.kernel.http_client import HttpClient
from twelve.kernel.rpc import INTERNAL_KEY_HEADER

OK = "ok"
PROBE_METHOD = "__readiness_probe__"
PROBE_SECONDS = 3.0


@dataclass(frozen=True)
class Readiness:
    databases: dict[str, bool]
    modules: dict[str, str] = field(default_factory=dict)
    # By what they are (`missing_credentials`): listed, but not a reason to be unready.
    notices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(self.databases.values()) and all(v == OK for v in self.modules.values())

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ready" if self.ready else "unavailable",
            "databases": self.databases,
        }
        if self.modules:
            body["modules"] = self.modules
        body.update({name: items for name, items in self.notices.items() if items})
        return body


@dataclass(frozen=True)
class RemoteModule:
    name: str
    base_url: str
    internal_key: str


async def probe(http: HttpClient, remote: RemoteModule) -> str:
    """`ok`, or why the remote module cannot be used."""
    url = f"{remote.base_url.rstrip('/')}/internal/{remote.name}/{PROBE_METHOD}"
    headers = {INTERNAL_KEY_HEADER: remote.internal_key, "content-type": "application/json"}
    try:
        async with http.session.post(
            url,
            data=b"{}",
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=PROBE_SECONDS),
            allow_redirects=False,
        ) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    if status in (401, 403):
        return "refuses the internal key"
    if status >= 500 or 300 <= status < 400:
        return f"unavailable (HTTP {status})"
    return OK
