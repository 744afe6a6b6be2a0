"""Offline stand-ins for chat models and provider errors, for tests of the agent.

`ScriptedChatModel` plays a script, one step per model call:

- a `str` or an `AIMessage` is the reply. It is streamed in small chunks, the way providers stream:
  text word by word, content blocks (Anthropic-style `text`, `thinking` with its `signature`,
  `tool_use`) piece by piece with their `index`, and `tool_calls` as `tool_call_chunks` whose JSON
  arguments arrive in two halves. `invalid_tool_calls` stream their raw `args` text unchanged, so
  the accumulated message has them invalid again.
- an exception is raised when the call is made, before any chunk;
- `Interrupted(text, error)` streams `text` and then raises `error`, like a connection that drops
  mid-answer.

Every call is recorded in `model.calls` (the messages it got and the tools bound to it) before the
step is played, failed calls included. `bind_tools` works like a provider's: it binds the tools'
JSON schemas, so `calls[i].tool_names` shows which tools a call offered.

`bounded` runs an async test function with a time limit (no async pytest plugin is needed).

Builders for the errors the real SDKs raise (`openai_error`, `anthropic_error`, `StatusError`) need
no network: they are made from a local `Response` object.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any, ParamSpec

import anthropic
import httpx2
import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

P = ParamSpec("P")
# Upper bound on the async part of one test; the real work takes milliseconds.
TEST_LIMIT = 30.0


def bounded(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Runs an async test function in its own event loop, failing it after TEST_LIMIT seconds."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), TEST_LIMIT))

    return run


# A reserved, never-resolving host: errors carry a request, but nothing is ever sent.
FAKE_API_URL = "https://api.example.invalid/v1/chat/completions"


@dataclasses.dataclass(frozen=True)
class Interrupted:
    """A script step that streams `text`, then fails with `error`."""

    text: str
    error: BaseException


@dataclasses.dataclass
class RecordedCall:
    """One call the model received."""

    messages: list[BaseMessage]
    tools: list[dict[str, Any]]  # the bound tools' schemas, in OpenAI's format; [] when none
    kwargs: dict[str, Any]  # everything else bound or passed (tool_choice, stop, ...)

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]


Step = AIMessage | str | BaseException | Interrupted


class ScriptedChatModel(GenericFakeChatModel):
    """A chat model that replays `script` (see the module docstring) and records its calls."""

    # GenericFakeChatModel's own source of replies, unused here: `script` replaces it.
    messages: Iterator[AIMessage | str] = Field(default_factory=lambda: iter(()))
    script: list[Any] = Field(default_factory=list)
    """The steps, one per call, in order: str | AIMessage | BaseException | Interrupted."""
    calls: list[RecordedCall] = Field(default_factory=list)
    """Calls received so far, in order."""

    @property
    def _llm_type(self) -> str:
        return "scripted-fake-chat-model"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    @property
    def remaining(self) -> int:
        """Steps not played yet."""
        return len(self.script) - len(self.calls)

    def _next_step(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage | str | Interrupted:
        number = len(self.calls)
        options = dict(kwargs)
        tools = options.pop("tools", None) or []
        self.calls.append(RecordedCall(messages=list(messages), tools=list(tools), kwargs=options))
        if number >= len(self.script):
            raise AssertionError(
                f"ScriptedChatModel got call {number + 1}, but its script has {len(self.script)} steps"
            )
        step: Step = self.script[number]
        if isinstance(step, BaseException):
            raise step
        return step

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = self._next_step(messages, kwargs)
        if isinstance(step, Interrupted):
            raise step.error
        message = AIMessage(content=step) if isinstance(step, str) else step
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        step = self._next_step(messages, kwargs)
        for chunk in _chunks(step, call_number=len(self.calls)):
            yield ChatGenerationChunk(message=chunk)
        if isinstance(step, Interrupted):
            raise step.error

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # The same pieces as _stream, without the thread the default implementation would use.
        for chunk in self._stream(messages, stop=stop, **kwargs):
            yield chunk


def _words(text: str) -> list[str]:
    """`text` in pieces of one word with its following whitespace; they join back to `text`."""
    return [piece for piece in re.findall(r"\S+\s*|\s+", text) if piece]


def _chunks(step: Step, *, call_number: int) -> Iterator[AIMessageChunk]:
    """The message chunks a provider would stream for `step`."""
    message_id = f"scripted-{call_number}"
    if isinstance(step, Interrupted):
        for piece in _words(step.text):
            yield AIMessageChunk(content=piece, id=message_id)
        return
    message = AIMessage(content=step) if isinstance(step, str) else step
    assert isinstance(message, AIMessage)
    if isinstance(message.content, str):
        for piece in _words(message.content):
            yield AIMessageChunk(content=piece, id=message_id)
    else:
        for index, block in enumerate(message.content):
            for part in _block_parts(block, index):
                yield AIMessageChunk(content=[part], id=message_id)
    for index, call in enumerate(message.tool_calls):
        arguments = json.dumps(call["args"])
        half = len(arguments) // 2
        first = {"name": call["name"], "args": arguments[:half], "id": call["id"], "index": index}
        second = {"name": None, "args": arguments[half:], "id": None, "index": index}
        yield AIMessageChunk(content="", id=message_id, tool_call_chunks=[first])  # type: ignore[list-item]
        yield AIMessageChunk(content="", id=message_id, tool_call_chunks=[second])  # type: ignore[list-item]
    offset = len(message.tool_calls)
    for index, bad in enumerate(message.invalid_tool_calls, start=offset):
        raw = {"name": bad.get("name"), "args": bad.get("args"), "id": bad.get("id"), "index": index}
        yield AIMessageChunk(content="", id=message_id, tool_call_chunks=[raw])  # type: ignore[list-item]
    yield AIMessageChunk(content="", id=message_id, chunk_position="last")


def _block_parts(block: str | dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    """A content block in streamed pieces, each tagged with the block's `index` so they merge."""
    if isinstance(block, str):
        block = {"type": "text", "text": block}
    kind = block.get("type")
    if kind == "text":
        for piece in _words(block["text"]):
            yield {"type": "text", "text": piece, "index": index}
    elif kind == "thinking":
        for piece in _words(block.get("thinking", "")):
            yield {"type": "thinking", "thinking": piece, "index": index}
        if "signature" in block:
            yield {"type": "thinking", "signature": block["signature"], "index": index}
    else:
        yield {**block, "index": index}


