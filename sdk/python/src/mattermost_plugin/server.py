"""`run_plugin`: serve a `Plugin` subclass to the host over go-plugin's gRPC protocol."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import logging
import os
import signal
import sys
import threading

# hmac.compare_digest without importing hmac and hashlib, which would cost every cold start.
from _operator import _compare_digest
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent import futures
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from google.protobuf import message as _message

from mattermost_plugin._handlers import DEFAULT_DEADLINE, Handlers, Overran
from mattermost_plugin.plugin import Plugin
from mattermost_plugin_api import (
    HOOK_SPECS,
    Hook,
    HookShape,
    HookSpec,
    PluginAPIError,
    models,
)
from mattermost_plugin_api._pb import common_pb2, hooks_pb2
from mattermost_plugin_api.protocol import (
    APP_PROTOCOL_VERSION,
    CONTROLLER_SERVICE,
    CORE_PROTOCOL_VERSION,
    ENV_API_ADDR,
    ENV_API_TOKEN,
    ENV_HOOK_TOKEN,
    ENV_SOCKET_DIR,
    HANDSHAKE_PROTOCOL,
    HOOK_TOKEN_METADATA,
    MAGIC_COOKIE_KEY,
    MAGIC_COOKIE_VALUE,
    SOCKET_DIR_PREFIX,
    SOCKET_FILE,
)

if TYPE_CHECKING:
    from mattermost_plugin.http import HTTPRequest, ResponseWriter

_HOOKS_SERVICE = "mattermost.plugin.v1.PluginHooks"
# Names a file: `run_plugin` writes the plugin's hooks there as JSON and exits (describe mode).
ENV_DESCRIBE = "MM_PLUGIN_DESCRIBE"
# grpc.health.v1.HealthCheckResponse{status: SERVING | NOT_SERVING}, encoded by hand to need no
# extra package.
_SERVING = b"\x08\x01"
_NOT_SERVING = b"\x08\x02"
# On stop, how long calls still in flight get before they are cancelled.
_STOP_GRACE = 0.5
# How often the plugin checks that its host is still its parent.
_ORPHAN_CHECK = 0.5


# Attributes every LogRecord has; anything else on a record came from `extra=` and is a key/value.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _HclogFormatter(logging.Formatter):
    """One hclog JSON line per record: the host keeps the level and the key/values
    (`logger.info("synced", extra={"channel_id": cid})`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@level": record.levelname.lower().replace("warning", "warn").replace("critical", "error"),
            "@message": record.getMessage(),
            "@module": record.name,
            "@timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("@"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        import json  # at the first record, not at every start

        return json.dumps(entry, default=str)


def _guard_stdout() -> int:
    """Keeps a private copy of stdout for the handshake and points fd 1 (and `sys.stdout`) at stderr,
    so nothing a plugin prints can corrupt the protocol."""
    sys.stdout.flush()
    handshake = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return handshake


def announced_hooks(plugin_class: type[Plugin]) -> set[Hook]:
    """The hooks the plugin serves, as `Implemented` announces them: its handlers, ServeHTTP for an
    ASGI app, and OnConfigurationChange always (the SDK keeps `configuration` current)."""
    implemented = set(plugin_class.hooks)
    if plugin_class.asgi_app is not None:
        implemented.add(Hook.SERVE_HTTP)
    implemented.add(Hook.ON_CONFIGURATION_CHANGE)
    return implemented


def _describe(plugin_class: type[Plugin], path: str) -> NoReturn:
    """Writes what the bundler records of the plugin (its `Implemented` answer) to `path` and exits,
    so a bundle can carry the answer and the server need not wait for Python to get it."""
    import json

    names = sorted(h.value for h in announced_hooks(plugin_class))
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"hooks": names}, f)
    sys.exit(0)


