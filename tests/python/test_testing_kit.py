"""`mattermost_plugin.testing.DevHost` drives the hello example from pytest in a few lines."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook
from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import models
from mattermost_plugin_api.errors import NotImplementedByServerError, PluginAPIError

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_hello_example_under_the_testing_kit(mm_plugin_host: str, tmp_path: pathlib.Path) -> None:
    for name in ("plugin.json", "plugin.py"):
        shutil.copy(ROOT / "examples" / "hello" / name, tmp_path / name)
    with DevHost(tmp_path, binary=mm_plugin_host, python_env=sys.prefix) as host:
        assert "ExecuteCommand" in host.implemented
        status, post = host.create_post("Hello there")
        assert status == 201 and post["message"] == "Hello there 👋"
        status, rejected = host.create_post("spam spam")
        assert status == 400 and rejected["rejected"] is True
        assert host.set_configuration({"Greeting": "Ahoy"})[0] == 200
        status, response = host.execute_command("/hello Ada")
        assert status == 200 and response["text"] == "Ahoy, Ada! (greeting #1)"
        # Without a name the plugin greets the caller, looked up with GetUser.
        status, response = host.execute_command("/hello")
        assert status == 200 and response["text"] == "Ahoy, dev.user! (greeting #2)"
        status, body = host.plugin_http("GET", "/status")
        assert status == 200 and json.loads(body)["server_version"]
        status, body = host.plugin_http("GET", "/download?size=200000")
        assert status == 200 and len(body) == 200_000
    assert host.stop() == 0


FILE_PLUGIN = """
from collections.abc import AsyncIterator
import dataclasses

from mattermost_plugin import Plugin, UploadWriter, hook, run_plugin
from mattermost_plugin_api import models


class Files(Plugin):
    @hook
    async def file_will_be_uploaded(
        self, info: models.FileInfo | None, file: AsyncIterator[bytes], output: UploadWriter
    ) -> tuple[models.FileInfo | None, str]:
        assert info is not None
        if info.extension == "exe":
            return None, "no executables"
        if info.extension != "txt":
            return info, ""
        chunks = 0
        async for chunk in file:
            chunks += 1
            await output.write(chunk.upper())
        return dataclasses.replace(info, name=f"upper-{chunks}-{info.name}"), ""

    @hook
    def file_will_be_downloaded(self, file_info: models.FileInfo | None, user_id: str) -> str:
        assert file_info is not None and user_id
        return "classified" if file_info.name.startswith("secret") else ""


