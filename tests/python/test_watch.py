"""`mm-plugin-host run --watch`: a saved change restarts the plugin (the backend's data stays), noise
in caches does not, and a plugin broken by a change is reported while the host keeps watching, so
the next save brings it back."""

from __future__ import annotations

import json
import pathlib
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

PLUGIN_ID = "com.example.watched"

PLUGIN = textwrap.dedent(
    """
    from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin


    class Watched(Plugin):
        @hook
        async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
            await response.write(b"REPLY")


    run_plugin(Watched)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _wait_until(what: str, check: Callable[[], bool], log: pathlib.Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {timeout} s: {what}\nhost log:\n{log.read_text()}")


class _Host:
    """`mm-plugin-host run --watch` on `plugin_dir`, its stdout read by a thread (so waiting on a line
    is bounded and the host never blocks on a full pipe), its log in `log`."""

    def __init__(self, binary: str, plugin_dir: pathlib.Path, log: pathlib.Path) -> None:
        self.log = log
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: queue.Queue[str] = queue.Queue()
        with log.open("w") as log_file:
            self.process = subprocess.Popen(
                [binary, "run", str(plugin_dir), "--listen", f"127.0.0.1:{self.port}", "--watch"],
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
            )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, prefix: str, timeout: float = 60) -> list[str]:
        """The stdout lines up to the first that starts with `prefix`."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    pytest.fail(f"the host exited with {self.process.returncode}:\n{self.log.read_text()}")
                continue
            seen.append(line)
            if line.startswith(prefix):
                return seen
        pytest.fail(f"no line {prefix!r} within {timeout} s: {seen}\n{self.log.read_text()}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def _save(path: pathlib.Path, text: str) -> None:
    # Written beside and renamed over, as editors save.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def test_a_saved_change_restarts_the_plugin_and_a_broken_one_waits_for_the_next(
    mm_plugin_host: str, tmp_path: pathlib.Path
) -> None:
    plugin_dir = tmp_path / "watched"
    plugin_dir.mkdir()
    (plugin_dir / "plugin.json").write_text(
        json.dumps(
            {
                "id": PLUGIN_ID,
                "name": "Watched",
                "version": "0.1.0",
                "server": {"runtime": "python", "executable": "plugin.py"},
            }
        )
    )
    (plugin_dir / ".venv").symlink_to(sys.prefix)
    plugin = plugin_dir / "plugin.py"
    plugin.write_text(PLUGIN.replace("REPLY", "version 1"))

    log = tmp_path / "host.log"
    host = _Host(mm_plugin_host, plugin_dir, log)
    base = host.base

    def reply() -> tuple[int, bytes]:
        return _request(f"{base}/plugins/{PLUGIN_ID}/")

    def restarts() -> int:
        return log.read_text().count("restarting the plugin")

    try:
        banner = host.wait_for_line("press Ctrl-C")
        assert any(line.startswith("watching ") for line in banner), banner
        assert reply() == (200, b"version 1")
        status, post = _request(f"{base}/api/v4/posts", {"message": "kept across restarts"})
        assert status == 201, post
        post_id = json.loads(post)["id"]

        # A save: the new code answers, and the backend still has the post.
        _save(plugin, PLUGIN.replace("REPLY", "version 2"))
        _wait_until("the changed plugin answers", lambda: reply() == (200, b"version 2"), log)
        assert "changed=plugin.py" in log.read_text()
        assert _request(f"{base}/api/v4/posts/{post_id}")[0] == 200
        assert restarts() == 1

        # Caches and bytecode are not changes.
        for noise in ("__pycache__/plugin.cpython-312.pyc", ".pytest_cache/v/cache/lastfailed", ".git/index"):
            (plugin_dir / noise).parent.mkdir(parents=True, exist_ok=True)
            (plugin_dir / noise).write_text("noise")
        time.sleep(2)
        assert restarts() == 1, log.read_text()

        # A broken save: reported, the plugin's routes answer 503 with the reason, and the host
        # goes on watching.
        _save(plugin, PLUGIN.replace("REPLY", "version 3") + "\ndef broken(:\n")

        def failed() -> bool:
            status, body = _request(f"{base}/api/v4/system/ping")
            return status == 503 and json.loads(body)["plugin"]["state"] == "failed"

        _wait_until("the broken plugin is reported as failed", failed, log)
        assert "failed to start after the change" in log.read_text()
        assert reply()[0] == 503
        assert host.process.poll() is None

        # The next save fixes it.
        _save(plugin, PLUGIN.replace("REPLY", "version 4"))
        _wait_until("the fixed plugin answers", lambda: reply() == (200, b"version 4"), log)
        assert _request(f"{base}/api/v4/system/ping")[0] == 200
        assert _request(f"{base}/api/v4/posts/{post_id}")[0] == 200
    finally:
        code = host.stop()
    assert code == 0, log.read_text()


def test_a_plugin_broken_from_the_start_is_served_once_a_save_fixes_it(
    mm_plugin_host: str, tmp_path: pathlib.Path
) -> None:
    plugin_dir = tmp_path / "broken"
    plugin_dir.mkdir()
    manifest = {
        "id": PLUGIN_ID,
        "name": "Watched",
        "version": "0.1.0",
        "server": {"runtime": "python", "executable": "plugin.py"},
    }
    (plugin_dir / "plugin.json").write_text(json.dumps(manifest))
    (plugin_dir / ".venv").symlink_to(sys.prefix)
    plugin = plugin_dir / "plugin.py"
    plugin.write_text(PLUGIN.replace("REPLY", "never") + "\ndef broken(:\n")

    log = tmp_path / "host.log"
    host = _Host(mm_plugin_host, plugin_dir, log)
    try:
        _wait_until("the failed start is reported", lambda: "for a change to try again" in log.read_text(), log)
        assert "SyntaxError" in log.read_text()
        assert host.process.poll() is None
        _save(plugin, PLUGIN.replace("REPLY", "fixed"))
        host.wait_for_line("press Ctrl-C")
        assert _request(f"{host.base}/plugins/{PLUGIN_ID}/") == (200, b"fixed")
    finally:
        code = host.stop()
    assert code == 0, log.read_text()
