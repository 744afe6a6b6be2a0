"""An ASGI application mounted as the plugin's HTTP handler: status, multi-value headers, and a
body streamed in both directions chunk by chunk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, serve_asgi


async def echo_app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    assert scope["type"] == "http"
    assert (scope["method"], scope["path"], scope["query_string"]) == ("POST", "/items/é", b"x=1")
    assert scope["client"] == ("127.0.0.1", 5555)
    tags = [v for k, v in scope["headers"] if k == b"x-tag"]
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"x-path", scope["raw_path"]),
                (b"x-multi", b"a"),
                (b"x-multi", b"b"),
                (b"x-tags", str(len(tags)).encode()),
            ],
        }
    )
    while True:
        message = await receive()
        await send({"type": "http.response.body", "body": message.get("body", b"").upper(), "more_body": True})
        if not message.get("more_body"):
            break
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_asgi_app_streams_through_the_writer() -> None:
    async def scenario() -> tuple[ResponseWriter, list[bytes]]:
        request = HTTPRequest(
            method="post",
            url="/items/%C3%A9?x=1",
            headers={"X-Tag": ["one", "two"]},
            body=_chunks([b"abc", b"def"]),
            remote_addr="127.0.0.1:5555",
        )
        writer = ResponseWriter()
        written: list[bytes] = []

        async def drain() -> None:
            while (frame := await writer._queue.get()) is not None:
                if frame.chunk:
                    written.append(frame.chunk)

        drainer = asyncio.create_task(drain())
        await serve_asgi(echo_app, request, writer)
        await writer._finish()
        await drainer
        return writer, written

    writer, written = asyncio.run(scenario())
    assert writer.status == 201
    assert writer.headers["x-multi"] == ["a", "b"]
    assert writer.headers["x-path"] == ["/items/%C3%A9"]
    assert writer.headers["x-tags"] == ["2"]
    assert written == [b"ABC", b"DEF"], "each request chunk went out as its own response chunk"


def test_a_plugin_can_declare_an_asgi_app_without_a_serve_http_handler() -> None:
    class WithApp(Plugin):
        asgi_app = echo_app

    assert WithApp.asgi_app is echo_app
    assert WithApp.hooks == {}
