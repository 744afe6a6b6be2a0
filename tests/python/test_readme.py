"""Every code block in README.md is run here, or says in its marker why it cannot be.

A block is preceded by `<!-- readme-test: <name> -->` (run by the test of that name below) or
`<!-- readme-test: skip (<reason>) -->`. The quick start runs as a reader would run it, with
`/tmp/hello`, the repository path and the dev host's port replaced.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import shlex
import signal
import socket
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- readme-test: (?P<name>\S+)(?: \((?P<reason>.+)\))? -->$")
RUNNERS = {"quickstart-plugin", "quickstart-host", "quickstart-curl", "quickstart-pytest", "scaffold"}


@dataclasses.dataclass
class Block:
    line: int
    lang: str
    text: str
    name: str
    reason: str


def blocks() -> list[Block]:
    lines = (ROOT / "README.md").read_text().splitlines()
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```") and len(lines[i]) > 3:
            start, lang = i, lines[i][3:].strip()
            end = lines.index("```", i + 1)
            marker = MARKER.match(lines[start - 1]) if start > 0 else None
            out.append(
                Block(
                    line=start + 1,
                    lang=lang,
                    text="\n".join(lines[start + 1 : end]) + "\n",
                    name=marker["name"] if marker else "",
                    reason=(marker["reason"] or "") if marker else "",
                )
            )
            i = end + 1
        else:
            i += 1
    return out


def block(name: str) -> Block:
    [found] = [b for b in blocks() if b.name == name]
    return found


def test_every_block_is_run_or_says_why() -> None:
    found = blocks()
    assert len(found) >= 8
    for b in found:
        assert b.name, f"README.md:{b.line}: a ```{b.lang} block without a `<!-- readme-test: … -->` marker"
        if b.name == "skip":
            assert b.reason, f"README.md:{b.line}: a skipped block must say why"
        else:
            assert b.name in RUNNERS, f"README.md:{b.line}: no test runs `{b.name}`"
    assert {b.name for b in found} - {"skip"} == RUNNERS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_quick_start_runs_as_written(mm_plugin_host: str, tmp_path: pathlib.Path) -> None:
    plugin_dir = tmp_path / "hello"

    def localise(text: str) -> str:
        return text.replace("/tmp/hello", str(plugin_dir)).replace("/path/to/this/repo", str(ROOT))

    # The plugin: written by the block, clean under ruff and mypy --strict.
    subprocess.run(["bash", "-euo", "pipefail", "-c", localise(block("quickstart-plugin").text)], check=True)
    for check in (["ruff", "check", "plugin.py"], ["mypy", "--strict", "plugin.py"]):
        result = subprocess.run([sys.executable, "-m", *check], cwd=plugin_dir, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(check)}:\n{result.stdout}{result.stderr}"

    # The host: the block's command is the dev host's binary run on the plugin directory.
    host = shlex.split(block("quickstart-host").text)
    assert host[:7] == ["cargo", "run", "-q", "-p", "mattermost-plugin-devhost", "--bin", "mm-plugin-host"]
    assert host[7:] == ["--", "run", "/tmp/hello"]
    port = _free_port()
    process = subprocess.Popen(
        [mm_plugin_host, "run", str(plugin_dir), "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("listening on"):
                break
        else:
            pytest.fail(f"the dev host exited with {process.wait()} before listening")

        # The curl lines, each as written but for the port.
        answers = []
        for line in block("quickstart-curl").text.splitlines():
            command = line.split("  #")[0].replace("localhost:8065", f"127.0.0.1:{port}")
            result = subprocess.run(
                ["bash", "-c", command + " --silent --show-error"], capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, f"{command}: {result.stderr}"
            answers.append(result.stdout)
        rejected = json.loads(answers[0])
        assert rejected["rejected"] is True and rejected["reason"] == "no spam", answers[0]
        assert answers[1] == "hello"

        # The pytest example, as a test file of its own.
        test_file = tmp_path / "test_hello.py"
        test_file.write_text(localise(block("quickstart-pytest").text))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "MM_PLUGIN_HOST": mm_plugin_host},
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "2 passed" in result.stdout
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_the_scaffold_command_runs_as_written(tmp_path: pathlib.Path) -> None:
    [command] = block("scaffold").text.splitlines()
    args = shlex.split(command)
    assert args[0] == "python"
    result = subprocess.run([sys.executable, *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "my-plugin" / "plugin.json").read_text())
    assert manifest["id"] == "com.example.my-plugin"
    assert (tmp_path / "my-plugin" / "test_plugin.py").is_file()
