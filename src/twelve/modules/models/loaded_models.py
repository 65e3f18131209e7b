"""The `models:` configuration as start-up sees it: loaded, checked, and told to the operator.

Zero models, a misspelt section, deployments with no credentials and a deployment that loops back
into this very server used to start silently and fail on every request. Here they are refused (a
typo, a loop) or announced (an empty config, missing credentials), one line each.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from twelve.kernel.config_file import ConfigFileError, load_config_file
from twelve.kernel.sidecar_location import SidecarLocation
from twelve.modules.models.api import Capability
from twelve.modules.models.config import DeploymentConfig, ModelsConfig

# The sidecar's models (name, capabilities), present with no config file: the sidecar's HTTP
# contract (`twelve sidecar`) serves each under its OpenAI-shaped or documented route.
LOCAL_MODELS: tuple[tuple[str, tuple[Capability, ...]], ...] = (
    ("local-embed", ("embeddings",)),
    ("local-chat", ("chat", "completions")),
    ("local-stt", ("transcription",)),
    ("local-tts", ("speech",)),
    ("local-ocr", ("ocr",)),
    ("local-vision", ("image_analysis",)),
    ("local-classify", ("classification",)),
    ("local-summarize", ("summarization",)),
)
# The top-level sections the configuration file may hold.
# `webhooks:` belongs to the events module (its `allow_networks`), `workflows:` to the jobs
# module (its workflow definitions); each reads its own.
SECTIONS = ("models", "webhooks", "workflows")
# Configured header names that carry a credential (providers with custom auth headers).
_AUTH_WORDS = ("auth", "key", "token", "secret", "subscription", "signature", "cookie")
_LOOPBACK = frozenset({"localhost", "0.0.0.0", "::", "::1", "ip6-localhost"})

# A standard-library logger: JSON through the process's log setup when there is one, and plain
# stderr (warnings only) in a one-shot command that set up none — never onto a command's stdout.
log = logging.getLogger("twelve.config")


@dataclass(frozen=True)
class LoadedModels:
    config: ModelsConfig
    path: Path | None
    # "model `name`, deployment 1 (provider)" for each deployment that has no credentials.
    missing_credentials: list[str]

    @property
    def count(self) -> int:
        return len(self.config.models)


def local_models(location: SidecarLocation) -> list[dict[str, Any]]:
    """The sidecar's models, listed unless the sidecar is off (served by `twelve serve`'s own
    sidecar, or the one at `TWELVE_SIDECAR_URL`). Free: they run on this machine."""
    if not location.enabled:
        return []
    return [
        {
            "name": name,
            "owned_by": "twelve-local",
            "capabilities": list(capabilities),
            "deployments": [
                {
                    "provider": "local",
                    "base_url": location.base_url,
                    "model": name,
                    "free": True,
                    "timeout": 120,
                }
            ],
        }
        for name, capabilities in LOCAL_MODELS
    ]


def load_models(
    path: Path | None, *, host: str, port: int, local: SidecarLocation | None = None
) -> LoadedModels:
    """Load and check the models section; warn, one log line each, about what will not work."""
    raw = load_config_file(path)
    unknown = sorted(str(k) for k in raw if k not in SECTIONS)
    if unknown:
        raise ConfigFileError(
            f"config file {path}: unknown top-level key {', '.join(f'`{k}`' for k in unknown)}"
            f" (known: {', '.join(SECTIONS)})"
        )
    try:
        listed = list(raw.get("models") or [])
        named = {m.get("name") for m in listed if isinstance(m, dict)}
        # A model of the config file by the same name wins over the sidecar's.
        defaults = [m for m in local_models(local) if m["name"] not in named] if local else []
        config = ModelsConfig.model_validate({"models": listed + defaults})
    except ValidationError as exc:
        raise ConfigFileError(f"config file {path}: {_first_problem(exc)}") from None
    refuse_self_loops(config, host, port)
    return LoadedModels(config, path, missing_credentials(config))


async def announce(loaded: LoadedModels) -> None:
    """Say, one log line each, what was loaded and what will not work. A serving process does
    this at start-up; a one-shot CLI command, which serves no model, does not."""
    path = loaded.path
    log.info("loaded %d models from %s", loaded.count, path or "nowhere (TWELVE_CONFIG is unset)")
    if loaded.count == 0:
        where = f"config file {path} lists" if path else "TWELVE_CONFIG is not set, so Twelve has"
        log.warning("%s no models: every request will be a 404 model_not_found", where)
    for deployment in loaded.missing_credentials:
        log.warning("%s has no credentials (api_key is empty): its calls will fail", deployment)


def label(model: str, index: int, deployment: DeploymentConfig) -> str:
    name = getattr(deployment, "name", None)
    which = f"`{name}`" if isinstance(name, str) and name else str(index + 1)
    return f"model `{model}` deployment {which} ({deployment.provider})"


def missing_credentials(config: ModelsConfig) -> list[str]:
    """Deployments of hosted (https) APIs with no API key and no credential-like header."""
    return [
        label(model.name, i, d)
        for model in config.models
        for i, d in enumerate(model.deployments)
        if _needs_credentials(d)
    ]


def refuse_self_loops(config: ModelsConfig, host: str, port: int) -> None:
    """A deployment whose URL is this server (a local address and our port) would call itself."""
    own_hosts = _own_hosts(host)
    for model in config.models:
        for i, d in enumerate(model.deployments):
            parts = urlsplit(d.url)
            target_port = parts.port or (443 if parts.scheme == "https" else 80)
            target = (parts.hostname or "").lower()
            is_own = target in own_hosts or target.startswith("127.")  # all of 127/8 is loopback
            if is_own and target_port == port:
                raise ConfigFileError(
                    f"{label(model.name, i, d)} points at this server itself "
                    f"({parts.hostname}:{target_port}): give it the upstream's base_url"
                )


def _needs_credentials(deployment: DeploymentConfig) -> bool:
    if urlsplit(deployment.url).scheme != "https":
        return False  # a local or private server usually needs none
    key = deployment.api_key.get_secret_value() if deployment.api_key else ""
    if key.strip():
        return False
    return not any(
        value.strip() and any(word in name.lower() for word in _AUTH_WORDS)
        for name, value in deployment.headers.items()
    )


def _own_hosts(host: str) -> frozenset[str]:
    names = {*_LOOPBACK, host.lower()}
    # The host name, not its FQDN: resolving that could stall start-up on a slow resolver.
    with contextlib.suppress(OSError):
        names.add(socket.gethostname().lower())
    return frozenset(n for n in names if n)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    ctx = error.get("ctx") or {}
    reason = (
        str(ctx["error"]) if error["type"] == "value_error" and "error" in ctx else error["msg"]
    )
    more = len(exc.errors()) - 1
    return f"{where}: {reason}" + (f" (and {more} more)" if more else "")
