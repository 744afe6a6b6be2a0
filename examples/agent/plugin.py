"""AI Agent: two bots, one per provider (an OpenAI-compatible server, Anthropic), that answer a
direct message or an @-mention in its thread.

- The thread is the conversation: its posts become the model's message history.
- Tools come from the MCP servers in the settings (stdio commands, streamable HTTP or SSE URLs).
- Hooks return at once: each answer runs as a task of its own and streams into a reply post.
- A bot without its API key answers with how to configure it; an unreachable MCP server is
  logged and the bots answer without its tools; transient provider errors are retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from langchain_core.tools import BaseTool

from mattermost_plugin import Plugin, hook, run_plugin
from mattermost_plugin_api import models
from mattermost_plugin_api.errors import NotFoundError, PluginAPIError
from mm_agent.history import ThreadPost, thread_to_messages
from mm_agent.loop import run_agent
from mm_agent.providers import NotConfigured, Provider, bot_identity, make_chat_model
from mm_agent.replies import StreamedReply
from mm_agent.retry import GaveUp, RetryPolicy, describe_error
from mm_agent.settings import AgentSettings
from mm_agent.tools import McpToolbox, parse_mcp_servers

# How long an answer waits for the MCP tools still loading (after a start or a settings change).
TOOLS_WAIT = 15.0

# The HTTP clients under the model libraries log every request at INFO: noise in a server's log.
for _noisy in ("httpx", "httpx2", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


class Agent(Plugin):
    settings_class = AgentSettings
    settings: AgentSettings

    def __init__(self) -> None:
        super().__init__()
        self.bots: dict[Provider, str] = {}
        self._usernames: dict[str, str] = {}
        self._answers: set[asyncio.Task[None]] = set()
        self._toolbox: McpToolbox | None = None
        self._tools: list[BaseTool] = []
        self._tools_loading: asyncio.Task[None] | None = None

    @hook
    async def on_activate(self) -> None:
        for provider in Provider:
            self.bots[provider] = await self._bot(provider)
        self._reload_tools()
        self.logger.info("agent bots ready: %s", ", ".join(bot_identity(p)[0] for p in self.bots))

    async def _bot(self, provider: Provider) -> str:
        """The user id of `provider`'s bot, created on first activation. Not EnsureBotUser: a
        server keeps one bot per plugin for it, so a second call would rename the first bot."""
        identity = bot_identity(provider)
        try:
            user = await self.api_async.get_user_by_username(name=identity.username)
        except NotFoundError:
            bot = models.Bot(
                username=identity.username, display_name=identity.display_name, description=identity.description
            )
            return (await self.api_async.create_bot(bot=bot)).user_id
        if not user.is_bot:
            raise RuntimeError(f"@{identity.username} is a person's account, not this plugin's bot: rename it")
        if user.delete_at:
            await self.api_async.update_bot_active(bot_user_id=user.id, active=True)
        return user.id

    @hook
    async def on_configuration_change(self) -> None:
        # The SDK has read the new settings; the models are made per answer from them. Before
        # activation OnActivate loads the tools.
        if self.bots:
            self._reload_tools()

    @hook
    async def on_deactivate(self) -> None:
        for task in self._answers:
            task.cancel()
        await asyncio.gather(*self._answers, return_exceptions=True)
        if self._tools_loading is not None:
            self._tools_loading.cancel()
        if self._toolbox is not None:
            await self._toolbox.aclose()

    @hook
    async def message_has_been_posted(self, post: models.Post) -> None:
        for provider in await self._addressed(post):
            self._spawn(self._answer(provider, post))

    # --- Who is asked -----------------------------------------------------------------------

    async def _addressed(self, post: models.Post) -> list[Provider]:
        """The bots a post asks: the bot of a direct-message channel, or the bots @-mentioned.
        Never for a bot's post — ours or another plugin's — so bots cannot answer each other
        forever."""
        if post.user_id in self.bots.values() or post.type or not post.message.strip():
            return []
        try:
            author = await self.api_async.get_user(user_id=post.user_id)
            if author.is_bot:
                return []
            channel = await self.api_async.get_channel(channel_id=post.channel_id)
        except PluginAPIError as e:
            self.logger.warning("cannot tell whom post %s asks: %s", post.id, e)
            return []
        if channel.type == "D":
            members = channel.name.split("__")
            return [p for p, bot_id in self.bots.items() if bot_id in members]
        text = post.message.lower()
        return [p for p in self.bots if f"@{bot_identity(p)[0]}" in text]

    # --- Answering --------------------------------------------------------------------------

    def _spawn(self, answer: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(answer)
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _answer(self, provider: Provider, post: models.Post) -> None:
        bot_id = self.bots[provider]
        root_id = post.root_id or post.id
        reply = StreamedReply(self.api_async, channel_id=post.channel_id, root_id=root_id, bot_id=bot_id)
        try:
            await reply.start()
            settings = self.settings
            try:
                model = make_chat_model(provider, settings)
            except NotConfigured as e:
                await reply.finish(str(e))
                return
            messages = await self._history(root_id, provider, skip=reply.post_id, prompt=settings.prompt())
            if self._tools_loading is not None and not self._tools_loading.done():
                await asyncio.wait({self._tools_loading}, timeout=TOOLS_WAIT)
            result = await run_agent(
                model,
                self._tools,
                messages,
                max_iterations=settings.iterations(),
                events=reply,
                retry=RetryPolicy(),
            )
            await reply.finish(result.text)
        except asyncio.CancelledError:
            await asyncio.shield(_quietly(reply.finish("_(stopped: the plugin is shutting down)_")))
            raise
        except GaveUp as e:
            self.logger.warning("%s gave up after %d tries: %s", provider.value, e.attempts, e.last)
            tries = f"after {e.attempts} tries ({describe_error(e.last)})"
            await _quietly(
                reply.finish(f"Sorry, I could not get an answer from the model {tries}. Please try again soon.")
            )
        except Exception as e:
            self.logger.exception("answering post %s with %s failed", post.id, provider.value)
            text = f"Sorry, something went wrong ({describe_error(e)}). The details are in the server log."
            await _quietly(reply.finish(text))

    async def _history(self, root_id: str, provider: Provider, *, skip: str, prompt: str) -> list[Any]:
        thread = await self.api_async.get_post_thread(post_id=root_id)
        posts = [p for p in thread.posts.values() if p.id != skip and not p.type and p.delete_at == 0]
        return thread_to_messages(
            [
                ThreadPost(
                    id=p.id,
                    user_id=p.user_id,
                    username=await self._username(p.user_id),
                    message=p.message,
                    create_at=p.create_at,
                )
                for p in sorted(posts, key=lambda p: p.create_at)
            ],
            bot_user_id=self.bots[provider],
            bot_username=bot_identity(provider).username,
            system_prompt=prompt,
            other_bot_ids=[b for p, b in self.bots.items() if p is not provider],
        )

    async def _username(self, user_id: str) -> str:
        if user_id not in self._usernames:
            try:
                self._usernames[user_id] = (await self.api_async.get_user(user_id=user_id)).username
            except PluginAPIError:
                return "someone"
        return self._usernames[user_id]

    # --- Tools ------------------------------------------------------------------------------

    def _reload_tools(self) -> None:
        """Connects to the MCP servers the settings name, in the background, replacing the old
        ones; a bad setting is logged and the bots go on without tools."""
        old = self._toolbox
        try:
            configs = parse_mcp_servers(self.settings.mcp_servers)
        except ValueError as e:
            self.logger.error("the MCPServers setting is not usable, answering without tools: %s", e)
            configs = []
        self._toolbox = McpToolbox(configs, logger=self.logger) if configs else None
        self._tools = []
        if self._tools_loading is not None:
            self._tools_loading.cancel()
        self._tools_loading = asyncio.create_task(self._load_tools(self._toolbox, old))

    async def _load_tools(self, toolbox: McpToolbox | None, old: McpToolbox | None) -> None:
        if old is not None:
            await old.aclose()
        if toolbox is None:
            return
        loaded = await toolbox.load()
        if toolbox is self._toolbox:
            self._tools = loaded.tools
            self.logger.info(
                "MCP tools: %s%s",
                ", ".join(t.name for t in loaded.tools) or "none",
                f" (unreachable: {', '.join(loaded.failures)})" if loaded.failures else "",
            )


async def _quietly(finishing: Coroutine[Any, Any, None]) -> None:
    """Ends a reply when the plugin may be going away: a failure to update is not worth raising."""
    try:
        await finishing
    except Exception as e:
        logging.getLogger("mattermost_plugin.Agent").warning("could not write the reply's last update: %s", e)


if __name__ == "__main__":
    run_plugin(Agent)
