"""`Plugin` and `@hook`: handlers are found by name or explicit hook, and bad signatures fail when
the class is created."""

from __future__ import annotations

import datetime
import json
import logging

import pytest

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook
from mattermost_plugin_api import Hook, models


def test_hooks_are_found_by_method_name_or_explicit_name() -> None:
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

        def on_activate(self) -> None:  # not decorated: not a handler
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
