"""What a plugin's start does not pay for (the cold start bench measures the time; these keep the
deferrals from being undone): message classes are built at first use, and the SDK imports neither
HTTP, KV nor JSON helpers, nor creates API clients, until a plugin uses them."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_message_classes_are_built_at_first_use_as_protoc_builds_them() -> None:
    built = _run(
        """
        from mattermost_plugin_api._pb import api_pb2
        before = "GetUserRequest" in vars(api_pb2)
        request = api_pb2.GetUserRequest(user_id="u1")
        print(before, "GetUserRequest" in vars(api_pb2), type(request).__module__, type(request).__qualname__)
        """
    )
    assert built == "False True mattermost_plugin_api._pb.api_pb2 GetUserRequest"

    from mattermost_plugin_api._pb import api_pb2, model_pb2

    request = api_pb2.GetUserRequest(user_id="u1")
    assert pickle.loads(pickle.dumps(request)) == request
    assert api_pb2.GetUserRequest is type(request)
    # A map field's entry type is nested in its message, as protoc has it.
    post = model_pb2.Post(id="p1")
    assert type(post).__qualname__ == "Post"
    with pytest.raises(AttributeError, match="no attribute 'NoSuchMessage'"):
        api_pb2.NoSuchMessage  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_sdk_loads_only_what_every_plugin_needs() -> None:
    loaded = _run(
        """
        import sys
        import mattermost_plugin
        deferred = ["json", "uuid", "mattermost_plugin.http", "mattermost_plugin.asgi", "mattermost_plugin.kv",
                    "grpc._channel"]
        print(sorted(m for m in deferred if m in sys.modules))
        from mattermost_plugin import HTTPRequest, KVStore, new_id
        print(HTTPRequest.__module__, KVStore.__module__, len(new_id()))
        """
    )
    assert loaded.splitlines() == ["[]", "mattermost_plugin.http mattermost_plugin.kv 26"]


def test_a_plugins_api_clients_exist_only_under_a_host_and_once_used() -> None:
    from mattermost_plugin import Plugin

    class Quiet(Plugin):
        pass

    plugin = Quiet()
    with pytest.raises(RuntimeError, match="once a host runs the plugin"):
        plugin.api  # noqa: B018
    plugin._api_address = ("unix:///nonexistent/api.sock", "token")
    assert plugin._api is None and plugin._api_async is None
    api = plugin.api
    assert plugin.api is api and plugin._api_async is None
    api.close()
