"""Failures of the exchange itself as `UpstreamError`s: no answer, a redirect, a broken or
stalled stream, a body too large or of the wrong shape.

Each message names the deployment (`label`, by id and provider) and the cause, in words that
carry no host, address, URL or credential.
"""

from __future__ import annotations

import aiohttp

from twelve.kernel.errors import UpstreamError, UpstreamTimeout
from twelve.modules.models.adapters.upstream_errors import ANONYMOUS


def redirected(status: int, label: str = ANONYMOUS) -> UpstreamError:
    """A 3xx: never followed, so credentials never reach wherever it points."""
    return UpstreamError(
        f"{label}: the upstream answered with a redirect (HTTP {status}), which is never "
        "followed; check the deployment's base_url.",
        kind="upstream_5xx",  # another deployment may be configured right: fall back
    )


def connection_error(exc: BaseException, label: str = ANONYMOUS) -> UpstreamError:
    """The upstream could not be reached (refused, reset, DNS, TLS) before any response."""
    return UpstreamError(
        f"{label}: could not connect: {connection_cause(exc)}.",
        retryable=True,
        kind="connection",
    )


def connection_cause(exc: BaseException) -> str:
    """What went wrong, in words that carry no host, address or URL."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(os_error, OSError) and os_error.errno in (-2, -3, -5):
            return "host name not resolved"
        return "connection failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, ConnectionResetError | aiohttp.ClientOSError):
        return "connection reset"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response body was malformed"
    return f"transport error ({type(exc).__name__})"


def timed_out(seconds: float, what: str, label: str = ANONYMOUS) -> UpstreamTimeout:
    """No answer in time, before anything reached the client: retryable."""
    return UpstreamTimeout(f"{label}: timed out: {what} within {seconds:g} s.")


def stream_interrupted(reason: str, label: str = ANONYMOUS) -> UpstreamError:
    """A stream broke after it started: never retryable, the client has seen part of it."""
    return UpstreamError(f"{label}: the stream was interrupted: {reason}.", kind="connection")


def stream_timed_out(seconds: float | None = None, label: str = ANONYMOUS) -> UpstreamError:
    gap = f" for {seconds:g} s" if seconds is not None else ""
    return UpstreamError(
        f"{label}: timed out: the upstream sent no data{gap} in the middle of a stream.",
        status=504,
        type_="timeout_error",
        code="upstream_timeout",
        kind="timeout",
    )


def malformed(what: str, *, retryable: bool = True, label: str = ANONYMOUS) -> UpstreamError:
    """The upstream's JSON is not the shape the protocol promises (`what` says where)."""
    return UpstreamError(
        f"{label}: the upstream sent a malformed response: {what}.",
        retryable=retryable,
        kind="upstream_5xx",
    )


def too_large(limit: int, *, retryable: bool = True, label: str = ANONYMOUS) -> UpstreamError:
    return UpstreamError(
        f"{label}: the upstream response is larger than the {limit} bytes allowed "
        "(max_response_bytes).",
        retryable=retryable,
        kind="upstream_5xx",
    )
