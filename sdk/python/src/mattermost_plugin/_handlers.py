"""Hook handlers bounded by their call's deadline.

Under the asyncio server, sync handlers run on threads of the plugin's own, not on the default
executor: a handler still running when its call's deadline passes is *written off*, meaning its
thread no longer counts against the pool's capacity, so a replacement serves the next hooks while
the stuck one finishes (or never does). Written-off threads are capped; at the cap the plugin
reports NOT_SERVING so the host's health checks restart it. Async handlers are cancelled at the
deadline.

Under grpc's sync server (a plugin whose handlers are all sync), a handler runs on the server's
pool thread that took the call (`run_here`); that pool is `capacity + max_written_off` threads, so
the written-off ones leave `capacity` for the rest, with the same cap and NOT_SERVING.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import heapq
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

_log = logging.getLogger("mattermost_plugin")

# A call without a deadline of its own (from a host that sends none) gets this long.
DEFAULT_DEADLINE = 30.0
# Written-off threads allowed at once; each may hold memory and locks for good.
MAX_WRITTEN_OFF = 16

_QUEUED, _RUNNING, _DONE, _DROPPED = range(4)


def default_capacity() -> int:
    """The default executor's size, what sync handlers shared before they had threads of their own."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return min(32, (count or 1) + 4)


class Overran(Exception):
    """The handler was still running at its call's deadline (already logged)."""


class _Expired(Exception):
    pass


if sys.version_info >= (3, 11):

    async def _within(call: Awaitable[Any], limit: float) -> Any:
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await call
        except TimeoutError:
            # The handler's own TimeoutError is its business, not an overrun.
            if deadline.expired():
                raise _Expired from None
            raise

else:

    async def _within(call: Awaitable[Any], limit: float) -> Any:
        try:
            return await asyncio.wait_for(call, limit)
        except asyncio.TimeoutError:
            raise _Expired from None


class _Job:
    __slots__ = ("context", "fn", "future", "kwargs", "loop", "state", "written_off")

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.fn = fn
        self.kwargs = kwargs
        # Like asyncio.to_thread: the handler sees the caller's context variables.
        self.context = contextvars.copy_context()
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.state = _QUEUED
        self.written_off = False


class _Worker:
    """A thread's mailbox: `wake` is released when a job has been handed to it."""

    __slots__ = ("job", "wake")

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.wake = threading.Lock()
        self.wake.acquire()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the call gave up on it
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _Here:
    """A sync handler running on a pool thread of grpc's sync server."""

    __slots__ = ("context", "done", "ended", "handler", "hook", "started", "written_off")

    def __init__(self, context: Any, hook: str, handler: str) -> None:
        self.context = context
        self.hook = hook
        self.handler = handler
        self.started = time.monotonic()
        self.done = False
        self.ended = False
        self.written_off = False


class _Watchdog:
    """Ends calls that came without a deadline once the SDK's own has passed: one thread for all,
    started by the first such call (hosts of this project always send a deadline)."""

    def __init__(self, expire: Callable[[_Here], None]) -> None:
        self._expire = expire
        self._due: list[tuple[float, int, _Here]] = []
        self._count = 0
        self._wake = threading.Condition()
        threading.Thread(target=self._run, name="mm-plugin-deadlines", daemon=True).start()

    def add(self, at: float, call: _Here) -> None:
        with self._wake:
            self._count += 1
            heapq.heappush(self._due, (at, self._count, call))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, call = heapq.heappop(self._due)
            if not call.done:
                self._expire(call)