def run_plugin(plugin_class: type[Plugin]) -> None:
    """Runs the plugin until the host stops it. Call it from the plugin's entry script.

    With `MM_PLUGIN_DESCRIBE` naming a file (set by `cargo xtask bundle`), it only writes
    `{"hooks": [...]}` there, the sorted Go names `Implemented` would answer, and exits 0."""
    describe = os.environ.get(ENV_DESCRIBE)
    if describe:
        _describe(plugin_class, describe)
    # Checked before anything is touched (stdout included): run by hand, the script only says how
    # to run it.
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        plugin_dir = os.path.dirname(os.path.abspath(sys.argv[0] or "."))
        sys.stderr.write(
            f"{plugin_class.__name__} is a Mattermost plugin, started by a host rather than by hand:\n"
            f"  run it on the dev host:   mm-plugin-host run {plugin_dir}\n"
            "  test it from pytest:      mattermost_plugin.testing.DevHost (or DevHost.for_class)\n"
            f"  put it on a server:       cargo xtask bundle {plugin_dir}, then upload the .tar.gz\n"
        )
        sys.exit(1)
    handshake_fd = _guard_stdout()
    # The host is the parent now; read before the handshake, so a host that dies right after it
    # is still noticed.
    host_pid = os.getppid()
    if _all_sync(plugin_class):
        _serve_sync(plugin_class, handshake_fd, host_pid)
    else:
        asyncio.run(_serve(plugin_class, handshake_fd, host_pid))


def _accepted(fn: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments a handler takes (None: it takes any)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def _error_response(spec: HookSpec, error: BaseException) -> _message.Message | None:
    if spec.error == "app_error":
        status = error.status_code if isinstance(error, PluginAPIError) and error.status_code else 500
        return spec.response_type(app_error=common_pb2.AppError(message=str(error), status_code=status))
    if spec.error == "error":
        return spec.response_type(error=common_pb2.Error(message=str(error)))
    return None


def _refused(context: grpc.aio.ServicerContext[Any, Any] | grpc.ServicerContext, token: str) -> bool:
    """Whether a call lacks the host's hook token. A plain scan in each handler: a server
    interceptor would add a coroutine hop to every hook call."""
    for key, value in context.invocation_metadata() or ():
        # The host's credential (ENV_HOOK_TOKEN) arrives under this key on every call.
        if key == HOOK_TOKEN_METADATA:
            return not (isinstance(value, str) and _compare_digest(value, token))
    return True


_REFUSAL = "this socket serves only the plugin's host (missing or wrong hook token)"


async def _refuse(context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)
    raise AssertionError("unreachable")


def _handler_name(plugin: Plugin, fn: Callable[..., Any] | None) -> str:
    return f"{type(plugin).__name__}.{getattr(fn, '__name__', fn)}"


class _HookCall:
    """What a unary hook's handling needs whichever server runs it: the handler's arguments from
    the request, and the response from its result or its error (None with a message: abort)."""

    __slots__ = ("accepted", "handler", "hook_name", "plugin", "spec", "width")

    def __init__(self, plugin: Plugin, spec: HookSpec, fn: Callable[..., Any] | None) -> None:
        self.plugin = plugin
        self.spec = spec
        self.accepted = _accepted(fn) if fn is not None else set()
        self.width = len(spec.results)
        self.hook_name = spec.hook.value
        self.handler = _handler_name(plugin, fn)

    def kwargs(self, request: _message.Message) -> dict[str, Any]:
        assert self.spec.args is not None  # unary hooks only
        kwargs = self.spec.args(request)
        if self.accepted is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in self.accepted}
        return kwargs

    def failed(self, error: Exception) -> tuple[_message.Message | None, str]:
        self.plugin.logger.exception("hook %s failed", self.hook_name)
        return _error_response(self.spec, error), f"{self.hook_name}: {error}"

    def answer(self, result: Any) -> tuple[_message.Message | None, str]:
        if self.width > 1 and not isinstance(result, tuple):
            # One value for several results: it is the first; the rest take their zero values.
            result = (result,) + (None,) * (self.width - 1)
        assert self.spec.response is not None  # unary hooks only
        try:
            return self.spec.response(result), ""
        except (AttributeError, TypeError, ValueError) as e:
            # The generated converter's own message ("'str' object has no attribute
            # 'to_proto'") names neither the handler nor what it should have returned.
            message = (
                f"{self.handler} returned {_returned(result)} for {self.hook_name}; "
                f"the hook expects {self.spec.returns}"
            )
            self.plugin.logger.error("%s (%s)", message, e)
            return _error_response(self.spec, TypeError(message)), message


