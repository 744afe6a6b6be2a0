"""The agentic loop: call the model, run the tools it asks for, feed their results back, and repeat
until it answers, streaming the answer as it is written.

Each model call is retried as a whole on transient errors (`mm_agent.retry`). A tool that fails
does not end the reply: its error goes back to the model as the tool's result, so the model can
try something else or explain. The number of model calls is bounded; at the bound the model is
asked once more, without tools, to answer with what it has gathered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.messages.tool import ToolCall
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from .retry import RetryPolicy, describe_error, status_code, with_retries

# Seconds a single tool call may take before the model is told it timed out.
TOOL_TIMEOUT = 120.0
# Tool output beyond this many characters is cut, so one verbose tool cannot fill the context.
MAX_TOOL_RESULT_CHARS = 20_000
FINAL_REQUEST = (
    "You have used all the tool steps allowed for this reply. Do not ask for more tools: answer the "
    "latest request now as well as you can with the information gathered above, and say briefly "
    "what is still missing, if anything."
)


class AgentEvents(Protocol):
    """What the loop reports while it works; the plugin turns these into post updates."""

    async def text(self, delta: str) -> None:
        """More answer text, to append to the reply."""

    async def status(self, line: str) -> None:
        """A short progress line (a tool being called or finished, a retry), not part of the
        answer."""

    async def reset(self) -> None:
        """The current model call failed and will be retried: drop ALL answer text received so
        far. The loop sends again, through `text`, whatever earlier model calls had written,
        before the retried call streams its own."""


@dataclasses.dataclass
class AgentResult:
    """How a run ended. `text` is the whole answer as streamed (the same text `events.text`
    delivered since the last reset), the step-limit note included."""

    text: str
    iterations: int  # model calls made, the final tool-less one included
    hit_limit: bool  # whether the tool-step limit ended the run
    tool_calls: list[str]  # names of the tools called, in order, failed calls included


async def run_agent(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    messages: list[BaseMessage],
    *,
    max_iterations: int,
    events: AgentEvents,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008  # frozen, so one shared default is safe
    tool_timeout: float = TOOL_TIMEOUT,
) -> AgentResult:
    """Run the agent on `messages` (not modified) until it answers or has made `max_iterations`
    model calls that asked for tools; then one more call, without tools, gets a final answer.

    Raises `retry.GaveUp` when a model call keeps failing transiently, and a model call's
    non-transient error as it is.
    """
    history = list(messages)
    by_name = {tool.name: tool for tool in tools}
    runnable: Runnable[LanguageModelInput, Any] = model.bind_tools(list(tools)) if tools else model
    answer = _Answer(events)
    called: list[str] = []
    limit = max(1, max_iterations)

    for iteration in range(1, limit + 1):
        reply = await _call_model(runnable, history, answer, retry)
        history.append(reply)
        if not reply.tool_calls and not reply.invalid_tool_calls:
            return AgentResult(answer.text, iteration, hit_limit=False, tool_calls=called)
        for request in reply.tool_calls:
            called.append(request["name"])
            history.append(await _run_tool(request, by_name, events, tool_timeout))
        # Calls whose arguments did not parse get an error too: providers reject a conversation
        # in which a tool call has no result.
        for bad in reply.invalid_tool_calls:
            name = bad.get("name") or "unknown"
            called.append(name)
            await events.status(f"⚠️ `{name}` was called with malformed arguments")
            reason = bad.get("error") or "they are not valid JSON"
            history.append(
                _tool_error(name, bad.get("id") or "", f"the call's arguments could not be parsed: {reason}")
            )

    # Out of steps while the model still wanted tools. The last call goes out without tools, and
    # with the tool traffic rewritten as plain text: providers reject tool calls and results in a
    # conversation that declares no tools.
    final = [*_without_tool_traffic(history), HumanMessage(content=FINAL_REQUEST)]
    await _call_model(model, final, answer, retry)
    steps = "step" if limit == 1 else "steps"
    await answer.add(f"\n\n_(Stopped after {limit} tool {steps}, the configured limit.)_", separate=False)
    return AgentResult(answer.text, limit + 1, hit_limit=True, tool_calls=called)


class _Answer:
    """The answer text streamed so far, split into the part earlier model calls settled and the
    part the current call is writing (dropped if that call is retried)."""

    def __init__(self, events: AgentEvents) -> None:
        self.events = events
        self.settled = ""
        self.current = ""

    @property
    def text(self) -> str:
        return self.settled + self.current

    async def add(self, delta: str, *, separate: bool = True) -> None:
        if not delta:
            return
        if separate and not self.current and self.settled and not self.settled.endswith("\n\n"):
            # A new model call's text starts a new paragraph after the previous call's.
            delta = ("\n" if self.settled.endswith("\n") else "\n\n") + delta
        self.current += delta
        await self.events.text(delta)

    def settle(self) -> None:
        self.settled += self.current
        self.current = ""

    async def restart(self) -> None:
        self.current = ""
        await self.events.reset()
        if self.settled:
            await self.events.text(self.settled)


async def _call_model(
    runnable: Runnable[LanguageModelInput, Any],
    history: list[BaseMessage],
    answer: _Answer,
    policy: RetryPolicy,
) -> AIMessage:
    """One model call, streamed into `answer` and retried as a whole on transient errors."""

    async def attempt() -> AIMessage:
        full: AIMessageChunk | None = None
        async for chunk in runnable.astream(history):
            if not isinstance(chunk, AIMessageChunk):
                continue
            full = chunk if full is None else full + chunk
            await answer.add(_text_of(chunk.content))
        if full is None:
            return AIMessage(content="")
        message = message_chunk_to_message(full)
        assert isinstance(message, AIMessage)
        return message

    async def on_retry(attempt_number: int, error: BaseException, delay: float) -> None:
        await answer.restart()
        await answer.events.status(
            f"⏳ The model service had a temporary problem ({_short_reason(error)}); "
            f"retrying in {delay:.0f}s (try {attempt_number + 1} of {max(1, policy.attempts)})…"
        )

    reply = await with_retries(attempt, policy, on_retry=on_retry)
    answer.settle()
    return reply


def _text_of(content: str | list[str | dict[str, Any]]) -> str:
    """The answer text in a message's content: all of a string, or the text blocks of a block list
    (never thinking or tool-use blocks, which are not for the reader)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


