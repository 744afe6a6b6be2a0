"""The baselines of the ServeHTTP throughput bench: the ServeHTTP bidi RPC on grpc.aio, no SDK.

It echoes the request body frame by frame, as `sdk_http_echo.py` does through the SDK: the
response head rides on the first body chunk, each request chunk goes back as one response frame,
and a `body_complete` frame ends the body; both send the host the same frames, so the gap is the
SDK's own cost. `raw_http_echo.py serial|read-ahead` picks how:
- serial: the plain async generator, reading the next frame only once the last echo is sent;
- read-ahead: a task reads frames into a small queue while the generator sends, so reading and
  sending overlap as they do in the SDK (whose handler runs beside the response stream).
Apart from the hook, it is the server of every raw baseline (`_raw_plugin.py`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable

import grpc
from _raw_plugin import Context, serve

from mattermost_plugin_api._pb import common_pb2, hooks_pb2
from mattermost_plugin_api.protocol import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE


async def serial(
    frames: AsyncIterator[hooks_pb2.ServeHTTPRequest], context: Context
) -> AsyncIterator[hooks_pb2.ServeHTTPResponse]:
    # The SDK's head for a handler that sets nothing: 200 and no headers.
    head: common_pb2.HttpResponseHead | None = common_pb2.HttpResponseHead(status_code=200)
    async for frame in frames:
        if frame.body_chunk:
            yield hooks_pb2.ServeHTTPResponse(head=head, body_chunk=frame.body_chunk)
            head = None
        if frame.body_complete:
            break
    yield hooks_pb2.ServeHTTPResponse(head=head, body_complete=True)


async def read_ahead(
    frames: AsyncIterator[hooks_pb2.ServeHTTPRequest], context: Context
) -> AsyncIterator[hooks_pb2.ServeHTTPResponse]:
    # As deep as the SDK's response queue, so both hold as much in flight.
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)

    async def read() -> None:
        async for frame in frames:
            if frame.body_chunk:
                await chunks.put(frame.body_chunk)
            if frame.body_complete:
                break
        await chunks.put(None)

    reader = asyncio.create_task(read())
    try:
        head: common_pb2.HttpResponseHead | None = common_pb2.HttpResponseHead(status_code=200)
        while (chunk := await chunks.get()) is not None:
            yield hooks_pb2.ServeHTTPResponse(head=head, body_chunk=chunk)
            head = None
        yield hooks_pb2.ServeHTTPResponse(head=head, body_complete=True)
        await reader
    finally:
        reader.cancel()


MODES: dict[str, Callable[..., AsyncIterator[hooks_pb2.ServeHTTPResponse]]] = {
    "serial": serial,
    "read-ahead": read_ahead,
}


if __name__ == "__main__":
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.exit("raw_http_echo.py is a benchmark plugin: the python_http bench starts it")
    if len(sys.argv) != 2 or sys.argv[1] not in MODES:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(MODES)}")
    # The same (de)serializers as the SDK registers for the hook.
    hook = grpc.stream_stream_rpc_method_handler(
        MODES[sys.argv[1]],
        request_deserializer=hooks_pb2.ServeHTTPRequest.FromString,
        response_serializer=hooks_pb2.ServeHTTPResponse.SerializeToString,
    )
    asyncio.run(serve({"ServeHTTP": hook}))
