"""What `PluginAPI` and `AsyncPluginAPI` share whatever the contract: the channel to the host, the
three call shapes (unary, client stream, bidirectional stream) and the chunking of uploads.
`client.py` subclasses the two base classes with one method per API method."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import message as _message

from mattermost_plugin_api import errors
from mattermost_plugin_api.protocol import API_TOKEN_METADATA as TOKEN_METADATA
from mattermost_plugin_api.protocol import MAX_CHUNK

__all__ = [
    "MAX_CHUNK",
    "TOKEN_METADATA",
    "AsyncPluginAPIBase",
    "PluginAPIBase",
    "achunks",
    "channel_options",
    "chunks",
]

_SERVICE = "/mattermost.plugin.v1.PluginAPI/"
_R = TypeVar("_R", bound=_message.Message)


def channel_options() -> list[tuple[str, Any]]:
    """gRPC options for the host's socket: grpcio sends the socket path as :authority, which the
    host's HTTP/2 stack rejects, so name a plain authority; and lift the message size limits."""
    return [
        ("grpc.default_authority", "localhost"),
        ("grpc.max_receive_message_length", -1),
        ("grpc.max_send_message_length", -1),
    ]


def _transport_error(method: str, error: grpc.RpcError) -> errors.PluginAPIError:
    """A failed call as `TransportError`; status details when grpc gives them (a `grpc.Call`).

    `UNIMPLEMENTED` is the host saying it lacks the method (how methods whose Go form returns a
    plain `error`, or nothing, report it): `NotImplementedByServerError`, as an AppError 501 is.
    """
    details = getattr(error, "details", None)
    code = getattr(error, "code", None)
    status = code() if callable(code) else None
    message = str(details() if callable(details) else error)
    if status == grpc.StatusCode.UNIMPLEMENTED:
        return errors.NotImplementedByServerError(
            method, message, id=NOT_IMPLEMENTED_ID, status_code=501, where=method
        )
    return errors.TransportError(method, message, grpc_code=str(status or ""))


def _raising_api_errors(method: str, responses: Iterator[_R]) -> Iterator[_R]:
    """A streamed answer whose failure is raised as the unary calls raise theirs."""
    try:
        yield from responses
    except grpc.RpcError as e:
        raise _transport_error(method, e) from e


async def _araising_api_errors(method: str, responses: AsyncIterator[_R]) -> AsyncIterator[_R]:
    """`_raising_api_errors` for grpc.aio."""
    try:
        async for response in responses:
            yield response
    except grpc.aio.AioRpcError as e:
        raise _transport_error(method, e) from e


#: The AppError id of a method the host does not implement (the same on every path).
NOT_IMPLEMENTED_ID = "api.plugin.not_implemented.app_error"


def chunks(data: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces of `data`, each cut into chunks of at most `MAX_CHUNK` bytes."""
    for piece in data:
        for start in range(0, len(piece), MAX_CHUNK):
            yield piece[start : start + MAX_CHUNK]


async def achunks(data: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """`chunks` for a sync or async iterable."""
    if isinstance(data, AsyncIterable):
        async for piece in data:
            for start in range(0, len(piece), MAX_CHUNK):
                yield piece[start : start + MAX_CHUNK]
    else:
        for chunk in chunks(data):
            yield chunk


class PluginAPIBase:
    """The channel and the calls under `PluginAPI`."""

    def __init__(self, target: str, token: str, *, channel: grpc.Channel | None = None) -> None:
        self._channel = channel if channel is not None else grpc.insecure_channel(target, options=channel_options())
        self._metadata = ((TOKEN_METADATA, token),)
        self._stubs: dict[str, Any] = {}

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: str, request: _message.Message, response_type: type[_R]) -> _R:
        stub = self._stubs.get(method)
        if stub is None:
            stub = self._channel.unary_unary(
                _SERVICE + method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response_type.FromString,
            )
            self._stubs[method] = stub
        try:
            response: _R = stub(request, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _transport_error(method, e) from e
        return response

    def _call_stream(
        self,
        method: str,
        requests: Iterator[_message.Message],
        request_type: type[_message.Message],
        response_type: type[_R],
    ) -> _R:
        stub = self._stubs.get(method)
        if stub is None:
            stub = self._channel.stream_unary(
                _SERVICE + method,
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            self._stubs[method] = stub
        try:
            response: _R = stub(requests, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _transport_error(method, e) from e
        return response

    def _call_bidi(
        self,
        method: str,
        requests: Iterator[_message.Message],
        request_type: type[_message.Message],
        response_type: type[_R],
    ) -> Iterator[_R]:
        stub = self._channel.stream_stream(
            _SERVICE + method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        responses: Iterator[_R] = stub(requests, metadata=self._metadata)
        return _raising_api_errors(method, responses)


class AsyncPluginAPIBase:
    """The channel and the calls under `AsyncPluginAPI` (grpc.aio)."""

    def __init__(self, target: str, token: str, *, channel: grpc.aio.Channel | None = None) -> None:
        self._channel = channel if channel is not None else grpc.aio.insecure_channel(target, options=channel_options())
        self._metadata = ((TOKEN_METADATA, token),)
        self._stubs: dict[str, Any] = {}

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: str, request: _message.Message, response_type: type[_R]) -> _R:
        stub = self._stubs.get(method)
        if stub is None:
            stub = self._channel.unary_unary(
                _SERVICE + method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response_type.FromString,
            )
            self._stubs[method] = stub
        try:
            response: _R = await stub(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as e:
            raise _transport_error(method, e) from e
        return response

    async def _call_stream(
        self,
        method: str,
        requests: AsyncIterator[_message.Message],
        request_type: type[_message.Message],
        response_type: type[_R],
    ) -> _R:
        stub = self._channel.stream_unary(
            _SERVICE + method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        try:
            response: _R = await stub(requests, metadata=self._metadata)
        except grpc.aio.AioRpcError as e:
            raise _transport_error(method, e) from e
        return response

    def _call_bidi(
        self,
        method: str,
        requests: AsyncIterator[_message.Message],
        request_type: type[_message.Message],
        response_type: type[_R],
    ) -> AsyncIterator[_R]:
        stub = self._channel.stream_stream(
            _SERVICE + method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        return _araising_api_errors(method, cast(AsyncIterator[_R], stub(requests, metadata=self._metadata)))
