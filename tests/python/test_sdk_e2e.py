"""A Python plugin written with the SDK, run by `mm-plugin-host` as a real process: hooks fire,
API calls go back to the host (sync in worker threads, async on the loop), configuration is
refreshed, ServeHTTP streams both ways, and Ctrl-C stops everything."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLUGIN_ID = "com.example.python-hello"

PLUGIN = textwrap.dedent(
    """
    import dataclasses

    from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
    from mattermost_plugin_api import models

    print("printed before the handshake: must not break it")


    class Hello(Plugin):
        @hook
        def on_activate(self) -> None:
            self.bot_id = self.api.ensure_bot_user(bot=models.Bot(username="hello-bot", display_name="Hello"))
            self.api.register_command(command=models.Command(trigger="hello"))
            self.logger.info("activated with bot %s", self.bot_id)

        @hook
        def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
            assert post is not None
            if "spam" in post.message:
                return None, "no spam please"
            return dataclasses.replace(post, message=post.message + "!"), ""

        @hook("ExecuteCommand")
        async def command(self, args: models.CommandArgs | None) -> models.CommandResponse:
            version = await self.api_async.get_server_version()
            greeting = self.configuration.get("Greeting", "hello")
            command = args.command if args else ""
            return models.CommandResponse(response_type="ephemeral", text=f"{greeting} {command} on {version}")

        @hook
        async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
            if request.url.startswith("/echo"):
                response.headers["Content-Type"] = ["application/octet-stream"]
                async for chunk in request.body:
                    await response.write(chunk)
                return
            response.headers["X-Bot"] = [self.bot_id]
            await response.write(b"hello from python")


    run_plugin(Hello)
    """
)


HOST_PIDS: dict[str, int] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _host_binary() -> pathlib.Path:
    binary = ROOT / "target" / "debug" / "mm-plugin-host"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "mattermost-plugin-devhost", "--bin", "mm-plugin-host"], cwd=ROOT, check=True
        )
    return binary


ASGI_PLUGIN = textwrap.dedent(
    """
    from mattermost_plugin import Plugin, run_plugin


    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-path", scope["raw_path"])]})
        while True:
            message = await receive()
            await send({"type": "http.response.body", "body": message.get("body", b""), "more_body": True})
            if not message.get("more_body"):
                break
        await send({"type": "http.response.body", "body": b"", "more_body": False})


    class WithApp(Plugin):
        asgi_app = app


    run_plugin(WithApp)
    """
)


class _Host:
    """`mm-plugin-host run` on a plugin written to `tmp_path` from `source`, its stderr collected as
    it comes. Host and plugin put their sockets under a TMPDIR of their own, `scratch`."""

    def __init__(
        self,
        tmp_path: pathlib.Path,
        source: str = PLUGIN,
        *args: str,
        rust_log: str = "warn",
        wait: bool = True,
    ) -> None:
        (tmp_path / "plugin.py").write_text(source)
        manifest = {"id": PLUGIN_ID, "version": "0.1.0", "server": {"executable": "plugin.py", "runtime": "python"}}
        (tmp_path / "plugin.json").write_text(json.dumps(manifest))
        # The plugin runs on this interpreter's environment (the manifest looks for .venv first).
        (tmp_path / ".venv").symlink_to(sys.prefix)
        self.scratch = tmp_path / "tmp"
        self.scratch.mkdir()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(_host_binary()), "run", str(tmp_path), "--listen", f"127.0.0.1:{port}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "RUST_LOG": rust_log, "TMPDIR": str(self.scratch)},
        )
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        if not wait:
            return
        assert self.process.stdout is not None
        seen = []
        for line in self.process.stdout:
            seen.append(line)
            if line.startswith("listening on"):
                return
        self.process.wait(timeout=10)
        self._drain.join(timeout=5)
        pytest.fail(f"mm-plugin-host did not start:\n{''.join(seen)}\n{self.log()}")

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def log(self) -> str:
        return re.sub(r"\x1b\[[0-9;]*m", "", "".join(self._stderr))  # without the colours

    def wait_for_log(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log():
            assert time.monotonic() < deadline, f"no {needle!r} in the host's log:\n{self.log()}"
            time.sleep(0.05)

    def stop(self) -> int:
        """Ctrl-C; the host's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self._drain.join(timeout=5)
        return code

    def leftovers(self) -> list[pathlib.Path]:
        return sorted(self.scratch.iterdir())


