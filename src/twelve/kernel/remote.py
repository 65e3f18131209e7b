"""Cross-process calls generated from a module's `api.py` Protocol: one server, one client, for all.

`endpoints_for(Protocol, service)` exposes the Protocol's methods of `service` as internal routes;
`client_for(Protocol, rpc)` is an object with the same methods that calls them in another process.
Both sides are built from the Protocol's own type hints, never written by hand per method: the
arguments travel as one JSON object checked against the method's parameters (a bad body is a 400,
never a 500), and a result comes back validated into the declared return type. A method declared
as returning `AsyncIterator[T]` is a stream of `T`. Methods marked `@command` (see `commands.py`)
change state; the transport sends them with an idempotency key.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from twelve.kernel.commands import is_command
from twelve.kernel.rpc import JSON, Endpoints, RpcClient
from twelve.kernel.streams import close_stream

_STREAM_ORIGINS = (AsyncIterator, AsyncGenerator)
_ARGS_CONFIG = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


@dataclass(frozen=True, slots=True)
class Method:
    """One method of a port, as the wire sees it."""

    name: str
    parameters: tuple[str, ...]
    arguments: type[BaseModel]
    returns: TypeAdapter[Any]
    streams: bool
    command: bool

    def encode_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> JSON:
        given = dict(zip(self.parameters, args, strict=False)) | kwargs
        # Only what was set travels: the serving side applies the same defaults, and a command
        # with PATCH semantics (`model_fields_set`) means the same on both sides.
        dumped: JSON = self.arguments.model_validate(given).model_dump(
            mode="json", exclude_unset=True
        )
        return dumped

    def decode_arguments(self, payload: JSON) -> dict[str, Any]:
        """The keyword arguments for a call received as JSON; raises `ValidationError`."""
        parsed = self.arguments.model_validate(payload)
        return {name: getattr(parsed, name) for name in self.parameters}


def describe(protocol: type[Any]) -> dict[str, Method]:
    """The public methods of `protocol` (and the Protocols it extends), by name."""
    methods: dict[str, Method] = {}
    for klass in reversed(protocol.__mro__):
        if klass in (object, Protocol, typing.Generic):
            continue
        for name, function in vars(klass).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            methods[name] = _method(f"{protocol.__name__}.{name}", name, function)
    if not methods:
        raise TypeError(f"{protocol.__name__} declares no public methods")
    return methods


def _method(qualified: str, name: str, function: Callable[..., Any]) -> Method:
    hints = typing.get_type_hints(function)
    signature = inspect.signature(function)
    fields: dict[str, Any] = {}
    for parameter in list(signature.parameters.values())[1:]:  # past `self`
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{qualified}: *args and **kwargs cannot cross a process boundary")
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (hints.get(parameter.name, Any), default)
    returned = hints.get("return", Any)
    streams = typing.get_origin(returned) in _STREAM_ORIGINS
    item = typing.get_args(returned)[0] if streams else returned
    arguments = create_model(qualified.replace(".", "_"), __config__=_ARGS_CONFIG, **fields)
    return Method(
        name=name,
        parameters=tuple(fields),
        arguments=arguments,
        returns=TypeAdapter(item),
        streams=streams,
        command=is_command(function),
    )


def endpoints_for(protocol: type[Any], service: object) -> Endpoints:
    """`service`'s implementation of `protocol` as internal routes."""
    calls: dict[str, Callable[[JSON], Awaitable[Any]]] = {}
    streams: dict[str, Callable[[JSON], AsyncIterator[JSON]]] = {}
    methods = describe(protocol).values()
    for method in methods:
        bound = getattr(service, method.name)
        if method.streams:
            streams[method.name] = _serve_stream(method, bound)
        else:
            calls[method.name] = _serve_call(method, bound)
    commands = frozenset(m.name for m in methods if m.command)
    return Endpoints(calls=calls, streams=streams, commands=commands)


def _serve_call(method: Method, bound: Callable[..., Any]) -> Callable[[JSON], Awaitable[Any]]:
    async def call(payload: JSON) -> Any:
        result = await bound(**method.decode_arguments(payload))
        return method.returns.dump_python(result, mode="json")

    return call


def _serve_stream(
    method: Method, bound: Callable[..., AsyncIterator[Any]]
) -> Callable[[JSON], AsyncIterator[JSON]]:
    def stream(payload: JSON) -> AsyncIterator[JSON]:
        # Arguments are checked before the stream is returned, so a bad body is a plain 400.
        items = bound(**method.decode_arguments(payload))
        return _dumped(method, items)

    return stream


async def _dumped(method: Method, items: AsyncIterator[Any]) -> AsyncIterator[JSON]:
    try:
        async for item in items:
            dumped: JSON = method.returns.dump_python(item, mode="json")
            yield dumped
    finally:
        await close_stream(items)


def client_for(protocol: type[Any], rpc: RpcClient) -> Any:
    """An object implementing `protocol` by calling the module served behind `rpc`.

    Typed `Any` because a Protocol class cannot be passed as `type[T]`; assign the result to a
    variable annotated with the Protocol (`keys: KeysService = client_for(KeysService, rpc)`).
    """
    namespace: dict[str, Any] = {"__slots__": ("_rpc",), "__init__": _init}
    for method in describe(protocol).values():
        namespace[method.name] = _remote_stream(method) if method.streams else _remote_call(method)
    cls = type(f"Remote{protocol.__name__}", (), namespace)
    return cls(rpc)


def _init(self: Any, rpc: RpcClient) -> None:
    self._rpc = rpc


def _remote_call(method: Method) -> Callable[..., Awaitable[Any]]:
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        payload = method.encode_arguments(args, kwargs)
        result = await self._rpc.call(method.name, payload, command=method.command)
        return method.returns.validate_python(result)

    call.__name__ = method.name
    return call


def _remote_stream(method: Method) -> Callable[..., AsyncIterator[Any]]:
    def stream(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        payload = method.encode_arguments(args, kwargs)
        return _validated(method, self._rpc.stream(method.name, payload))

    stream.__name__ = method.name
    return stream


async def _validated(method: Method, items: AsyncIterator[JSON]) -> AsyncIterator[Any]:
    try:
        async for item in items:
            yield method.returns.validate_python(item)
    finally:
        await close_stream(items)
