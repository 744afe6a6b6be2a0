"""Mount an ASGI application (Starlette, FastAPI, …) as the plugin's HTTP handler.

The request body reaches the app chunk by chunk as the host streams it, and every
`http.response.body` message the app sends goes out as it is sent, so large bodies stream both ways.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mattermost_plugin.http import HTTPRequest, ResponseWriter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


async def serve_asgi(app: ASGIApp, request: HTTPRequest, response: ResponseWriter, *, root_path: str = "") -> None:
    """Runs one HTTP exchange through `app`."""
    # Imported here: urllib.parse costs every plugin's cold start, and most never mount an app.
    from urllib.parse import unquote

    path, _, query = request.url.partition("?")
    host, _, port = request.remote_addr.rpartition(":")
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method.upper(),
        "scheme": "http",
        "path": unquote(path) or "/",
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": root_path,
        "headers": [(k.lower().encode(), v.encode()) for k, values in request.headers.items() for v in values],
        "client": (host, int(port)) if port.isdigit() else None,
        "server": None,
    }
    body = request.body.__aiter__()
    body_done = False

    async def receive() -> Message:
        nonlocal body_done
        if body_done:
            return {"type": "http.disconnect"}
        try:
            chunk = await body.__anext__()
        except StopAsyncIteration:
            body_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        kind = message.get("type")
        if kind == "http.response.start":
            response.status = int(message.get("status", 200))
            for name, value in message.get("headers", []):
                response.headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        elif kind == "http.response.body":
            data = bytes(message.get("body", b""))
            if data:
                await response.write(data)
            elif message.get("more_body", False):
                await response.flush()

    await app(scope, receive, send)
