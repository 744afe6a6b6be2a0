"""`python -m mattermost_plugin new`: a new plugin that is clean under ruff and mypy --strict and
whose own tests pass on the dev host."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: pathlib.Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_a_new_plugin_is_clean_and_its_tests_pass(mm_plugin_host: str, tmp_path: pathlib.Path) -> None:
    made = _run("-m", "mattermost_plugin", "new", "poll-bot", "--id", "com.example.poll", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    plugin = tmp_path / "poll-bot"
    files = sorted(p.name for p in plugin.iterdir())
    assert files == ["plugin.json", "plugin.py", "requirements.txt", "test_plugin.py"]
    manifest = json.loads((plugin / "plugin.json").read_text())
    assert manifest["id"] == "com.example.poll" and manifest["name"] == "Poll Bot"
    assert manifest["server"] == {"runtime": "python", "executable": "plugin.py"}
    # As an author's project would run them: no configuration of ours.
    for check in (["ruff", "check", "--isolated", "."], ["ruff", "format", "--isolated", "--check", "."]):
        result = _run("-m", *check, cwd=plugin)
        assert result.returncode == 0, result.stdout + result.stderr
    result = _run("-m", "mypy", "--strict", "plugin.py", "test_plugin.py", cwd=plugin)
    assert result.returncode == 0, result.stdout
    result = _run(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin, env={**os.environ, "MM_PLUGIN_HOST": mm_plugin_host}
    )
    assert result.returncode == 0 and "3 passed" in result.stdout, result.stdout + result.stderr


def test_new_refuses_a_directory_with_files(tmp_path: pathlib.Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = _run("-m", "mattermost_plugin", "new", "taken", cwd=tmp_path)
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    result = _run("-m", "mattermost_plugin", "new", "x", "--id", "no spaces allowed", cwd=tmp_path)
    assert result.returncode == 2 and "is not a plugin id" in result.stderr