def _unary(
    plugin: Plugin, spec: HookSpec, fn: Callable[..., Any] | None, token: str, handlers: Handlers
) -> Callable[..., Awaitable[_message.Message]]:
    """A unary hook on the asyncio server: async handlers on the loop, sync ones on a thread."""
    call = _HookCall(plugin, spec, fn)
    is_async = fn is not None and inspect.iscoroutinefunction(fn)
    hook_name, handler = call.hook_name, call.handler

    async def handle(request: _message.Message, context: grpc.aio.ServicerContext[Any, Any]) -> _message.Message:
        if token and _refused(context, token):
            await _refuse(context)
        if spec.args is None or spec.response is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{hook_name} is a streaming hook")
            raise AssertionError("unreachable")
        kwargs = call.kwargs(request)
        try:
            if spec.hook is Hook.ON_CONFIGURATION_CHANGE:
                await asyncio.to_thread(plugin.load_configuration)
            if fn is None:
                result: Any = None
            else:
                # The host's hook timeout arrives as the call's deadline, which grpc enforces;
                # a call without one gets the SDK's.
                limit = DEFAULT_DEADLINE if context.time_remaining() is None else None
                if is_async:
                    result = await handlers.run_async(fn, kwargs, limit, hook_name, handler)
                else:
                    # In a worker thread, so their blocking API calls never stall the loop.
                    result = await handlers.run_sync(fn, kwargs, limit, hook_name, handler)
        except Overran:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"{hook_name}: the handler overran its deadline")
            raise AssertionError("unreachable") from None
        except Exception as e:
            response, message = call.failed(e)
        else:
            response, message = call.answer(result)
        if response is None:
            await context.abort(grpc.StatusCode.UNKNOWN, message)
            raise AssertionError("unreachable")
        return response

    return handle


def _sync_unary(
    plugin: Plugin, spec: HookSpec, fn: Callable[..., Any] | None, token: str, handlers: Handlers
) -> Callable[..., _message.Message]:
    """A unary hook on grpc's sync server: the handler runs on the pool thread that took the call."""
    call = _HookCall(plugin, spec, fn)
    hook_name, handler = call.hook_name, call.handler

    def handle(request: _message.Message, context: grpc.ServicerContext) -> _message.Message:
        if token and _refused(context, token):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)
        kwargs = call.kwargs(request)
        try:
            if spec.hook is Hook.ON_CONFIGURATION_CHANGE:
                plugin.load_configuration()
            if fn is None:
                result: Any = None
            else:
                limit = DEFAULT_DEADLINE if context.time_remaining() is None else None
                result = handlers.run_here(fn, kwargs, context, limit, hook_name, handler)
        except Exception as e:
            response, message = call.failed(e)
        else:
            response, message = call.answer(result)
        if response is None:
            context.abort(grpc.StatusCode.UNKNOWN, message)
        return response

    return handle


def _returned(value: Any) -> str:
    """A returned value for an error message: its type, and the types inside a tuple."""
    if isinstance(value, tuple):
        return "(" + ", ".join(type(v).__name__ for v in value) + ")"
    return type(value).__name__


