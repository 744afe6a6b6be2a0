"""A Python plugin written with the SDK, run by `mm-plugin-host` as a real process: hooks fire,
API calls go back to the host (sync in worker threads, async on the loop), configuration is
refreshed, ServeHTTP streams both ways, and Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
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


@pytest.fixture
def host(tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> Iterator[str]:
    source = getattr(request, "param", PLUGIN)
    (tmp_path / "plugin.py").write_text(source)
    manifest = {"id": PLUGIN_ID, "version": "0.1.0", "server": {"executable": "plugin.py", "runtime": "python"}}
    (tmp_path / "plugin.json").write_text(json.dumps(manifest))
    # The plugin runs on this interpreter's environment (the manifest looks for .venv first).
    (tmp_path / ".venv").symlink_to(sys.prefix)
    port = _free_port()
    # Host and plugin put their sockets under TMPDIR; after a clean stop nothing is left there.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [str(_host_binary()), "run", str(tmp_path), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUST_LOG": "warn", "TMPDIR": str(scratch)},
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("listening on"):
            break
    else:
        _, err = process.communicate(timeout=10)
        pytest.fail(f"mm-plugin-host did not start:\n{''.join(seen)}\n{err}")
    HOST_PIDS[f"http://127.0.0.1:{port}"] = process.pid
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
        assert code == 0, process.stderr.read() if process.stderr else ""
        assert list(scratch.iterdir()) == []


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


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has exited
    except FileNotFoundError:
        return True


def test_the_plugin_exits_when_its_host_is_killed(tmp_path: pathlib.Path) -> None:
    env = {
        **os.environ,
        "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
        "MM_PLUGIN_API_ADDR": f"unix://{tmp_path}/no-host.sock",
        "MM_PLUGIN_API_TOKEN": "t",
        "TMPDIR": str(tmp_path),
    }
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_PARENT, IDLE_PLUGIN], stdout=subprocess.PIPE, text=True, env=env
    )
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
