"""A bot's reply that streams in: one post, created at once and updated as the answer grows.

Updates are bounded (one per `min_interval`, at most one in flight), so a fast model does not
flood the server with UpdatePost calls; what arrives between two updates is sent by the next one,
or by a flush scheduled for the end of the interval, and `finish` always writes the final text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

from mattermost_plugin_api import AsyncPluginAPI, models

PLACEHOLDER = "_Thinking…_"
CURSOR = " ▌"


class StreamedReply:
    """The reply post of one bot turn; also the agent loop's `AgentEvents`."""

    def __init__(
        self,
        api: AsyncPluginAPI,
        *,
        channel_id: str,
        root_id: str,
        bot_id: str,
        min_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._draft = models.Post(channel_id=channel_id, root_id=root_id, user_id=bot_id, message=PLACEHOLDER)
        self._post: models.Post | None = None
        self._min_interval = min_interval
        self._clock = clock
        self._text = ""
        self._status = ""
        self._last_update = float("-inf")
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        self.updates = 0
        """UpdatePost calls made, the final one included."""

    @property
    def post_id(self) -> str:
        return self._post.id if self._post is not None else ""

    async def start(self) -> None:
        """Creates the post, so the user sees at once that the bot is on it."""
        self._post = await self._api.create_post(post=self._draft)

    # --- AgentEvents ------------------------------------------------------------------------

    async def text(self, delta: str) -> None:
        self._text += delta
        await self._changed()

    async def status(self, line: str) -> None:
        self._status = line
        await self._changed()

    async def reset(self) -> None:
        self._text = ""
        await self._changed()

    # --- Ending -----------------------------------------------------------------------------

    async def finish(self, text: str) -> None:
        """The final answer, without cursor or status line."""
        if self._pending is not None:
            self._pending.cancel()
        await self._write(text.strip() or "_(no answer)_")

    # --- Internals --------------------------------------------------------------------------

    def _rendered(self) -> str:
        body = self._text + CURSOR if self._text else PLACEHOLDER
        return f"_{self._status}_\n\n{body}" if self._status else body

    async def _changed(self) -> None:
        wait = self._last_update + self._min_interval - self._clock()
        if wait <= 0 and not self._lock.locked():
            await self._write(self._rendered())
        elif self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._flush_after(max(wait, 0.0)))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._write(self._rendered())

    async def _write(self, message: str) -> None:
        async with self._lock:
            if self._post is None:
                await self.start()
            assert self._post is not None
            if message == self._post.message:
                return
            self._post = await self._api.update_post(post=dataclasses.replace(self._post, message=message))
            self._last_update = self._clock()
            self.updates += 1