def _http(
    plugin: Plugin, spec: HookSpec, fn: Callable[..., Any], token: str = ""
) -> Callable[..., AsyncIterator[_message.Message]]:
    from mattermost_plugin.http import HTTPRequest, ResponseWriter  # only plugins with routes need them

    async def handle(
        frames: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[_message.Message]:
        if token and _refused(context, token):
            await _refuse(context)
        first = await frames.__anext__()
        head = first.head

        async def body() -> AsyncIterator[bytes]:
            if first.body_chunk:
                yield bytes(first.body_chunk)
            if first.body_complete:
                return
            async for frame in frames:
                if frame.body_chunk:
                    yield bytes(frame.body_chunk)
                if frame.body_complete:
                    return

        request = HTTPRequest(
            method=head.method,
            url=head.url,
            headers={h.name: list(h.values) for h in head.headers},
            body=body(),
            context=models.PluginContext.from_proto(first.context) if first.HasField("context") else None,
            remote_addr=head.remote_addr,
        )
        writer = ResponseWriter()

        async def run() -> None:
            try:
                await fn(request, writer)
            except Exception:
                plugin.logger.exception("%s failed", spec.hook.value)
                if not writer._head_sent:
                    writer.status = 500
                    await writer.write(b"internal plugin error\n")
            finally:
                await writer._finish()

        task = asyncio.create_task(run())
        try:
            while (out := await writer._queue.get()) is not None:
                frame_head = None
                if out.status is not None:
                    status = out.status
                    names = out.headers or {}
                    frame_head = common_pb2.HttpResponseHead(
                        status_code=status,
                        headers=[common_pb2.HttpHeader(name=k, values=v) for k, v in names.items()],
                    )
                yield spec.response_type(head=frame_head, body_chunk=out.chunk, flush=out.flush)
            yield spec.response_type(body_complete=True)
        finally:
            task.cancel()

    return handle


def _upload(plugin: Plugin, fn: Callable[..., Any], token: str = "") -> Callable[..., AsyncIterator[_message.Message]]:
    """FileWillBeUploaded: the file streams in, a replacement streams out, then the outcome."""
    from mattermost_plugin.http import UploadWriter

    accepted = _accepted(fn)
    handler = _handler_name(plugin, fn)

    async def handle(
        frames: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[_message.Message]:
        if token and _refused(context, token):
            await _refuse(context)
        first = await frames.__anext__()

        async def file() -> AsyncIterator[bytes]:
            if first.file_chunk:
                yield bytes(first.file_chunk)
            if first.file_complete:
                return
            async for frame in frames:
                if frame.file_chunk:
                    yield bytes(frame.file_chunk)
                if frame.file_complete:
                    return

        info = models.FileInfo.from_proto(first.info) if first.HasField("info") else None
        output = UploadWriter()
        kwargs: dict[str, Any] = {
            "context": models.PluginContext.from_proto(first.context) if first.HasField("context") else None,
            "info": info,
            "file": file(),
            "output": output,
        }
        if accepted is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        outcome: list[Any] = [info, ""]

        async def run() -> None:
            try:
                result = await fn(**kwargs)
                if isinstance(result, tuple):
                    outcome[:] = [result[0], result[1] if len(result) > 1 else ""]
                elif result is not None:
                    outcome[0] = result
                replacement, reason = outcome
                if not isinstance(replacement, models.FileInfo | None) or not isinstance(reason, str):
                    message = (
                        f"{handler} returned {_returned(result)} for FileWillBeUploaded; the hook expects "
                        "models.FileInfo | None, or (models.FileInfo | None, str)"
                    )
                    plugin.logger.error("%s", message)
                    outcome[:] = [None, f"plugin error: {message}"]
            except Exception as e:
                plugin.logger.exception("FileWillBeUploaded failed")
                outcome[:] = [None, f"plugin error: {e}"]
            finally:
                await output._queue.put(None)

        task = asyncio.create_task(run())
        try:
            while (chunk := await output._queue.get()) is not None:
                yield hooks_pb2.FileWillBeUploadedResponse(output_chunk=chunk)
            await task
            replacement, reason = outcome
            yield hooks_pb2.FileWillBeUploadedResponse(
                replacement=replacement.to_proto() if replacement is not None else None,
                rejection_reason=reason or "",
                complete=True,
            )
        finally:
            task.cancel()

    return handle


async def _stop_when_orphaned(stop: asyncio.Event, host: int, interval: float = _ORPHAN_CHECK) -> None:
    """A host that dies without stopping the plugin (SIGKILL, a crash) leaves it reparented; a
    plugin must not outlive its host, so that ends the plugin as a Shutdown would."""
    while os.getppid() == host:
        await asyncio.sleep(interval)
    logging.getLogger("mattermost_plugin").warning("the host process %d is gone: stopping", host)
    stop.set()


def _socket_dir() -> str:
    """A new private directory for the plugin's socket, under TMPDIR unless that makes the socket
    path too long for a Unix socket (about 107 bytes). Made by hand: importing tempfile and shutil
    would cost every cold start."""
    base = os.environ.get("TMPDIR") or "/tmp"
    if len(base) > 70:
        base = "/tmp"
    while True:
        candidate = os.path.join(base, f"{SOCKET_DIR_PREFIX}{os.urandom(4).hex()}")
        try:
            os.mkdir(candidate, 0o700)
            return candidate
        except FileExistsError:
            continue


def _exit_now() -> NoReturn:
    """Ends the process once the plugin has stopped. A sync handler stuck past its deadline holds
    a thread nothing can interrupt, and asyncio.run's teardown (the default executor) and the
    interpreter's exit would wait for such threads, keeping the plugin alive past the host's
    Shutdown grace until it is killed. The socket is gone and the clients are closed by now, so
    flush the logs and leave without waiting (as a Go plugin's process ends when main returns)."""
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(0)


class _Setup:
    """What both servers start from: the host's environment, logging, the plugin with its clients."""

    def __init__(self, plugin_class: type[Plugin]) -> None:
        target = os.environ.get(ENV_API_ADDR, "")
        token = os.environ.get(ENV_API_TOKEN, "")
        # Read once: the secret the host sends with every call into the plugin.
        self.hook_token = os.environ.get(ENV_HOOK_TOKEN, "")
        self.host_socket_dir = os.environ.get(ENV_SOCKET_DIR, "")
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(_HclogFormatter())
        logging.basicConfig(level=logging.INFO, handlers=[stderr], force=True)
        if not self.hook_token:
            # A host that sends no token (not ours) can still run the plugin, but anyone can call it.
            logging.getLogger("mattermost_plugin").warning(
                "%s is not set: the plugin's socket accepts calls from any process that can reach it", ENV_HOOK_TOKEN
            )
        self.handlers_run = Handlers()
        self.plugin = plugin_class()
        self.plugin._api_address = (target, token)
        self.implemented = announced_hooks(plugin_class)
        self.names = sorted(h.value for h in self.implemented)
        # The host's directory is the host's to remove (it does, however the plugin ends).
        self.socket_dir = self.host_socket_dir or _socket_dir()
        self.socket_path = os.path.join(self.socket_dir, SOCKET_FILE)

    def handler_of(self, which: Hook) -> Callable[..., Any] | None:
        attr = type(self.plugin).hooks.get(which)
        return getattr(self.plugin, attr) if attr is not None else None

    def implemented_response(self) -> hooks_pb2.ImplementedResponse:
        return hooks_pb2.ImplementedResponse(result=self.names)

    def health(self) -> bytes:
        # Unhealthy once too many stuck handlers are written off: the host then restarts the plugin.
        return _SERVING if self.handlers_run.healthy else _NOT_SERVING

    def services(
        self,
        hooks: dict[str, grpc.RpcMethodHandler[Any, Any]],
        implemented: Callable[..., Any],
        check: Callable[..., Any],
        shutdown: Callable[..., Any],
    ) -> tuple[grpc.GenericRpcHandler, ...]:
        def raw(fn: Callable[..., Any]) -> grpc.RpcMethodHandler[Any, Any]:
            return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=bytes, response_serializer=bytes)

        hooks["Implemented"] = grpc.unary_unary_rpc_method_handler(
            implemented,
            request_deserializer=hooks_pb2.ImplementedRequest.FromString,
            response_serializer=hooks_pb2.ImplementedResponse.SerializeToString,
        )
        return (
            grpc.method_handlers_generic_handler(_HOOKS_SERVICE, hooks),
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": raw(check)}),
            grpc.method_handlers_generic_handler(CONTROLLER_SERVICE, {"Shutdown": raw(shutdown)}),
        )

    def listen(self, server: grpc.Server | grpc.aio.Server) -> None:
        server.add_insecure_port(f"unix://{self.socket_path}")

    def handshake(self, handshake_fd: int) -> None:
        line = f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{self.socket_path}|{HANDSHAKE_PROTOCOL}\n"
        os.write(handshake_fd, line.encode())

    def remove_socket(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
        if not self.host_socket_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self.socket_dir)


def _all_sync(plugin_class: type[Plugin]) -> bool:
    """Whether every handler is a plain function (so no streaming hook and no ASGI app either)."""
    if plugin_class.asgi_app is not None:
        return False
    return not any(inspect.iscoroutinefunction(getattr(plugin_class, attr)) for attr in plugin_class.hooks.values())


_SERVER_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def _serve_sync(plugin_class: type[Plugin], handshake_fd: int, host_pid: int) -> None:
    """Serves a plugin whose handlers are all sync on grpc's sync server: each runs on the pool
    thread that took its call, with no hand-off to and back from an event loop (measured: the
    asyncio server's thread hop costs a sync handler about 60 µs a hook on 2 cores)."""
    setup = _Setup(plugin_class)
    handlers_run, token = setup.handlers_run, setup.hook_token
    hooks: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for which in sorted(setup.implemented, key=lambda h: h.value):
        spec = HOOK_SPECS[which]
        hooks[which.value] = grpc.unary_unary_rpc_method_handler(
            _sync_unary(setup.plugin, spec, setup.handler_of(which), token, handlers_run),
            request_deserializer=spec.request_type.FromString,
            response_serializer=spec.response_type.SerializeToString,
        )
    stop = threading.Event()

    def refuse_unless_host(context: grpc.ServicerContext) -> None:
        if token and _refused(context, token):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)

    def implemented(
        request: hooks_pb2.ImplementedRequest, context: grpc.ServicerContext
    ) -> hooks_pb2.ImplementedResponse:
        refuse_unless_host(context)
        return setup.implemented_response()

    def check(request: bytes, context: grpc.ServicerContext) -> bytes:
        refuse_unless_host(context)
        return setup.health()

    def shutdown(request: bytes, context: grpc.ServicerContext) -> bytes:
        refuse_unless_host(context)
        stop.set()
        return b""

    # Written-off threads stay in the pool, so it holds them beside the counted ones.
    pool = futures.ThreadPoolExecutor(
        handlers_run.capacity + handlers_run.max_written_off, thread_name_prefix="mm-plugin-sync-handler"
    )
    server = grpc.server(pool, options=_SERVER_OPTIONS)
    server.add_generic_rpc_handlers(setup.services(hooks, implemented, check, shutdown))
    try:
        setup.listen(server)
        server.start()
        setup.handshake(handshake_fd)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        # A host that dies without stopping the plugin leaves it reparented (see _stop_when_orphaned).
        while not stop.wait(_ORPHAN_CHECK):
            if os.getppid() != host_pid:
                logging.getLogger("mattermost_plugin").warning("the host process %d is gone: stopping", host_pid)
                break
        handlers_run.stopping = True
        server.stop(grace=_STOP_GRACE).wait()
        if setup.plugin._api is not None:
            setup.plugin._api.close()
    finally:
        setup.remove_socket()
    _exit_now()