# --- Provider errors ---------------------------------------------------------------------------


def _response(status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> httpx2.Response:
    request = httpx2.Request("POST", FAKE_API_URL)
    return httpx2.Response(status, json=body, headers=headers, request=request)


_OPENAI_CLASSES: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def openai_error(status: int, message: str = "scripted failure", *, retry_after: str | None = None) -> Exception:
    """The exception the OpenAI SDK raises for an HTTP `status` (e.g. 429 → RateLimitError)."""
    body = {"error": {"message": message, "type": "scripted", "code": None}}
    cls = _OPENAI_CLASSES.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    headers = {"retry-after": retry_after} if retry_after is not None else None
    return cls(message, response=_response(status, body, headers), body=body)


def openai_timeout() -> Exception:
    return openai.APITimeoutError(request=httpx2.Request("POST", FAKE_API_URL))


def openai_connection_error() -> Exception:
    return openai.APIConnectionError(request=httpx2.Request("POST", FAKE_API_URL))


_ANTHROPIC_CLASSES: dict[int, type[anthropic.APIStatusError]] = {
    400: anthropic.BadRequestError,
    401: anthropic.AuthenticationError,
    403: anthropic.PermissionDeniedError,
    404: anthropic.NotFoundError,
    408: anthropic.RequestTimeoutError,
    422: anthropic.UnprocessableEntityError,
    429: anthropic.RateLimitError,
    501: anthropic.HTTPNotImplementedError,
    503: anthropic.ServiceUnavailableError,
    504: anthropic.GatewayTimeoutError,
    529: anthropic.OverloadedError,
}


def anthropic_error(status: int, error_type: str = "api_error", message: str = "scripted failure") -> Exception:
    """The exception the Anthropic SDK raises for an HTTP `status` with an error body of
    `error_type` (status 200 gives the plain APIStatusError raised for an error inside a stream)."""
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    cls = _ANTHROPIC_CLASSES.get(status, anthropic.InternalServerError if status >= 500 else anthropic.APIStatusError)
    return cls(message, response=_response(status, body), body=body)


class StatusError(Exception):
    """An error of no particular SDK that carries an HTTP status, as many client libraries' do."""

    def __init__(self, status_code: int, message: str = "scripted failure") -> None:
        super().__init__(f"{message} (HTTP {status_code})")
        self.status_code = status_code


class ResponseStatusError(Exception):
    """An error whose HTTP status is on its `response`, the other common shape."""

    @dataclasses.dataclass
    class _Response:
        status_code: int

    def __init__(self, status_code: int) -> None:
        super().__init__(f"request failed with HTTP {status_code}")
        self.response = self._Response(status_code)


@dataclasses.dataclass
class RecordingEvents:
    """An `AgentEvents` that records what the loop reported, and keeps the text as a reader of
    the reply would see it (`reset` clears it)."""

    log: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    shown: str = ""

    async def text(self, delta: str) -> None:
        self.log.append(("text", delta))
        self.shown += delta

    async def status(self, line: str) -> None:
        self.log.append(("status", line))

    async def reset(self) -> None:
        self.log.append(("reset", ""))
        self.shown = ""

    @property
    def statuses(self) -> list[str]:
        return [value for kind, value in self.log if kind == "status"]

    @property
    def resets(self) -> int:
        return sum(1 for kind, _ in self.log if kind == "reset")
