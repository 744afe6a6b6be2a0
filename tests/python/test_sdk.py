"""`Plugin` and `@hook`: handlers are found by name or explicit hook, and bad signatures fail when
the class is created."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import pathlib

import pytest

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook
from mattermost_plugin.plugin import SettingsError
from mattermost_plugin_api import Hook, models


def test_hooks_are_found_by_method_name_or_explicit_name() -> None:
    with pytest.warns(UserWarning, match="P.on_activate is named like the OnActivate hook"):

        class P(Plugin):
            @hook
            def message_will_be_posted(self, context: models.PluginContext | None, post: models.Post | None) -> None:
                return None

            @hook("ExecuteCommand")
            async def run_command(self, args: models.CommandArgs | None) -> None:
                return None

            @hook(Hook.SERVE_HTTP)
            async def http(self, request: HTTPRequest, response: ResponseWriter) -> None:
                return None

            def on_activate(self) -> None:  # not decorated: not a handler (and warned about)
                return None

    assert P.hooks == {
        Hook.MESSAGE_WILL_BE_POSTED: "message_will_be_posted",
        Hook.EXECUTE_COMMAND: "run_command",
        Hook.SERVE_HTTP: "http",
    }


def test_unknown_parameter_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match=r"unknown parameter 'message'.*context, post"):

        class Bad(Plugin):
            @hook
            def message_will_be_posted(self, message: str) -> None:
                return None


def test_unknown_hook_name_is_refused() -> None:
    with pytest.raises(TypeError, match="not a Mattermost hook"):

        class Bad(Plugin):
            @hook
            def message_was_teleported(self) -> None:
                return None


def test_streaming_handlers_must_be_async() -> None:
    with pytest.raises(TypeError, match="must be `async def`"):

        class Bad(Plugin):
            @hook
            def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
                return None


def test_http_handlers_take_request_and_response() -> None:
    with pytest.raises(TypeError, match="request, response"):

        class Bad(Plugin):
            @hook
            async def serve_http(self, request: HTTPRequest) -> None:
                return None


def test_subclasses_inherit_handlers() -> None:
    class Base(Plugin):
        @hook
        def on_activate(self) -> None:
            return None

    class Child(Base):
        @hook
        def on_deactivate(self) -> None:
            return None

    assert set(Child.hooks) == {Hook.ON_ACTIVATE, Hook.ON_DEACTIVATE}


def test_configuration_fills_a_settings_dataclass() -> None:
    import dataclasses
    import json

    @dataclasses.dataclass
    class Settings:
        greeting: str = "Hello"
        max_items: int = 10
        enabled: bool = False

    class FakeAPI:
        def load_plugin_configuration(self) -> bytes:
            return json.dumps({"Greeting": "Howdy", "MaxItems": 3, "Unknown": True}).encode()

    class P(Plugin):
        settings_class = Settings

    plugin = P()
    plugin.api = FakeAPI()  # type: ignore[assignment]
    assert plugin.load_configuration() == {"Greeting": "Howdy", "MaxItems": 3, "Unknown": True}
    assert plugin.settings == Settings(greeting="Howdy", max_items=3, enabled=False)


@dataclasses.dataclass
class TypedSettings:
    greeting: str = "Hello"
    max_items: int = 10
    ratio: float = 0.5
    channels: list[str] | None = None


def test_settings_of_the_wrong_type_are_named_at_configuration_time() -> None:
    class FakeAPI:
        def __init__(self, configuration: dict[str, object]) -> None:
            self.raw = json.dumps(configuration).encode()

        def load_plugin_configuration(self) -> bytes:
            return self.raw

    class P(Plugin):
        settings_class = TypedSettings

    plugin = P()
    plugin.api = FakeAPI({"MaxItems": 3, "Ratio": 2, "Channels": ["a"]})  # type: ignore[assignment]
    plugin.load_configuration()
    assert plugin.settings == TypedSettings(max_items=3, ratio=2, channels=["a"])
    for configuration, named in [
        ({"MaxItems": "three"}, "setting 'MaxItems' is 'three' (str), but TypedSettings.max_items expects int"),
        ({"Greeting": 5}, "setting 'Greeting' is 5 (int), but TypedSettings.greeting expects str"),
        ({"max_items": True}, "setting 'max_items' is True (bool)"),
        ({"Channels": "a,b"}, "setting 'Channels' is 'a,b' (str)"),
    ]:
        plugin.api = FakeAPI(configuration)  # type: ignore[assignment]
        with pytest.raises(SettingsError) as raised:
            plugin.load_configuration()
        assert named in str(raised.value)


def test_a_settings_class_that_is_not_a_dataclass_fails_at_class_creation() -> None:
    class NotADataclass:
        greeting = "Hello"

    with pytest.raises(TypeError, match=r"settings_class .* must be a dataclass"):

        class P(Plugin):
            settings_class = NotADataclass


def test_a_method_named_like_a_hook_without_the_decorator_warns() -> None:
    with pytest.warns(UserWarning, match=r"Forgetful\.message_will_be_posted is named like the MessageWillBePosted"):

        class Forgetful(Plugin):
            def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
                return post, ""

    with pytest.warns(UserWarning, match="OnActivate hook but is not marked"):

        class GoStyle(Plugin):
            def OnActivate(self) -> None:  # the Go spelling is what is being checked
                pass

    # Marked handlers, under either name, and helpers named otherwise are fine.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Fine(Plugin):
            @hook("MessageWillBePosted")
            def filter_posts(self, post: models.Post) -> tuple[models.Post | None, str]:
                return post, ""

            @hook
            def on_activate(self) -> None:
                pass

            def helper(self) -> None:
                pass


def test_log_records_become_hclog_lines_with_key_values() -> None:
    from mattermost_plugin.server import _HclogFormatter

    logger = logging.getLogger("mattermost_plugin.test")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("synced %d posts", 3, extra={"channel_id": "c1", "when": datetime.date(2026, 1, 2)})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(_HclogFormatter().format(r)) for r in records)
    assert first["@level"] == "warn" and first["@message"] == "synced 3 posts"
    assert first["@module"] == "mattermost_plugin.test"
    assert (first["channel_id"], first["when"]) == ("c1", "2026-01-02")
    assert "args" not in first and "msg" not in first
    assert second["@level"] == "error" and "ValueError: boom" in second["error"]


def test_run_by_hand_the_plugin_says_how_to_run_it_and_touches_nothing(tmp_path: pathlib.Path) -> None:
    import subprocess
    import sys

    (tmp_path / "plugin.py").write_text(
        "from mattermost_plugin import Plugin, hook, run_plugin\n\n\n"
        "class Hand(Plugin):\n"
        "    @hook\n"
        "    def on_activate(self) -> None:\n"
        "        pass\n\n\n"
        "run_plugin(Hand)\n"
        "print('after')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATTERMOST_PLUGIN")}
    result = subprocess.run(
        [sys.executable, str(tmp_path / "plugin.py")], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Hand is a Mattermost plugin" in result.stderr
    assert f"mm-plugin-host run {tmp_path}" in result.stderr
    assert "DevHost" in result.stderr and "cargo xtask bundle" in result.stderr
