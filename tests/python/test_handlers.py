"""Hook handlers bounded by their call's deadline (`mattermost_plugin._handlers`), in process: the
write-off of stuck sync handlers and its cap, queued calls that never started, async
cancellation, and a handler's own TimeoutError."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from mattermost_plugin._handlers import Handlers, Overran


def test_stuck_sync_handlers_are_written_off_up_to_the_cap_then_unhealthy(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    handlers = Handlers(capacity=1, max_written_off=2)

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(Overran):
                await handlers.run_sync(release.wait, {}, 0.05, "MessageWillBePosted", "P.stuck")
        assert not handlers.healthy
        # Both threads are written off, so the one counted thread left serves the next call.
        assert await handlers.run_sync(lambda: "served", {}, 5, "OnActivate", "P.ok") == "served"
        # At the cap a third overrun keeps its thread: the pool is full until something returns.
        with pytest.raises(Overran):
            await handlers.run_sync(release.wait, {}, 0.05, "MessageWillBePosted", "P.stuck")
        with pytest.raises(Overran):
            await handlers.run_sync(lambda: "late", {}, 0.05, "OnActivate", "P.queued")

    with caplog.at_level(logging.WARNING, logger="mattermost_plugin"):
        asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("P.stuck still running after" in w and "is written off (" in w for w in warnings) == 2, warnings
    assert any("P.stuck still running after" in w and "stays in use" in w for w in warnings), warnings
    assert any("P.queued did not start" in w for w in warnings), warnings
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "NOT_SERVING" in errors[0], errors

    # The stuck handlers return at last: their threads retire and the plugin is healthy again.
    release.set()
    deadline = time.monotonic() + 5
    while not handlers.healthy:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_async_handlers_are_cancelled_at_their_deadline(caplog: pytest.LogCaptureFixture) -> None:
    cancelled = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def scenario() -> None:
        with pytest.raises(Overran):
            await Handlers().run_async(forever, {}, 0.05, "ExecuteCommand", "P.forever")

    with caplog.at_level(logging.WARNING, logger="mattermost_plugin"):
        asyncio.run(scenario())
    assert cancelled == [True]
    assert any("hook ExecuteCommand: handler P.forever still running after" in r.getMessage() for r in caplog.records)


def test_a_handlers_own_timeout_error_is_not_an_overrun(caplog: pytest.LogCaptureFixture) -> None:
    def sync_fails() -> None:
        raise TimeoutError("the handler's own")

    async def async_fails() -> None:
        raise TimeoutError("the handler's own")

    async def scenario() -> None:
        handlers = Handlers()
        with pytest.raises(TimeoutError, match="the handler's own"):
            await handlers.run_sync(sync_fails, {}, 5, "OnActivate", "P.sync_fails")
        with pytest.raises(TimeoutError, match="the handler's own"):
            await handlers.run_async(async_fails, {}, 5, "OnActivate", "P.async_fails")

    with caplog.at_level(logging.WARNING, logger="mattermost_plugin"):
        asyncio.run(scenario())
    assert not caplog.records


def test_sync_handlers_see_their_arguments_and_the_callers_context_variables() -> None:
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    def handler(post: str) -> tuple[str, str, str]:
        return post, request_id.get(), threading.current_thread().name

    async def scenario() -> tuple[str, str, str]:
        request_id.set("r1")
        result: tuple[str, str, str] = await Handlers().run_sync(handler, {"post": "p"}, 5, "H", "P.handler")
        return result

    post, seen, thread = asyncio.run(scenario())
    assert (post, seen) == ("p", "r1")
    assert thread.startswith("mm-plugin-handler-")