async def _run_tool(
    request: ToolCall, by_name: dict[str, BaseTool], events: AgentEvents, timeout: float
) -> ToolMessage:
    """Run one requested tool; whatever happens, a ToolMessage for the model."""
    name = request["name"]
    call_id = request.get("id") or ""
    await events.status(f"🔧 Calling `{name}`…")

    def failed(reason: str) -> ToolMessage:
        return _tool_error(name, call_id, reason)

    tool = by_name.get(name)
    if tool is None:
        await events.status(f"⚠️ There is no tool `{name}`")
        available = ", ".join(sorted(by_name)) or "none"
        return failed(f"there is no tool named {name!r}; available tools: {available}.")
    try:
        # Invoked with the whole tool call, a tool answers with a ToolMessage carrying its id.
        result = await asyncio.wait_for(tool.ainvoke(request), timeout)
    except asyncio.TimeoutError:
        await events.status(f"⚠️ `{name}` timed out")
        return failed(f"the tool did not finish within {timeout:g} seconds.")
    except Exception as error:  # any tool failure goes back to the model, which may recover
        await events.status(f"⚠️ `{name}` failed")
        # The whole message, not just its first line: argument validation errors list every
        # problem on lines of their own, and the model needs them to correct its call.
        return failed(f"the tool failed: {describe_error(error, limit=2000, first_line=False)}")
    await events.status(f"✅ `{name}` finished")
    if not isinstance(result, ToolMessage):
        result = ToolMessage(content=_as_text(result), tool_call_id=call_id, name=name)
    return _capped(result)


def _tool_error(name: str, call_id: str, reason: str) -> ToolMessage:
    return ToolMessage(content=f"Error: {reason}", tool_call_id=call_id, name=name, status="error")


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _capped(message: ToolMessage) -> ToolMessage:
    content = message.content
    if isinstance(content, str) and len(content) > MAX_TOOL_RESULT_CHARS:
        cut = content[:MAX_TOOL_RESULT_CHARS] + f"\n…[output cut: {len(content)} characters in all]"
        return message.model_copy(update={"content": cut})
    return message


def _without_tool_traffic(history: list[BaseMessage]) -> list[BaseMessage]:
    """`history` with tool calls and results rewritten as plain text (and thinking blocks dropped),
    adjacent same-role messages merged, for a call that declares no tools."""
    plain: list[BaseMessage] = []
    for message in history:
        if isinstance(message, AIMessage):
            text = _text_of(message.content)
            calls = [f"[I called the tool `{c['name']}` with {_as_text(c['args'])}]" for c in message.tool_calls]
            rewritten: BaseMessage = AIMessage(content="\n".join(filter(None, [text, *calls])))
        elif isinstance(message, ToolMessage):
            rewritten = HumanMessage(content=f"[Result of the tool `{message.name}`]\n{_content_text(message)}")
        else:
            rewritten = message
        if not rewritten.content:
            continue
        previous = plain[-1] if plain else None
        if (
            previous is not None
            and type(previous) is type(rewritten)
            and not isinstance(rewritten, SystemMessage)
            and isinstance(previous.content, str)
            and isinstance(rewritten.content, str)
        ):
            plain[-1] = previous.model_copy(update={"content": previous.content + "\n\n" + rewritten.content})
        else:
            plain.append(rewritten)
    return plain


def _content_text(message: BaseMessage) -> str:
    """A message's content as text; non-text blocks (images and the like) become a placeholder."""
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block.get("text"), str):
            parts.append(block["text"])
        else:
            parts.append(f"[{block.get('type', 'non-text')} content left out]")
    return "\n".join(parts)


def _short_reason(error: BaseException) -> str:
    status = status_code(error)
    if status == 429:
        return "rate limited"
    if isinstance(status, int) and status >= 500:
        return f"server error {status}"
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)) or "timeout" in type(error).__name__.lower():
        return "timed out"
    return type(error).__name__