run_plugin(Files)
"""


def test_file_hooks_end_to_end(mm_plugin_host: str, tmp_path: pathlib.Path) -> None:
    (tmp_path / "plugin.json").write_text(
        json.dumps({"id": "com.example.files", "server": {"runtime": "python", "executable": "plugin.py"}})
    )
    (tmp_path / "plugin.py").write_text(FILE_PLUGIN)
    text = b"abcdefghij" * 30_000  # 300 kB: several 64 KiB frames each way
    with DevHost(tmp_path, binary=mm_plugin_host, python_env=sys.prefix) as host:
        status, info = host.upload_file("notes.txt", text)
        assert status == 201, info
        prefix, chunks, name = info["name"].split("-", 2)
        # Frames hold at most 64 KiB: the file reached the plugin in pieces.
        assert (prefix, name, info["size"]) == ("upper", "notes.txt", len(text)) and int(chunks) >= 5
        status, body = host.download_file(info["id"])
        assert status == 200 and body == text.upper()

        # Not rewritten: the original bytes are stored under the original name.
        status, info = host.upload_file("photo.png", b"\x89PNG raw")
        assert status == 201 and info["name"] == "photo.png" and info["mime_type"] == "image/png"
        assert host.download_file(info["id"]) == (200, b"\x89PNG raw")
        # The plugin answers before the file has arrived (it never reads it): all of it is stored.
        photo = os.urandom(3 << 20)
        status, info = host.upload_file("big.png", photo)
        assert status == 201 and info["size"] == len(photo)
        assert host.download_file(info["id"]) == (200, photo)

        # Past the size limit with no declared length: refused once the limit is crossed.
        url = urllib.parse.urlsplit(host.url)
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
        block = b"\0" * (1 << 20)
        chunks = (block for _ in range(101))
        connection.request("POST", "/api/v4/files?filename=huge.png", body=chunks, encode_chunked=True)
        assert connection.getresponse().status == 413
        connection.close()

        status, rejected = host.upload_file("setup.exe", b"MZ")
        assert status == 400 and rejected == {"rejected": True, "reason": "no executables"}

        status, info = host.upload_file("secret-plans.png", b"...")
        assert status == 201
        status, body = host.download_file(info["id"])
        assert status == 403 and json.loads(body)["reason"] == "classified"


class Shouty(Plugin):
    """Defined at the top of this file: `DevHost.for_class` loads the file in the plugin process."""

    @hook
    def on_activate(self) -> None:
        self.api.register_command(command=models.Command(trigger="shout"))

    @hook
    def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
        assert post is not None
        print("a print in the plugin goes to stderr, never into the handshake")
        return dataclasses.replace(post, message=post.message.upper()), ""

    @hook
    def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
        greeting = self.configuration.get("Greeting", "?")
        return models.CommandResponse(response_type="ephemeral", text=f"{greeting} from {type(self).__name__}")


def test_a_plugin_class_from_the_test_file(mm_plugin_host: str) -> None:
    host = DevHost.for_class(Shouty, manifest={"settings_schema": {"settings": []}}, binary=mm_plugin_host)
    plugin_dir = host.plugin_dir
    with host:
        assert host.plugin_id == "com.example.shouty"
        assert host.create_post("quiet please")[1]["message"] == "QUIET PLEASE"
        assert host.set_configuration({"Greeting": "Hey"})[0] == 200
        assert host.execute_command("/shout")[1]["text"] == "Hey from Shouty"
    assert not plugin_dir.exists()


class Probe(Plugin):
    """Calls methods the dev host does not model, one per Go error shape."""

    @hook
    def on_activate(self) -> None:
        self.api.register_command(command=models.Command(trigger="probe"))

    @hook
    def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
        calls = {
            "DeleteGroup": lambda: self.api.delete_group(group_id="g" * 26),  # *model.AppError
            "GetBundlePath": self.api.get_bundle_path,  # error
            "RolesGrantPermission": lambda: self.api.roles_grant_permission(  # no error
                role_names=["system_user"], permission_id="manage_system"
            ),
        }
        outcomes = []
        for name, call in calls.items():
            try:
                call()
                outcomes.append(f"{name}: answered")
            except NotImplementedByServerError as e:
                outcomes.append(f"{name}: {type(e).__name__} {e.status_code} {e.method}")
            except PluginAPIError as e:
                outcomes.append(f"{name}: {type(e).__name__} {e}")
        return models.CommandResponse(text="\n".join(outcomes))


def test_a_method_the_host_lacks_raises_one_exception_whatever_its_go_error(mm_plugin_host: str) -> None:
    with DevHost.for_class(Probe, binary=mm_plugin_host) as host:
        status, response = host.execute_command("/probe")
    assert status == 200, response
    assert response["text"].splitlines() == [
        "DeleteGroup: NotImplementedByServerError 501 DeleteGroup",
        "GetBundlePath: NotImplementedByServerError 501 GetBundlePath",
        "RolesGrantPermission: NotImplementedByServerError 501 RolesGrantPermission",
    ]


class WrongReturn(Plugin):
    @hook
    def on_activate(self) -> None:
        self.api.register_command(command=models.Command(trigger="wrong"))

    @hook
    def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
        return "done"  # type: ignore[return-value]


def test_a_wrong_return_type_names_the_handler_the_hook_and_the_expected_type(mm_plugin_host: str) -> None:
    with DevHost.for_class(WrongReturn, binary=mm_plugin_host) as host:
        status, response = host.execute_command("/wrong")
    assert status != 200
    assert (
        "WrongReturn.execute_command returned str for ExecuteCommand; the hook expects models.CommandResponse"
        in json.dumps(response)
    ), response


class Chatty(Plugin):
    @hook
    def on_activate(self) -> None:
        self.api.log_warn(msg="disk almost full", key_value_pairs=["free_mb", 12, "volume", "data"])
        self.logger.info("activated by the SDK logger")

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        return self.explode(post), ""

    def explode(self, post: models.Post) -> models.Post:
        raise ValueError(f"cannot take {post.message!r}")


def test_logs_reach_the_console_with_their_level_and_the_logs_route_as_json(
    mm_plugin_host: str, tmp_path: pathlib.Path
) -> None:
    host = DevHost.for_class(Chatty, binary=mm_plugin_host)
    stderr = tmp_path / "host.log"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [host.binary, "run", str(host.plugin_dir), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("listening on"):
                host.url = line.split()[-1].strip()
                break
        try:
            assert host.logs() == [
                {
                    "level": "warn",
                    "plugin_id": "com.example.chatty",
                    "message": "disk almost full",
                    "fields": {"free_mb": 12, "volume": "data"},
                    "at": host.logs()[0]["at"],
                }
            ]
            # As on a server: the failure is logged and the post goes through as sent.
            status, post = host.create_post("hello")
            assert status == 201 and post["message"] == "hello"
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    shutil.rmtree(host.plugin_dir, ignore_errors=True)
    console = stderr.read_text()
    assert "\x1b[" not in console, "colour codes in a file"
    [warn] = [line for line in console.splitlines() if "disk almost full" in line]
    assert "WARN" in warn and "free_mb=12" in warn and 'volume="data"' in warn
    assert any("INFO" in line and "activated by the SDK logger" in line for line in console.splitlines())
    # The handler's exception: the summary names the plugin's frame; the traceback keeps its lines.
    [failed] = [line for line in console.splitlines() if "hook MessageWillBePosted failed" in line]
    assert "ERROR" in failed
    assert "ValueError: cannot take 'hello' (at test_testing_kit.py:" in failed and "in explode)" in failed
    assert '\n  File "' in console and "in explode\n    raise ValueError" in console


@dataclasses.dataclass
class FaithfulSettings:
    greeting: str = "unset"


class Faithful(Plugin):
    settings_class = FaithfulSettings
    settings: FaithfulSettings
    joined = 0
    bob = ""
    quiet = ""

    @hook
    def on_activate(self) -> None:
        bob = models.User(username="bob", email="bob@example.com", password="Password-123!")
        self.bob = self.api.create_user(user=bob).id
        team = self.api.get_team_by_name(name="dev")
        self.api.create_team_member(team_id=team.id, user_id=self.bob)
        quiet = models.Channel(team_id=team.id, name="quiet", display_name="Quiet", type="O")
        self.quiet = self.api.create_channel(channel=quiet).id
        self.api.register_command(command=models.Command(trigger="who"))

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        return models.CommandResponse(
            text=f"{self.settings.greeting} {args.user_id} {self.quiet} {self.joined} {self.bob}"
        )

    @hook
    def user_has_joined_channel(self, channel_member: models.ChannelMember) -> None:
        self.joined += 1

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        await response.write((request.header("Mattermost-User-Id") or "anonymous").encode())


def test_the_dev_host_behaves_as_a_server_where_plugins_depend_on_it(mm_plugin_host: str) -> None:
    manifest = {"settings_schema": {"settings": [{"key": "Greeting", "type": "text", "default": "Howdy"}]}}
    with DevHost.for_class(Faithful, manifest=manifest, binary=mm_plugin_host) as host:
        # The settings' defaults are in the configuration from the start.
        greeting, user_id, channel_id, joined, bob = host.execute_command("/who")[1]["text"].split()
        assert greeting == "Howdy" and joined == "0"
        # Plugin routes: anonymous without a session, the session's user otherwise; a client
        # cannot claim a user with the header itself.
        assert host.plugin_http("GET", "/") == (200, b"anonymous")
        assert host.plugin_http("GET", "/", headers={"Mattermost-User-Id": "forged"}) == (200, b"anonymous")
        assert host.plugin_http("GET", "/", as_user="dev.user") == (200, user_id.encode())
        assert host.plugin_http("GET", "/", as_user=user_id) == (200, user_id.encode())
        # Adding a member fires the hooks once; adding them again is a no-op.
        assert host.add_channel_member(channel_id, bob)[0] == 201
        assert host.add_channel_member(channel_id, bob) == (200, {"channel_id": channel_id, "user_id": bob})
        assert host.execute_command("/who")[1]["text"].split()[3] == "1"
        # Only registered triggers reach ExecuteCommand, matched case-insensitively.
        assert host.execute_command("/WHO")[0] == 200
        status, refused = host.execute_command("/what now")
        assert status == 404 and refused["message"] == "Command with a trigger of '/what' not found.", refused


class SelfConfiguring(Plugin):
    @hook
    def on_activate(self) -> None:
        for trigger in ("show", "save"):
            self.api.register_command(command=models.Command(trigger=trigger))

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        if args.command == "/save":
            self.api.save_plugin_config(config={"Greeting": "Saved"})
        return models.CommandResponse(text=str(self.configuration.get("Greeting")))


def test_save_plugin_config_fires_on_configuration_change(mm_plugin_host: str) -> None:
    with DevHost.for_class(SelfConfiguring, binary=mm_plugin_host) as host:
        assert host.execute_command("/show")[1]["text"] == "None"
        host.execute_command("/save")
        # As on a server, OnConfigurationChange follows the save (here in a task of the host's).
        deadline = time.monotonic() + 10
        while host.execute_command("/show")[1]["text"] != "Saved" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host.execute_command("/show")[1]["text"] == "Saved"


def test_for_class_needs_a_top_level_class() -> None:
    class Local(Plugin):
        pass

    with pytest.raises(ValueError, match="top level"):
        DevHost.for_class(Local, binary="unused")
