"""The streamed reply post: created at once, updated at a bounded rate, always finalised."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from fakes import bounded

from mattermost_plugin_api import AsyncPluginAPI, models
from mm_agent.replies import CURSOR, PLACEHOLDER, StreamedReply


class FakeApi:
    """The two calls a reply makes, recorded."""

    def __init__(self) -> None:
        self.created: list[models.Post] = []
        self.updated: list[str] = []

    async def create_post(self, *, post: models.Post) -> models.Post:
        self.created.append(post)
        return dataclasses.replace(post, id="p" * 26)

    async def update_post(self, *, post: models.Post) -> models.Post:
        self.updated.append(post.message)
        await asyncio.sleep(0)
        return post


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _reply(api: FakeApi, clock: Clock, interval: float = 0.5) -> StreamedReply:
    typed: Any = api  # the reply only uses create_post and update_post
    fake_api: AsyncPluginAPI = typed
    return StreamedReply(
        fake_api, channel_id="c" * 26, root_id="r" * 26, bot_id="b" * 26, min_interval=interval, clock=clock
    )


@bounded
async def test_the_post_appears_at_once_in_the_thread() -> None:
    api, clock = FakeApi(), Clock()
    reply = _reply(api, clock)
    await reply.start()
    (post,) = api.created
    assert (post.message, post.root_id, post.user_id) == (PLACEHOLDER, "r" * 26, "b" * 26)
    assert reply.post_id == "p" * 26 and api.updated == []


@bounded
async def test_updates_are_bounded_and_the_final_text_always_lands() -> None:
    api, clock = FakeApi(), Clock()
    reply = _reply(api, clock, interval=0.5)
    await reply.start()
    # 100 tokens within 0.1 s of clock time: one update goes out at once, the rest wait.
    for i in range(100):
        clock.now = i * 0.001
        await reply.text(f"w{i} ")
    assert len(api.updated) == 1 and api.updated[0] == "w0 " + CURSOR
    # The flush scheduled for the end of the interval sends what arrived meanwhile.
    clock.now = 0.6
    await asyncio.sleep(0.6)
    assert len(api.updated) == 2 and api.updated[1].endswith("w99 " + CURSOR)
    await reply.finish("the whole answer")
    assert api.updated[-1] == "the whole answer" and reply.updates == len(api.updated) == 3


@bounded
async def test_a_status_line_shows_above_the_text_and_a_reset_drops_the_text() -> None:
    api, clock = FakeApi(), Clock()
    reply = _reply(api, clock, interval=0.0)
    await reply.start()
    await reply.text("partial")
    await reply.status("🔧 Calling `add`…")
    assert api.updated[-1] == "_🔧 Calling `add`…_\n\npartial" + CURSOR
    await reply.reset()
    assert api.updated[-1] == "_🔧 Calling `add`…_\n\n" + PLACEHOLDER
    await reply.finish("   ")
    assert api.updated[-1] == "_(no answer)_"
