"""Hook handlers bounded by their call's deadline (`mattermost_plugin._handlers`), in process: the
write-off of stuck sync handlers and its cap, queued calls that never started, async
cancellation, and a handler's own TimeoutError."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

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


class _SyncServerContext:
    """What `Handlers.run_here` uses of grpc's sync ServicerContext: callbacks run when the call
    ends, and cancel (which ends it)."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []
        self.registered = threading.Event()
        self.cancelled = threading.Event()

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self.callbacks.append(callback)
        self.registered.set()
        return True

    def end(self) -> None:
        for callback in self.callbacks:
            callback()

    def cancel(self) -> None:
        self.cancelled.set()
        self.end()


def _run_here_in_thread(
    handlers: Handlers, fn: Callable[[], object], context: object, limit: float | None
) -> threading.Thread:
    thread = threading.Thread(target=handlers.run_here, args=(fn, {}, context, limit, "MessageWillBePosted", "P.stuck"))
    thread.start()
    return thread


def test_on_the_sync_server_a_call_ending_while_its_handler_runs_writes_the_thread_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handlers = Handlers(capacity=1, max_written_off=1)
    release = threading.Event()
    context = _SyncServerContext()
    with caplog.at_level(logging.WARNING, logger="mattermost_plugin"):
        thread = _run_here_in_thread(handlers, release.wait, context, None)
        assert context.registered.wait(5)
        context.end()  # the host's deadline passed
        assert not handlers.healthy
        # The handler returns at last: its thread counts again.
        release.set()
        thread.join(5)
        assert handlers.healthy
        # A call whose handler has returned writes nothing off when it ends.
        served = _SyncServerContext()
        assert handlers.run_here(lambda: "served", {}, served, None, "OnActivate", "P.ok") == "served"
        served.end()
        assert handlers.healthy
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "P.stuck still running after" in warnings[0], warnings
    assert "is written off (1 of at most 1)" in warnings[0], warnings
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "NOT_SERVING" in errors[0], errors


def test_on_the_sync_server_a_call_without_a_deadline_is_cancelled_at_the_sdks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handlers = Handlers()
    release = threading.Event()
    context = _SyncServerContext()
    with caplog.at_level(logging.WARNING, logger="mattermost_plugin"):
        thread = _run_here_in_thread(handlers, release.wait, context, 0.05)
        assert context.cancelled.wait(5), "the SDK's deadline did not end the call"
        release.set()
        thread.join(5)
        # Ended once, though cancelling it ran its callbacks again.
        quick = _SyncServerContext()
        assert handlers.run_here(lambda: 1, {}, quick, 0.05, "OnActivate", "P.quick") == 1
        time.sleep(0.2)
    assert not quick.cancelled.is_set(), "a call whose handler returned was cancelled"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "P.stuck still running after" in warnings[0], warnings
    assert handlers.healthy
