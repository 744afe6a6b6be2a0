"""Retrying model calls that failed for a reason that may pass: rate limits, overload, timeouts,
dropped connections and server errors. Anything else (a bad request, a wrong key, an unknown
model) fails at once, since trying again would only fail the same way, slower.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import inspect
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anthropic
import httpx
import httpx2
import openai
from langchain_core.exceptions import ModelError

T = TypeVar("T")

# Statuses worth another try: request timeout, too many requests, and server-side failures.
_TRANSIENT_STATUSES = frozenset({408, 429})
# Error types a provider may report inside an already-open stream (HTTP 200), where the status
# code says nothing.
_TRANSIENT_BODY_TYPES = frozenset({"overloaded_error", "rate_limit_error", "api_error", "timeout_error"})
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,  # timeouts included
    openai.RateLimitError,
    openai.InternalServerError,
    anthropic.APIConnectionError,  # timeouts included
    anthropic.RateLimitError,
    anthropic.InternalServerError,  # 503, 504 and 529 (overloaded) included
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx2.TimeoutException,
    httpx2.NetworkError,
    httpx2.RemoteProtocolError,
    TimeoutError,  # asyncio.TimeoutError too
    ConnectionError,
)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: `attempts` tries in all, waiting `base_delay` seconds
    after the first failure and twice as long after each further one, never more than
    `max_delay`; `jitter` (0 to 1) is the fraction of each wait drawn at random, so clients that
    failed together do not come back together."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0
    jitter: float = 0.5


def is_transient(error: BaseException) -> bool:
    """Whether `error` may go away if the same call is made again."""
    status = status_code(error)
    if status is not None and status >= 400:
        # The status decides, whatever the class: some classes for final statuses (501) derive
        # from the ones for transient server errors.
        return _status_transient(status)
    if isinstance(error, ModelError) and error.is_retryable:  # LangChain's own classification
        return True
    if isinstance(error, _TRANSIENT_TYPES):
        return True
    return _body_type(error) in _TRANSIENT_BODY_TYPES


def _status_transient(status: int | None) -> bool:
    return status is not None and (status in _TRANSIENT_STATUSES or (status >= 500 and status != 501))


def status_code(error: BaseException) -> int | None:
    """The HTTP status of a failed call, when it has one: `error.status_code`, else `error.response.status_code`."""
    for holder in (error, getattr(error, "response", None)):
        status = getattr(holder, "status_code", None)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
    return None


def _body_type(error: BaseException) -> str | None:
    """The error type in a provider's JSON error body ({"error": {"type": ...}}), if any."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return None


def delay_for(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed try number `attempt` (1 for the first): the base delay doubled
    for each earlier failure, capped at `policy.max_delay`, then reduced by up to `policy.jitter`
    of itself at random. Never more than the cap, never negative."""
    exponent = min(max(attempt, 1) - 1, 62)  # bounded so huge attempt numbers cannot overflow
    ceiling = min(policy.max_delay, policy.base_delay * 2.0**exponent)
    jitter = min(max(policy.jitter, 0.0), 1.0)
    draw = rng.random() if rng is not None else random.random()
    return max(0.0, ceiling * (1.0 - jitter * draw))


def retry_after(error: BaseException) -> float | None:
    """Seconds the server asked the client to wait (the Retry-After header), if it said."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not isinstance(value, str):
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_SECRET = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+)")


def describe_error(error: BaseException, *, limit: int = 200, first_line: bool = True) -> str:
    """A safe description of `error` for a thread, a log or a model: its kind, the HTTP status when
    there is one, and its message (the first line only, unless `first_line` is False) cut to
    `limit` characters, with anything that looks like a key or token removed."""
    status = status_code(error)
    text = str(error).strip()
    if first_line:
        text = next(iter(text.splitlines()), "")
    message = _SECRET.sub("[redacted]", text)
    if len(message) > limit:
        message = message[: max(limit - 1, 0)] + "…"
    kind = type(error).__name__ + (f" (HTTP {status})" if status is not None else "")
    return f"{kind}: {message}" if message else kind


class GaveUp(Exception):
    """A call still failed with a transient error after every try the policy allowed."""

    def __init__(self, last: BaseException, attempts: int) -> None:
        self.last = last
        self.attempts = attempts
        tries = "try" if attempts == 1 else "tries"
        super().__init__(f"the model call kept failing; gave up after {attempts} {tries}: {describe_error(last)}")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, BaseException, float], Awaitable[None] | None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """The result of `await call()`, trying again after transient errors.

    A non-transient error propagates unchanged at once. After a transient one, `on_retry(attempt,
    error, delay)` is called (and awaited if it returns an awaitable) with the number of the try
    that failed, then `sleep(delay)`; the delay honours the server's Retry-After up to
    `policy.max_delay`. When all `policy.attempts` tries failed, raises `GaveUp` (from the last
    error). Cancellation is never caught.
    """
    attempts = max(1, policy.attempts)
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as error:
            if not is_transient(error):
                raise
            if attempt == attempts:
                raise GaveUp(error, attempts) from error
            delay = delay_for(attempt, policy)
            asked = retry_after(error)
            if asked is not None:
                delay = min(max(delay, asked), policy.max_delay)
            if on_retry is not None:
                pending = on_retry(attempt, error, delay)
                if inspect.isawaitable(pending):
                    await pending
            await sleep(delay)
    raise AssertionError("unreachable: the last try returns or raises")
