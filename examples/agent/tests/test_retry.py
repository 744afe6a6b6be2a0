"""Retry: which errors are transient, the delays, and with_retries' behaviour."""

from __future__ import annotations

import asyncio
import random

import httpx
import httpx2
import pytest
from fakes import (
    ResponseStatusError,
    StatusError,
    anthropic_error,
    bounded,
    openai_connection_error,
    openai_error,
    openai_timeout,
)

from mm_agent.retry import GaveUp, RetryPolicy, delay_for, describe_error, is_transient, retry_after, with_retries


@pytest.mark.parametrize(
    "error",
    [
        openai_error(429),
        openai_error(500),
        openai_error(502),
        openai_error(503),
        openai_timeout(),
        openai_connection_error(),
        anthropic_error(429, "rate_limit_error"),
        anthropic_error(529, "overloaded_error"),
        anthropic_error(503),
        anthropic_error(408, "timeout_error"),
        anthropic_error(200, "overloaded_error"),  # reported inside an open stream
        StatusError(429),
        StatusError(504),
        ResponseStatusError(500),
        httpx.ConnectTimeout("slow"),
        httpx.ReadError("reset"),
        httpx2.ReadTimeout("slow"),
        httpx2.RemoteProtocolError("closed early"),
        TimeoutError(),
        asyncio.TimeoutError(),
        ConnectionResetError(),
    ],
    ids=repr,
)
def test_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        openai_error(400),
        openai_error(401),
        openai_error(403),
        openai_error(404),
        openai_error(422),
        anthropic_error(400, "invalid_request_error"),
        anthropic_error(401, "authentication_error"),
        anthropic_error(404, "not_found_error"),
        anthropic_error(501),
        anthropic_error(200, "invalid_request_error"),
        StatusError(400),
        StatusError(401),
        ResponseStatusError(404),
        ValueError("bad"),
        KeyError("x"),
    ],
    ids=repr,
)
def test_not_transient(error: BaseException) -> None:
    assert not is_transient(error)


def test_langchain_classified_errors() -> None:
    from langchain_anthropic.chat_models import AnthropicInvalidRequestError, AnthropicRateLimitError

    source = anthropic_error(429, "rate_limit_error")
    assert is_transient(AnthropicRateLimitError(message="slow down", response=source.response, body=None))  # type: ignore[attr-defined]
    bad = anthropic_error(400, "invalid_request_error")
    assert not is_transient(AnthropicInvalidRequestError(message="bad", response=bad.response, body=None))  # type: ignore[attr-defined]


def test_delays_grow_and_are_capped_without_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0, jitter=0.0)
    delays = [delay_for(n, policy) for n in range(1, 9)]
    assert delays[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert delays[5:] == [20.0, 20.0, 20.0]
    assert delays == sorted(delays)
    assert delay_for(10_000, policy) == 20.0  # no overflow


def test_jitter_stays_within_bounds_and_is_reproducible() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0, jitter=0.5)
    rng = random.Random(1234)
    for attempt in range(1, 8):
        ceiling = min(20.0, 2.0 ** (attempt - 1))
        for _ in range(50):
            delay = delay_for(attempt, policy, rng)
            assert ceiling * 0.5 <= delay <= ceiling
    a = [delay_for(n, policy, random.Random(7)) for n in range(1, 6)]
    b = [delay_for(n, policy, random.Random(7)) for n in range(1, 6)]
    assert a == b


def test_retry_after_header() -> None:
    assert retry_after(openai_error(429, retry_after="3")) == 3.0
    assert retry_after(openai_error(429)) is None
    assert retry_after(openai_error(429, retry_after="soon")) is None


class Flaky:
    """Fails with the given errors, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@bounded
async def test_transient_errors_are_retried_then_succeed() -> None:
    call = Flaky(openai_error(429), openai_error(503))
    sleeps = Sleeps()
    seen: list[tuple[int, str, float]] = []

    def on_retry(attempt: int, error: BaseException, delay: float) -> None:
        seen.append((attempt, type(error).__name__, delay))

    result = await with_retries(call, RetryPolicy(jitter=0.0), on_retry=on_retry, sleep=sleeps)
    assert result == "ok"
    assert call.calls == 3
    assert sleeps.delays == [1.0, 2.0]
    assert seen == [(1, "RateLimitError", 1.0), (2, "InternalServerError", 2.0)]


@bounded
async def test_async_on_retry_is_awaited() -> None:
    seen: list[int] = []

    async def on_retry(attempt: int, error: BaseException, delay: float) -> None:
        seen.append(attempt)

    await with_retries(Flaky(TimeoutError()), RetryPolicy(), on_retry=on_retry, sleep=Sleeps())
    assert seen == [1]


@bounded
async def test_retry_after_is_honoured_up_to_the_cap() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.0)
    await with_retries(
        Flaky(openai_error(429, retry_after="3"), openai_error(429, retry_after="60")), policy, sleep=sleeps
    )
    assert sleeps.delays == [3.0, 5.0]


@bounded
async def test_gives_up_after_the_attempts() -> None:
    call = Flaky(*[openai_error(429) for _ in range(10)])
    sleeps = Sleeps()
    with pytest.raises(GaveUp) as caught:
        await with_retries(call, RetryPolicy(attempts=3), sleep=sleeps)
    assert call.calls == 3
    assert len(sleeps.delays) == 2
    assert caught.value.attempts == 3
    assert isinstance(caught.value.last, type(openai_error(429)))
    assert caught.value.__cause__ is caught.value.last
    assert "3 tries" in str(caught.value) and "429" in str(caught.value)


@bounded
async def test_non_transient_errors_propagate_unchanged_at_once() -> None:
    error = openai_error(400, "bad request")
    call = Flaky(error)
    sleeps = Sleeps()
    with pytest.raises(type(error)) as caught:
        await with_retries(call, RetryPolicy(), sleep=sleeps)
    assert caught.value is error
    assert call.calls == 1
    assert sleeps.delays == []


@bounded
async def test_a_single_attempt_policy_gives_up_at_once() -> None:
    with pytest.raises(GaveUp) as caught:
        await with_retries(Flaky(TimeoutError()), RetryPolicy(attempts=0), sleep=Sleeps())
    assert caught.value.attempts == 1
    assert "1 try" in str(caught.value)


def test_describe_error_hides_keys() -> None:
    error = openai_error(401, "Incorrect API key provided: sk-abcdef1234567890. Find yours online.")
    text = describe_error(error)
    assert "sk-abcdef" not in text
    assert "HTTP 401" in text and "AuthenticationError" in text
