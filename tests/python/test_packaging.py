"""Both packages build as wheels that carry everything (typing marker, every model module, protobuf
stubs) and work when installed normally, not just as the editable installs the checks use."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = {"mattermost_plugin_api": ROOT / "generated" / "python", "mattermost_plugin": ROOT / "sdk" / "python"}


def _build(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    out = tmp_path / "wheels"
    for source in PACKAGES.values():
        pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        subprocess.run([*pip_wheel, "-w", str(out), str(source)], check=True)
    wheels = {w.name.split("-")[0]: w for w in out.glob("*.whl")}
    assert set(wheels) == set(PACKAGES), wheels
    return wheels


def test_wheels_carry_every_module_and_install_normally(tmp_path: pathlib.Path) -> None:
    wheels = _build(tmp_path)

    with zipfile.ZipFile(wheels["mattermost_plugin_api"]) as api:
        names = set(api.namelist())
        metadata = api.read(next(n for n in names if n.endswith("METADATA"))).decode()
    source = PACKAGES["mattermost_plugin_api"] / "src"
    expected = {
        p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected <= names, sorted(expected - names)
    assert {"mattermost_plugin_api/py.typed", "mattermost_plugin_api/models/_post.py"} <= names
    assert "Requires-Python: >=3.10" in metadata

    with zipfile.ZipFile(wheels["mattermost_plugin"]) as sdk:
        assert "mattermost_plugin/py.typed" in sdk.namelist()
        assert "mattermost_plugin/testing.py" in sdk.namelist()

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), *map(str, wheels.values())],
        check=True,
    )
    # The installed copies must win over the editable sources; the venv still provides grpcio and
    # protobuf.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import mattermost_plugin, mattermost_plugin_api\n"
        "from mattermost_plugin_api import models\n"
        "assert mattermost_plugin_api.__file__.startswith(sys.argv[1]), mattermost_plugin_api.__file__\n"
        "assert mattermost_plugin.__file__.startswith(sys.argv[1]), mattermost_plugin.__file__\n"
        "post = models.Post.from_proto(models.Post(message='hi').to_proto())\n"
        "assert post.message == 'hi' and len(models.MODELS) > 150\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", code, str(site)], check=True, env=env)
