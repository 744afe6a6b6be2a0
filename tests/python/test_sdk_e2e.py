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
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLUGIN_ID = "com.example.python-hello"

PLUGIN = textwrap.dedent(
    '''
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
    '''
)


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
    '''
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
    '''
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
    process = subprocess.Popen(
        [str(_host_binary()), "run", str(tmp_path), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUST_LOG": "warn"},
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
        assert code == 0, process.stderr.read() if process.stderr else ""


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
