"""Every API call is recorded and any unary method can be scripted on the dev host, in typed
values, whether the in-memory server models the method or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook
from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import AsyncPluginAPI, PluginAPI, models
from mattermost_plugin_api.errors import (
    GoError,
    NotFoundError,
    NotImplementedByServerError,
    PluginAPIError,
    TransportError,
)


class Caller(Plugin):
    """Each route makes one API call and answers what came back, or the exception."""

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        api = self.api_async
        user_id = request.header("Mattermost-User-Id") or ""
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "/me": lambda: api.get_user(user_id=user_id),
            "/limits": api.get_cloud_limits,
            "/bundle": api.get_bundle_path,
            "/emoji": lambda: api.get_emoji_image(emoji_id="e" * 26),
            "/search": lambda: api.search_posts_in_team(team_id="t" * 26, params_list=[]),
        }
        try:
            answer = await calls[request.url.split("?")[0]]()
            if isinstance(answer, models.User):
                answer = answer.username
            elif isinstance(answer, models.ProductLimits):
                answer = answer.messages
            elif isinstance(answer, tuple) and answer and isinstance(answer[0], models.Post):
                answer = [p.message for p in answer]
            text = repr(answer)
        except PluginAPIError as e:
            text = f"{type(e).__name__}: {e.message}"
        await response.write(text.encode())


def _get(host: DevHost, route: str) -> str:
    status, body = host.plugin_http("GET", route, as_user="dev.user")
    assert status == 200, body
    return body.decode()


def test_calls_are_recorded_with_typed_arguments_and_results(mm_plugin_host: str) -> None:
    with DevHost.for_class(Caller, binary=mm_plugin_host) as host:
        host.clear_api_calls()
        assert _get(host, "/me") == "'dev.user'"
        assert _get(host, "/limits").startswith("NotImplementedByServerError")

        calls = host.api_calls()
        assert [c.method for c in calls] == ["get_user", "get_cloud_limits"]
        get_user, limits = calls
        assert get_user.go_name == "GetUser" and not get_user.scripted
        assert get_user.plugin_id == host.plugin_id
        assert get_user.args is not None and len(get_user.args["user_id"]) == 26
        assert isinstance(get_user.result, models.User) and get_user.result.username == "dev.user"
        assert get_user.error is None
        # A method nobody models is recorded too, with the exception the plugin saw.
        assert isinstance(limits.error, NotImplementedByServerError) and limits.args == {}

        # One method's calls, by the sync or async client method, its name or its Go name; `after`
        # keeps what came later.
        for ref in (PluginAPI.get_user, AsyncPluginAPI.get_user, "get_user", "GetUser"):
            assert [c.seq for c in host.api_calls(ref)] == [get_user.seq]
        assert [c.method for c in host.api_calls(after=get_user.seq)] == ["get_cloud_limits"]


def test_any_method_answers_what_the_test_scripts(mm_plugin_host: str) -> None:
    with DevHost.for_class(Caller, binary=mm_plugin_host) as host:
        # A result for a method the in-memory server does not model, for every call until cleared.
        host.respond(PluginAPI.get_cloud_limits, models.ProductLimits(messages=models.MessagesLimits(history=7)))
        assert _get(host, "/limits") == _get(host, "/limits") == "MessagesLimits(history=7)"
        host.clear_responses(PluginAPI.get_cloud_limits)
        assert _get(host, "/limits").startswith("NotImplementedByServerError")

        # An error for a modelled method, once; then the model answers again.
        host.respond(PluginAPI.get_user, error=NotFoundError("GetUser", "gone for lunch"), times=1)
        assert _get(host, "/me") == "NotFoundError: gone for lunch"
        assert _get(host, "/me") == "'dev.user'"
        scripted, modelled = host.api_calls(PluginAPI.get_user)[-2:]
        assert scripted.scripted and isinstance(scripted.error, NotFoundError)
        assert scripted.error.status_code == 404 and not modelled.scripted

        # Several results as a tuple; a Go `error` as GoError; failures every method can have.
        host.respond(PluginAPI.get_emoji_image, (b"\x89PNG", "png"))
        assert _get(host, "/emoji") == repr((b"\x89PNG", "png"))
        host.respond(PluginAPI.get_bundle_path, error=GoError("GetBundlePath", "no bundle here"))
        assert _get(host, "/bundle") == "GoError: no bundle here"
        host.respond(PluginAPI.get_bundle_path, error=NotImplementedByServerError("GetBundlePath", "not here"))
        assert _get(host, "/bundle") == "NotImplementedByServerError: not here"
        host.respond(PluginAPI.get_bundle_path, error=TransportError("GetBundlePath", "cable cut"))
        assert _get(host, "/bundle") == "TransportError: cable cut"
        post = models.Post(id="p" * 26, message="found it")
        host.respond("SearchPostsInTeam", (post,))
        assert _get(host, "/search") == "['found it']"

        host.clear_responses()
        assert _get(host, "/bundle").startswith("NotImplementedByServerError")


def test_scripting_mistakes_are_named(mm_plugin_host: str) -> None:
    with DevHost.for_class(Caller, binary=mm_plugin_host) as host:
        with pytest.raises(TypeError, match=r"get_user returns models.User; cannot answer it with 'bob'"):
            host.respond(PluginAPI.get_user, "bob")
        with pytest.raises(ValueError, match=r"'get_usr' is not a PluginAPI method \(did you mean get_user"):
            host.respond("get_usr", None)
        with pytest.raises(ValueError, match="plugin_http streams frames"):
            host.respond(PluginAPI.plugin_http, None)
        with pytest.raises(TypeError, match="get_bundle_path cannot fail with NotFoundError: it can raise a GoError"):
            host.respond(PluginAPI.get_bundle_path, error=NotFoundError("GetBundlePath", "x"))
        with pytest.raises(ValueError, match="`times` must be at least 1"):
            host.respond(PluginAPI.get_user, models.User(), times=0)
        # Nothing was scripted by the failed attempts.
        assert _get(host, "/me") == "'dev.user'"
