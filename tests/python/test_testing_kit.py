"""`mattermost_plugin.testing.DevHost` drives the hello example from pytest in a few lines."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

from mattermost_plugin.testing import DevHost

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _binary() -> str:
    binary = ROOT / "target" / "debug" / "mm-plugin-host"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "mattermost-plugin-devhost", "--bin", "mm-plugin-host"], cwd=ROOT, check=True
        )
    return str(binary)


def test_the_hello_example_under_the_testing_kit(tmp_path: pathlib.Path) -> None:
    for name in ("plugin.json", "plugin.py"):
        shutil.copy(ROOT / "examples" / "hello" / name, tmp_path / name)
    with DevHost(tmp_path, binary=_binary(), python_env=sys.prefix) as host:
        assert "ExecuteCommand" in host.implemented
        status, post = host.create_post("Hello there")
        assert status == 201 and post["message"] == "Hello there 👋"
        status, rejected = host.create_post("spam spam")
        assert status == 400 and rejected["rejected"] is True
        assert host.set_configuration({"Greeting": "Ahoy"})[0] == 200
        status, response = host.execute_command("/hello Ada")
        assert status == 200 and response["text"] == "Ahoy, Ada! (greeting #1)"
        status, body = host.plugin_http("GET", "/status")
        assert status == 200 and json.loads(body)["server_version"]
        status, body = host.plugin_http("GET", "/download?size=200000")
        assert status == 200 and len(body) == 200_000
    assert host.stop() == 0
