"""Hello: a small Mattermost plugin in Python.

- OnActivate: creates a bot and registers the /hello slash command;
- MessageWillBePosted: rejects messages containing "spam", tags the rest;
- ExecuteCommand: /hello [name] answers with the configured greeting (to the caller's username when no
  name is given) and counts calls in the KV store;
- ServeHTTP: GET /status (JSON), GET /download?size=N (a streamed download), POST /echo (streams back).
"""

from __future__ import annotations

import dataclasses
import json

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
from mattermost_plugin_api import models
from mattermost_plugin_api.enums import CommandResponseType


class Hello(Plugin):
    bot_id = ""

    @hook
    def on_activate(self) -> None:
        self.bot_id = self.api.ensure_bot_user(bot=models.Bot(username="hello-bot", display_name="Hello Bot"))
        self.api.register_command(
            command=models.Command(trigger="hello", auto_complete=True, auto_complete_desc="Say hello")
        )
        self.logger.info("hello plugin activated, bot %s", self.bot_id)

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        if "spam" in post.message.lower():
            return None, "Hello does not let spam through."
        return dataclasses.replace(post, message=f"{post.message} 👋"), ""

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        words = args.command.split(maxsplit=1)[1:]
        # GetUser returns a user or raises: no None to rule out first.
        name = words[0] if words else self.api.get_user(user_id=args.user_id).username
        count = int(self.api.kv_get(key="greetings") or b"0") + 1
        self.api.kv_set(key="greetings", value=str(count).encode())
        greeting = self.configuration.get("Greeting", "Hello")
        text = f"{greeting}, {name}! (greeting #{count})"
        return models.CommandResponse(response_type=CommandResponseType.EPHEMERAL, text=text)

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        path, _, query = request.url.partition("?")
        if path == "/status":
            version = await self.api_async.get_server_version()
            response.headers["Content-Type"] = ["application/json"]
            await response.write(json.dumps({"bot_id": self.bot_id, "server_version": version}).encode())
        elif path == "/download":
            size = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("size", "1048576"))
            response.headers["Content-Type"] = ["application/octet-stream"]
            block = b"x" * 65536
            while size > 0:
                await response.write(block[: min(size, len(block))])
                size -= len(block)
        elif path == "/echo":
            async for chunk in request.body:
                await response.write(chunk)
        else:
            response.status = 404
            await response.write(b"not found\n")


if __name__ == "__main__":
    run_plugin(Hello)