@pytest.fixture
def host(tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> Iterator[str]:
    running = _Host(tmp_path, getattr(request, "param", PLUGIN))
    HOST_PIDS[running.url] = running.process.pid
    try:
        yield running.url
    finally:
        code = running.stop()
        assert code == 0, running.log()
        # After a clean stop nothing is left under TMPDIR.
        assert running.leftovers() == []


def _call(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_hooks_api_calls_configuration_and_http(host: str) -> None:
    status, body = _call("POST", f"{host}/api/v4/posts", b'{"message": "hi"}')
    assert status == 201, body
    assert json.loads(body)["message"] == "hi!"

    status, body = _call("POST", f"{host}/api/v4/posts", b'{"message": "buy spam"}')
    assert status == 400 and b"no spam please" in body

    status, body = _call("PUT", f"{host}/api/v4/plugins/{PLUGIN_ID}/config", b'{"Greeting": "howdy"}')
    assert status == 200, body
    status, body = _call("POST", f"{host}/api/v4/commands/execute", b'{"command": "/hello"}')
    assert status == 200, body
    text = json.loads(body)["text"]
    assert text.startswith("howdy /hello on "), text

    status, body = _call("GET", f"{host}/plugins/{PLUGIN_ID}/")
    assert (status, body) == (200, b"hello from python")

    payload = os.urandom(8 << 20)
    status, body = _call("POST", f"{host}/plugins/{PLUGIN_ID}/echo", payload)
    assert status == 200 and body == payload

    status, body = _call("GET", f"{host}/api/v4/system/ping")
    implemented = json.loads(body)["implemented"]
    assert {"OnActivate", "MessageWillBePosted", "ExecuteCommand", "ServeHTTP", "OnConfigurationChange"} <= set(
        implemented
    )


@pytest.mark.parametrize("host", [ASGI_PLUGIN], indirect=True)
def test_an_asgi_app_serves_the_plugin_routes(host: str) -> None:
    payload = os.urandom(4 << 20)
    status, body = _call("POST", f"{host}/plugins/{PLUGIN_ID}/upload/here", payload)
    assert status == 200 and body == payload


def _rss(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_256_mib_streams_through_a_python_plugin_with_bounded_memory(host: str) -> None:
    import threading

    size = 256 << 20
    host_pid = HOST_PIDS[host]
    plugin_pid = _children(host_pid)[0]
    baseline = {pid: _rss(pid) for pid in (host_pid, plugin_pid)}
    peak = dict(baseline)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in peak:
                peak[pid] = max(peak[pid], _rss(pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    port = int(host.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))

    def send() -> None:
        head = (
            f"POST /plugins/{PLUGIN_ID}/echo HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        block = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(size >> 20):
            sock.sendall(block)

    sender = threading.Thread(target=send)
    sender.start()
    reader = sock.makefile("rb")
    status = reader.readline()
    assert b" 200 " in status, status
    while reader.readline() not in (b"\r\n", b""):
        pass
    received = 0
    while True:
        length = int(reader.readline().strip(), 16)
        if length == 0:
            break
        chunk = reader.read(length + 2)[:-2]
        assert chunk == (bytes(range(256)) * ((length // 256) + 2))[received % 256 : received % 256 + length]
        received += length
    sender.join()
    sock.close()
    done.set()
    sampler.join()
    assert received == size
    for pid, name in ((host_pid, "host"), (plugin_pid, "plugin")):
        growth = peak[pid] - baseline[pid]
        assert growth < 64 << 20, f"{name} memory grew by {growth >> 20} MiB while streaming 256 MiB"


ORPHAN_PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE)
    handshake = child.stdout.readline()
    print(child.pid, handshake.decode().strip(), flush=True)
    time.sleep(600)
    """
)

IDLE_PLUGIN = "from mattermost_plugin import Plugin, run_plugin\nrun_plugin(type('Idle', (Plugin,), {}))\n"
# With an async handler: served by grpc.aio rather than grpc's sync server (each watches its host).
IDLE_ASYNC_PLUGIN = textwrap.dedent(
    """
    from mattermost_plugin import Plugin, hook, run_plugin


    class IdleAsync(Plugin):
        @hook
        async def on_activate(self) -> None:
            pass


    run_plugin(IdleAsync)
    """
)


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has exited
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("plugin", [IDLE_PLUGIN, IDLE_ASYNC_PLUGIN], ids=["sync server", "asyncio server"])
def test_the_plugin_exits_when_its_host_is_killed(tmp_path: pathlib.Path, plugin: str) -> None:
    env = {
        **os.environ,
        "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
        "MM_PLUGIN_API_ADDR": f"unix://{tmp_path}/no-host.sock",
        "MM_PLUGIN_API_TOKEN": "t",
        "TMPDIR": str(tmp_path),
    }
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_PARENT, plugin], stdout=subprocess.PIPE, text=True, env=env)
    assert parent.stdout is not None
    pid_text, handshake = parent.stdout.readline().split(" ", 1)
    plugin_pid = int(pid_text)
    assert handshake.startswith("1|1|unix|"), handshake
    try:
        assert not _exited(plugin_pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while not _exited(plugin_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _exited(plugin_pid), "the plugin outlived its host"
    finally:
        if not _exited(plugin_pid):
            os.kill(plugin_pid, signal.SIGKILL)
    # It stopped the way a Shutdown stops it: its socket directory is gone.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("mm-plugin-")]


def _socket_of_plugin(scratch: pathlib.Path) -> pathlib.Path:
    sockets = list(scratch.glob("mm-plugin-*/plugin.sock"))
    assert len(sockets) == 1, sockets
    return sockets[0]


# The hook the token test posts through, on grpc's sync server (PLUGIN has async handlers: grpc.aio).
SYNC_EXCLAIM = textwrap.dedent(
    """
    import dataclasses

    from mattermost_plugin import Plugin, hook, run_plugin
    from mattermost_plugin_api import models


    class Exclaim(Plugin):
        @hook
        def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
            assert post is not None
            return dataclasses.replace(post, message=post.message + "!"), ""


    run_plugin(Exclaim)
    """
)


@pytest.mark.parametrize("plugin", [PLUGIN, SYNC_EXCLAIM], ids=["asyncio server", "sync server"])
def test_calls_without_the_hosts_hook_token_are_refused(tmp_path: pathlib.Path, plugin: str) -> None:
    import grpc

    from mattermost_plugin_api._pb import hooks_pb2

    host = _Host(tmp_path, plugin)
    try:
        plugin_pid = _children(host.process.pid)[0]
        # Another process of the same user found the socket.
        post = hooks_pb2.MessageWillBePostedRequest().SerializeToString()
        calls = {
            "/plugin.GRPCController/Shutdown": b"",
            "/mattermost.plugin.v1.PluginHooks/MessageWillBePosted": post,
            "/mattermost.plugin.v1.PluginHooks/Implemented": b"",
            "/grpc.health.v1.Health/Check": b"\n\x06plugin",
        }
        with grpc.insecure_channel(f"unix:{_socket_of_plugin(host.scratch)}") as channel:
            for metadata in (None, (("mm-plugin-hook-token", "0" * 64),)):
                for method, request in calls.items():
                    with pytest.raises(grpc.RpcError) as refused:
                        channel.unary_unary(method)(request, timeout=10, metadata=metadata)
                    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, (method, refused.value)
        # The same process still serves the host.
        status, body = _call("POST", f"{host.url}/api/v4/posts", b'{"message": "hi"}')
        assert status == 201 and json.loads(body)["message"] == "hi!", body
        assert _children(host.process.pid) == [plugin_pid]
    finally:
        assert host.stop() == 0, host.log()
    assert host.leftovers() == []


def test_a_sigkilled_plugin_is_restarted_and_leaves_no_socket_directory(tmp_path: pathlib.Path) -> None:
    host = _Host(tmp_path)
    try:
        first = _children(host.process.pid)[0]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            status, body = _call("POST", f"{host.url}/api/v4/posts", b'{"message": "hi"}')
            restarted = [pid for pid in _children(host.process.pid) if pid != first]
            if restarted and status == 201 and json.loads(body)["message"] == "hi!":
                break
            assert time.monotonic() < deadline, f"no restart: {status} {body!r}\n{host.log()}"
            time.sleep(0.2)
        # Only the running generation's directory (and the API server's) are there.
        assert len([p for p in host.leftovers() if not p.name.startswith("mm-plugin-api-")]) == 1, host.leftovers()
    finally:
        assert host.stop() == 0, host.log()
    assert host.leftovers() == []


STUCK_PLUGIN = textwrap.dedent(
    """
    import asyncio
    import dataclasses
    import threading

    from mattermost_plugin import Plugin, hook, run_plugin
    from mattermost_plugin_api import models

    NEVER = threading.Event()


    class Stuck(Plugin):
        @hook
        def on_activate(self) -> None:
            for trigger in ("hang", "park", "ping"):
                self.api.register_command(command=models.Command(trigger=trigger))

        @hook
        def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
            assert post is not None
            if post.message == "hang":
                self.logger.warning("handler stuck")
                NEVER.wait()
            return dataclasses.replace(post, message=post.message + "!"), ""

        @hook
        async def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
            command = args.command if args else ""
            if command == "/hang":
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    self.logger.warning("async handler cancelled")
                    raise
            if command == "/park":
                # Plugin code parking a thread of the default executor for good.
                self.logger.warning("handler stuck")
                await asyncio.to_thread(NEVER.wait)
            return models.CommandResponse(text="ok")


    run_plugin(Stuck)
    """
)


# Every handler sync: the SDK serves it on grpc's sync server, handlers on the server's own pool.
ALL_SYNC_STUCK = textwrap.dedent(
    """
    import dataclasses
    import threading

    from mattermost_plugin import Plugin, hook, run_plugin
    from mattermost_plugin_api import models

    NEVER = threading.Event()


    class Stuck(Plugin):
        @hook
        def on_activate(self) -> None:
            self.api.register_command(command=models.Command(trigger="ping"))

        @hook
        def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
            assert post is not None
            if post.message == "hang":
                self.logger.warning("handler stuck on %s", threading.current_thread().name)
                NEVER.wait()
            return dataclasses.replace(post, message=post.message + "!"), ""

        @hook
        def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
            return models.CommandResponse(text="ok")


    run_plugin(Stuck)
    """
)


def _stop_outcome(log: str) -> str:
    stopped = [line for line in log.splitlines() if "plugin stopped" in line and "outcome=" in line]
    assert stopped, log
    return stopped[-1].split("outcome=", 1)[1].split()[0]


def _hang_in_pairs(posts: str, hung: int) -> None:
    """Piles up `hung` hung MessageWillBePosted handlers in the plugin, two at a time; after each
    pair a post that does not hang must still be served by the plugin (not the host's default),
    which also keeps the host from taking the plugin for stuck and restarting it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as callers:
        for first in range(0, hung, 2):
            pair = [callers.submit(_call, "POST", posts, b'{"message": "hang"}') for _ in range(first, hung)[:2]]
            # The host gave up on each after its hook timeout and stored the post unchanged.
            assert [json.loads(f.result()[1])["message"] for f in pair] == ["hang"] * len(pair)
            status, body = _call("POST", posts, f'{{"message": "after {first}"}}'.encode())
            assert status == 201 and json.loads(body)["message"] == f"after {first}!", body


def test_hung_handlers_are_cut_off_at_their_deadline_and_do_not_starve_the_others(tmp_path: pathlib.Path) -> None:
    # As many as the default executor that used to run sync handlers has threads, and one more.
    count = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    hung = min(32, count + 4) + 1
    host = _Host(tmp_path, STUCK_PLUGIN, "--hook-timeout", "1", rust_log="warn,mattermost_plugin_devhost=info")
    posts, commands = f"{host.url}/api/v4/posts", f"{host.url}/api/v4/commands/execute"
    try:
        plugin_pid = _children(host.process.pid)[0]
        _hang_in_pairs(posts, hung)
        status, body = _call("POST", commands, b'{"command": "/hang"}')
        assert status == 200 and json.loads(body)["text"] == "", body
        status, body = _call("POST", commands, b'{"command": "/ping"}')
        assert status == 200 and json.loads(body)["text"] == "ok", body
        assert _children(host.process.pid) == [plugin_pid], "the plugin was restarted"
    finally:
        code = host.stop()
    log = host.log()
    assert code == 0, log
    for hook, handler in [
        ("MessageWillBePosted", "Stuck.message_will_be_posted"),
        ("ExecuteCommand", "Stuck.execute_command"),
    ]:
        overran = [line for line in log.splitlines() if handler in line]
        assert overran, log
        assert all(" WARN " in line and f"hook {hook}" in line for line in overran), overran
        assert all(re.search(r"still running after \d+\.\d s", line) for line in overran), overran
    assert "async handler cancelled" in log
    # The written-off threads, stuck for good, do not hold up the stop.
    assert _stop_outcome(log) == "Shutdown", log
    assert host.leftovers() == []


def test_an_all_sync_plugins_hung_handlers_are_written_off_up_to_the_cap(tmp_path: pathlib.Path) -> None:
    from mattermost_plugin._handlers import MAX_WRITTEN_OFF

    # One past the cap: that one keeps its thread, and the pool still has threads for the rest.
    hung = MAX_WRITTEN_OFF + 1
    host = _Host(tmp_path, ALL_SYNC_STUCK, "--hook-timeout", "1", rust_log="warn,mattermost_plugin_devhost=info")
    posts, commands = f"{host.url}/api/v4/posts", f"{host.url}/api/v4/commands/execute"
    try:
        plugin_pid = _children(host.process.pid)[0]
        _hang_in_pairs(posts, hung)
        status, body = _call("POST", commands, b'{"command": "/ping"}')
        assert status == 200 and json.loads(body)["text"] == "ok", body
        assert _children(host.process.pid) == [plugin_pid], "the plugin was restarted"
    finally:
        code = host.stop()
    log = host.log()
    assert code == 0, log
    stuck = [line for line in log.splitlines() if "handler stuck on" in line]
    assert len(stuck) == hung, log
    # Served by grpc's sync server: the handlers ran on its pool, not on threads of the asyncio server's.
    assert all("handler stuck on mm-plugin-sync-handler_" in line for line in stuck), stuck
    overran = [line for line in log.splitlines() if "Stuck.message_will_be_posted still running after" in line]
    assert len(overran) == hung, log
    assert sum("is written off (" in line for line in overran) == MAX_WRITTEN_OFF, overran
    assert f"is written off ({MAX_WRITTEN_OFF} of at most {MAX_WRITTEN_OFF})" in log, log
    assert sum("stays in use" in line for line in overran) == 1, overran
    assert "reporting NOT_SERVING" in log, log
    assert _stop_outcome(log) == "Shutdown", log
    assert host.leftovers() == []


@pytest.mark.parametrize(
    ("plugin", "path", "body"),
    [
        (STUCK_PLUGIN, "/api/v4/posts", b'{"message": "hang"}'),
        (STUCK_PLUGIN, "/api/v4/commands/execute", b'{"command": "/park"}'),
        (ALL_SYNC_STUCK, "/api/v4/posts", b'{"message": "hang"}'),
    ],
    ids=["sync handler", "default executor thread", "all-sync plugin"],
)
def test_a_plugin_stuck_in_a_handler_stops_on_shutdown(
    tmp_path: pathlib.Path, plugin: str, path: str, body: bytes
) -> None:
    host = _Host(tmp_path, plugin, rust_log="warn,mattermost_plugin_devhost=info")

    def call_and_forget() -> None:
        with contextlib.suppress(OSError):  # the host goes away before answering
            _call("POST", f"{host.url}{path}", body)

    caller = threading.Thread(target=call_and_forget, daemon=True)
    try:
        caller.start()
        host.wait_for_log("handler stuck")
    finally:
        code = host.stop()
    assert code == 0, host.log()
    # Not escalated to SIGTERM or SIGKILL.
    assert _stop_outcome(host.log()) == "Shutdown", host.log()
    assert host.leftovers() == []


SLOW_TO_ACTIVATE = textwrap.dedent(
    """
    import threading

    from mattermost_plugin import Plugin, hook, run_plugin


    class Slow(Plugin):
        @hook
        def on_activate(self) -> None:
            self.logger.warning("activating")
            threading.Event().wait()


    run_plugin(Slow)
    """
)


def test_ctrl_c_while_the_host_starts_leaves_no_socket_directory(tmp_path: pathlib.Path) -> None:
    host = _Host(tmp_path, SLOW_TO_ACTIVATE, "--hook-timeout", "60", wait=False)
    try:
        host.wait_for_log("activating")
        plugin_pid = _children(host.process.pid)[0]
    finally:
        code = host.stop()
    assert code == 1 and "interrupted while starting" in host.log(), (code, host.log())
    deadline = time.monotonic() + 10
    while not _exited(plugin_pid):
        assert time.monotonic() < deadline, "the plugin outlived its host"
        time.sleep(0.05)
    assert host.leftovers() == []