async def _serve(plugin_class: type[Plugin], handshake_fd: int, host_pid: int) -> None:
    """Serves a plugin with async handlers (or an ASGI app) on grpc.aio: async handlers run on the
    loop, sync ones on the Handlers' threads."""
    setup = _Setup(plugin_class)
    handlers_run, hook_token, plugin = setup.handlers_run, setup.hook_token, setup.plugin
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    asgi_app = plugin_class.asgi_app
    for which in sorted(setup.implemented, key=lambda h: h.value):
        spec = HOOK_SPECS[which]
        fn = setup.handler_of(which)
        if fn is None and which is Hook.SERVE_HTTP and asgi_app is not None:
            from mattermost_plugin.asgi import serve_asgi

            async def fn(request: HTTPRequest, response: ResponseWriter) -> None:
                await serve_asgi(asgi_app, request, response)

        if spec.streaming:
            if fn is None:
                raise TypeError(f"{which.value} needs a handler")
            stream = (
                _upload(plugin, fn, hook_token)
                if spec.shape is HookShape.FILE_UPLOAD
                else _http(plugin, spec, fn, hook_token)
            )
            handlers[which.value] = grpc.stream_stream_rpc_method_handler(
                stream,
                request_deserializer=spec.request_type.FromString,
                response_serializer=spec.response_type.SerializeToString,
            )
        else:
            handlers[which.value] = grpc.unary_unary_rpc_method_handler(
                _unary(plugin, spec, fn, hook_token, handlers_run),
                request_deserializer=spec.request_type.FromString,
                response_serializer=spec.response_type.SerializeToString,
            )

    stop = asyncio.Event()

    async def implemented(
        request: hooks_pb2.ImplementedRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> hooks_pb2.ImplementedResponse:
        if hook_token and _refused(context, hook_token):
            await _refuse(context)
        return setup.implemented_response()

    async def check(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        if hook_token and _refused(context, hook_token):
            await _refuse(context)
        return setup.health()

    async def shutdown(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        if hook_token and _refused(context, hook_token):
            await _refuse(context)
        stop.set()
        return b""

    server = grpc.aio.server(options=_SERVER_OPTIONS)
    server.add_generic_rpc_handlers(setup.services(handlers, implemented, check, shutdown))
    try:
        setup.listen(server)
        await server.start()
        setup.handshake(handshake_fd)

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        orphan_watch = asyncio.create_task(_stop_when_orphaned(stop, host_pid))
        await stop.wait()
        orphan_watch.cancel()
        handlers_run.stopping = True
        await server.stop(grace=_STOP_GRACE)
        # The clients the plugin used (each is made at its first use).
        if plugin._api_async is not None:
            await plugin._api_async.close()
        if plugin._api is not None:
            plugin._api.close()
    finally:
        setup.remove_socket()
    _exit_now()
