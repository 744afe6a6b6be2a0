"""The server of the raw baselines: go-plugin's gRPC protocol on grpc.aio with no SDK.

It does what the host needs and nothing more — health check, Shutdown, Implemented — around the
hook handlers a baseline brings, with the SDK's server options, so only the handlers differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

import grpc

from mattermost_plugin_api._pb import hooks_pb2
from mattermost_plugin_api.protocol import (
    APP_PROTOCOL_VERSION,
    CONTROLLER_SERVICE,
    CORE_PROTOCOL_VERSION,
    HANDSHAKE_PROTOCOL,
    SOCKET_FILE,
)

HOOKS_SERVICE = "mattermost.plugin.v1.PluginHooks"
# grpc.health.v1.HealthCheckResponse{status: SERVING}, encoded by hand like the SDK does.
SERVING = b"\x08\x01"

Context = grpc.aio.ServicerContext[Any, Any]


async def serve(hooks: dict[str, grpc.RpcMethodHandler[Any, Any]]) -> None:
    """Serves `hooks` (by hook name) until the host's Shutdown or a signal."""
    stop = asyncio.Event()

    async def check(request: bytes, context: Context) -> bytes:
        return SERVING

    async def shutdown(request: bytes, context: Context) -> bytes:
        stop.set()
        return b""

    async def implemented(request: hooks_pb2.ImplementedRequest, context: Context) -> hooks_pb2.ImplementedResponse:
        return hooks_pb2.ImplementedResponse(result=sorted(hooks))

    def raw(fn: Callable[..., Any]) -> grpc.RpcMethodHandler[Any, Any]:
        return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=bytes, response_serializer=bytes)

    handlers = {
        **hooks,
        "Implemented": grpc.unary_unary_rpc_method_handler(
            implemented,
            request_deserializer=hooks_pb2.ImplementedRequest.FromString,
            response_serializer=hooks_pb2.ImplementedResponse.SerializeToString,
        ),
    }
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(HOOKS_SERVICE, handlers),
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": raw(check)}),
            grpc.method_handlers_generic_handler(CONTROLLER_SERVICE, {"Shutdown": raw(shutdown)}),
        )
    )
    # Made by hand like the SDK's, so neither pays for importing tempfile.
    socket_dir = os.path.join(os.environ.get("TMPDIR") or "/tmp", f"mm-bench-{os.urandom(4).hex()}")
    os.mkdir(socket_dir, 0o700)
    path = os.path.join(socket_dir, SOCKET_FILE)
    try:
        server.add_insecure_port(f"unix://{path}")
        await server.start()
        print(f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{path}|{HANDSHAKE_PROTOCOL}", flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop(grace=1)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(socket_dir)
