"""Describe mode: with `MM_PLUGIN_DESCRIBE` naming a file, `run_plugin` records the hooks `Implemented`
would answer there and exits, before any host check (`cargo xtask bundle` runs the entry script so)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
from mattermost_plugin.server import ENV_DESCRIBE, announced_hooks
from mattermost_plugin_api import Hook, models
from mattermost_plugin_api.protocol import MAGIC_COOKIE_KEY


class Described(Plugin):
    @hook
    def on_activate(self) -> None:
        return None

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        return post, ""

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        return None


def test_describe_writes_the_implemented_answer_and_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "hooks.json"
    monkeypatch.setenv(ENV_DESCRIBE, str(out))
    monkeypatch.delenv(MAGIC_COOKIE_KEY, raising=False)
    with pytest.raises(SystemExit) as exited:
        run_plugin(Described)
    assert exited.value.code == 0
    expected = ["MessageWillBePosted", "OnActivate", "OnConfigurationChange", "ServeHTTP"]
    assert json.loads(out.read_text()) == {"hooks": expected}
    assert sorted(h.value for h in announced_hooks(Described)) == expected


def test_describe_counts_an_asgi_app_as_serve_http() -> None:
    class Asgi(Plugin):
        asgi_app = object()

    assert announced_hooks(Asgi) == {Hook.SERVE_HTTP, Hook.ON_CONFIGURATION_CHANGE}


def test_describe_runs_the_entry_script_without_a_host_and_prints_nothing(tmp_path: Path) -> None:
    script = tmp_path / "plugin.py"
    script.write_text(
        textwrap.dedent(
            """
            from mattermost_plugin import Plugin, hook, run_plugin

            class P(Plugin):
                @hook
                def execute_command(self, args):
                    return None

            print("module-level output of the plugin goes to stdout")
            run_plugin(P)
            """
        )
    )
    out = tmp_path / "hooks.json"
    env = {k: v for k, v in os.environ.items() if k != MAGIC_COOKIE_KEY}
    env[ENV_DESCRIBE] = str(out)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # Only the plugin's own print: run_plugin wrote nothing to stdout.
    assert done.stdout == "module-level output of the plugin goes to stdout\n"
    assert json.loads(out.read_text()) == {"hooks": ["ExecuteCommand", "OnConfigurationChange"]}
