"""The author's path, as on a machine with only Python and pip: the three wheels (the generated API
package, the SDK, the dev host's binary) install into a fresh virtualenv, `python -m
mattermost_plugin new` writes a plugin, the author edits it, and its own tests pass on the dev host
that the wheel installed, with nothing of the repository on PATH."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The system's own directories: no cargo, no repository target/, no developer's ~/.local/bin.
SYSTEM_PATH = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
# The dependencies pip fetches for the wheels (and pytest for the plugin's tests), held to the
# versions the repository's checks use.
PINNED = ("grpcio", "protobuf", "pytest")


def _run(
    args: list[str],
    what: str,
    timings: dict[str, float],
    *,
    timeout: float = 120,
    cwd: pathlib.Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    began = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    timings[what] = time.monotonic() - began
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
    return str(result.stdout)


def _build_wheels(out: pathlib.Path, timings: dict[str, float]) -> list[pathlib.Path]:
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps"]
    for package in ("generated/python", "sdk/python"):
        _run(
            [*pip_wheel, "--no-build-isolation", "-w", str(out), str(ROOT / package)],
            f"pip wheel {package}",
            timings,
            timeout=300,
        )
    # A debug build in the cargo target directory the other checks build in, with the flags of
    # their `cargo build`: the binary is there already and only packed (`--strip` would link it
    # again, and every later `cargo build` after it). A release wheel is `pip wheel devhost/`.
    maturin = [sys.executable, "-m", "maturin", "build", "--quiet"]
    _run(
        [*maturin, "--manifest-path", str(ROOT / "devhost" / "Cargo.toml"), "--out", str(out)],
        "maturin build devhost",
        timings,
        timeout=1800,
    )
    wheels = sorted(out.glob("*.whl"))
    names = sorted(w.name.split("-")[0] for w in wheels)
    assert names == ["mattermost_plugin", "mattermost_plugin_api", "mattermost_plugin_host"], names
    return wheels


def test_a_fresh_virtualenv_with_the_three_wheels_runs_a_new_plugins_tests(tmp_path: pathlib.Path) -> None:
    timings: dict[str, float] = {}
    wheels = _build_wheels(tmp_path / "wheels", timings)

    # As a fresh machine would: nothing from the repository's environment leaks in.
    env = {"PATH": SYSTEM_PATH, "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8"}
    assert shutil.which("mm-plugin-host", path=SYSTEM_PATH) is None, "the system has an mm-plugin-host of its own"
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv", timings, env=env, timeout=300)
    python = str(venv / "bin" / "python")
    constraints = tmp_path / "constraints.txt"
    pins = [
        line for line in (ROOT / "tools" / "python-dev.txt").read_text().splitlines() if line.split("==")[0] in PINNED
    ]
    assert len(pins) == len(PINNED), pins
    constraints.write_text("\n".join(pins) + "\n")
    pip_install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(
        [*pip_install, "-c", str(constraints), *map(str, wheels), "pytest"],
        "pip install the wheels",
        timings,
        env=env,
        timeout=900,
    )

    # The packages are the installed ones, and the binary the wheel installed is the one found,
    # even with the virtualenv not activated.
    code = (
        "import mattermost_plugin, mattermost_plugin_api\n"
        "from mattermost_plugin.testing import find_host_binary\n"
        "print(mattermost_plugin.__file__, mattermost_plugin_api.__file__, find_host_binary())\n"
    )
    found = _run([python, "-c", code], "find_host_binary", timings, cwd=tmp_path, env=env, timeout=60).split()
    assert all(path.startswith(str(venv)) for path in found), found
    assert pathlib.Path(found[-1]) == venv / "bin" / "mm-plugin-host"

    work = tmp_path / "work"
    work.mkdir()
    _run([python, "-m", "mattermost_plugin", "new", "demo"], "mattermost_plugin new", timings, cwd=work, env=env)
    demo = work / "demo"

    def edit(name: str) -> None:
        path = demo / name
        text = path.read_text()
        assert text.count("Demo does not let spam through.") == 1, name
        path.write_text(text.replace("Demo does not let spam through.", "No spam in Demo, thanks."))

    active = {**env, "PATH": os.pathsep.join([str(venv / "bin"), SYSTEM_PATH]), "VIRTUAL_ENV": str(venv)}
    pytest = [str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"]

    # The author's edit: a reply of their own. The plugin alone first: its test sees the new reply
    # and fails, so the tests do run this plugin.
    edit("plugin.py")
    began = time.monotonic()
    result = subprocess.run(pytest, capture_output=True, text=True, timeout=600, cwd=demo, env=active)
    timings["the plugin's tests, failing"] = time.monotonic() - began
    assert result.returncode == 1 and "1 failed, 2 passed" in result.stdout, result.stdout + result.stderr
    assert "No spam in Demo, thanks." in result.stdout, result.stdout
    # Then its test: all pass.
    edit("test_plugin.py")
    output = _run(pytest, "the plugin's tests", timings, cwd=demo, env=active, timeout=600)
    assert "3 passed" in output, output
    # The figures, for `pytest -s`.
    print("author path:", ", ".join(f"{what} {seconds:.1f} s" for what, seconds in timings.items()))
    # A debug binary is large (the wheel and the venv's copy): not left for pytest's kept runs.
    shutil.rmtree(venv)
    shutil.rmtree(tmp_path / "wheels")
