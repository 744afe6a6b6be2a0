"""The subject of the ServeHTTP throughput bench: a plugin written with the SDK that echoes the
request body chunk by chunk, as a plugin author would write it. `raw_http_echo.py` is its baseline.
"""

from __future__ import annotations

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin


class HttpEcho(Plugin):
    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        async for chunk in request.body:
            await response.write(chunk)


if __name__ == "__main__":
    run_plugin(HttpEcho)