class Handlers:
    """Runs hook handlers within their deadlines; sync ones on at most `capacity` counted threads.

    `limit` is how long a call without a deadline of its own may take; None for a call with one:
    grpc cancels such a call, and with it the handler's task, when its deadline passes, so no
    timer of ours is needed (hooks are benchmarked; the timer would cost every async hook).
    """

    def __init__(self, capacity: int | None = None, max_written_off: int = MAX_WRITTEN_OFF) -> None:
        self.capacity = capacity or default_capacity()
        self.max_written_off = max_written_off
        # Set once the plugin stops: calls cut short then are not overruns.
        self.stopping = False
        self._lock = threading.Lock()
        self._queue: collections.deque[_Job] = collections.deque()
        self._idle: list[_Worker] = []
        self._counted = 0
        self._written_off = 0
        self._started = 0
        self._watchdog: _Watchdog | None = None

    @property
    def healthy(self) -> bool:
        """False while the cap of written-off threads is reached."""
        return self._written_off < self.max_written_off

    async def run_async(
        self, fn: Callable[..., Awaitable[Any]], kwargs: dict[str, Any], limit: float | None, hook: str, handler: str
    ) -> Any:
        started = time.monotonic()
        try:
            if limit is None:
                return await fn(**kwargs)
            return await _within(fn(**kwargs), limit)
        except _Expired:
            self._warn(hook, handler, started, "it was cancelled")
            raise Overran from None
        except asyncio.CancelledError:
            # The host gave up on the call (its deadline, or its own timeout).
            self._warn(hook, handler, started, "it was cancelled")
            raise

    async def run_sync(
        self, fn: Callable[..., Any], kwargs: dict[str, Any], limit: float | None, hook: str, handler: str
    ) -> Any:
        job = _Job(fn, kwargs, asyncio.get_running_loop())
        self._submit(job)
        started = time.monotonic()
        try:
            if limit is None:
                return await job.future
            done, _ = await asyncio.wait((job.future,), timeout=limit)
        except asyncio.CancelledError:
            self._overran(job, hook, handler, started)
            raise
        if not done:
            self._overran(job, hook, handler, started)
            raise Overran
        return job.future.result()

    def run_here(
        self, fn: Callable[..., Any], kwargs: dict[str, Any], context: Any, limit: float | None, hook: str, handler: str
    ) -> Any:
        """Runs a sync handler on the calling thread, one of grpc's sync server's pool.

        `context` is the call's grpc.ServicerContext: when the call ends (its deadline, the host
        cancelling it) while the handler still runs, the thread is written off. A call without a
        deadline of its own (`limit` set) is cancelled when the SDK's passes."""
        call = _Here(context, hook, handler)
        context.add_callback(lambda: self._ended(call))
        if limit is not None:
            if self._watchdog is None:
                with self._lock:
                    if self._watchdog is None:
                        self._watchdog = _Watchdog(self._expired)
            self._watchdog.add(call.started + limit, call)
        try:
            return fn(**kwargs)
        finally:
            with self._lock:
                call.done = True
                if call.written_off:
                    self._written_off -= 1

    def _expired(self, call: _Here) -> None:
        """The SDK's deadline passed on a call without one of its own: cancel it (the host gets
        CANCELLED rather than nothing), which writes the thread off through `_ended`."""
        if self._ended(call):
            call.context.cancel()

    def _ended(self, call: _Here) -> bool:
        """The call is over (grpc runs this on its polling thread): write off its thread if the
        handler still runs. Whether it did (the first time it is told)."""
        with self._lock:
            if call.done or call.ended:
                return False
            call.ended = True
            written_off = 0
            if self._written_off < self.max_written_off:
                call.written_off = True
                self._written_off += 1
                written_off = self._written_off
        if not self.stopping:
            self._report_overrun(call.hook, call.handler, call.started, written_off)
        return True

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._idle:
                worker = self._idle.pop()
                job.state = _RUNNING
                worker.job = job
                worker.wake.release()
            elif self._counted < self.capacity:
                self._start(job)
            else:
                self._queue.append(job)

    def _start(self, job: _Job) -> None:
        """A new counted thread for `job` (lock held)."""
        job.state = _RUNNING
        self._counted += 1
        self._started += 1
        # Daemon: a thread stuck in a handler must not hold up the interpreter's exit.
        thread = threading.Thread(
            target=self._work, args=(_Worker(job),), name=f"mm-plugin-handler-{self._started}", daemon=True
        )
        thread.start()

    def _work(self, worker: _Worker) -> None:
        job = worker.job
        while True:
            try:
                result, error = job.context.run(job.fn, **job.kwargs), None
            except BaseException as e:  # handed to the waiting call, as an executor would
                result, error = None, e
            following: _Job | None = None
            with self._lock:
                job.state = _DONE
                retire = job.written_off
                if retire:
                    # A replacement took this thread's place.
                    self._written_off -= 1
                elif self._queue:
                    following = self._queue.popleft()
                    following.state = _RUNNING
                else:
                    self._idle.append(worker)
            try:
                job.loop.call_soon_threadsafe(_settle, job.future, result, error)
            except RuntimeError:  # the loop is closed: the plugin is exiting
                pass
            del result, error
            if retire:
                return
            if following is None:
                worker.wake.acquire()
                following = worker.job
            job = following

    def _overran(self, job: _Job, hook: str, handler: str, started: float) -> None:
        """The call is over but `job` is not: drop it if it never started, else write its thread off."""
        written_off = 0
        with self._lock:
            state = job.state
            if state == _QUEUED:
                self._queue.remove(job)
                job.state = _DROPPED
            elif state == _RUNNING and self._written_off < self.max_written_off:
                job.written_off = True
                self._written_off += 1
                self._counted -= 1
                written_off = self._written_off
                if self._queue:
                    self._start(self._queue.popleft())
        # Nobody waits for its result any more.
        job.future.cancel()
        if state == _DONE or self.stopping:
            return
        if state == _QUEUED:
            _log.warning(
                "hook %s: handler %s did not start within %.1f s, its call's deadline: all %d handler threads are busy",
                hook,
                handler,
                time.monotonic() - started,
                self.capacity,
                extra={"hook": hook, "handler": handler},
            )
            return
        self._report_overrun(hook, handler, started, written_off)

    def _report_overrun(self, hook: str, handler: str, started: float, written_off: int) -> None:
        """Logs a handler still running at its call's end; `written_off` is the count of written-off
        threads with its own, or 0 when it was not written off (the cap was reached)."""
        self._warn(
            hook,
            handler,
            started,
            f"its thread is written off ({written_off} of at most {self.max_written_off})"
            if written_off
            else f"its thread stays in use: {self.max_written_off} threads are written off already",
        )
        if written_off == self.max_written_off:
            _log.error(
                "%d sync hook handlers are stuck past their deadlines, the most this plugin writes off: "
                "reporting NOT_SERVING so that the host restarts it",
                written_off,
            )

    def _warn(self, hook: str, handler: str, started: float, outcome: str) -> None:
        if self.stopping:
            return
        elapsed = time.monotonic() - started
        _log.warning(
            "hook %s: handler %s still running after %.1f s, at its call's deadline; %s",
            hook,
            handler,
            elapsed,
            outcome,
            extra={"hook": hook, "handler": handler, "elapsed": round(elapsed, 3)},
        )
