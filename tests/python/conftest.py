"""Shared fixtures of the Python tests."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mm_plugin_host() -> str:
    """The dev host's binary (`target/debug/mm-plugin-host`), built when missing."""
    binary = ROOT / "target" / "debug" / "mm-plugin-host"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "mattermost-plugin-devhost", "--bin", "mm-plugin-host"], cwd=ROOT, check=True
        )
    return str(binary)
