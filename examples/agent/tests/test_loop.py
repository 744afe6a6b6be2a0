"""run_agent with a scripted model: streaming, tools, tool failures, the step limit, retries."""

from __future__ import annotations

import pytest
from fakes import (
    Interrupted,
    RecordingEvents,
    ScriptedChatModel,
    anthropic_error,
    bounded,
    openai_error,
    openai_timeout,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, tool

from mm_agent.loop import FINAL_REQUEST, run_agent
from mm_agent.retry import GaveUp, RetryPolicy

# Retries without waiting: the delays themselves are tested in test_retry.
NO_WAIT = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)
QUESTION: list[BaseMessage] = [SystemMessage(content="Be brief."), HumanMessage(content="@alice: what is 2+3?")]


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(query: str) -> str:
    """A tool whose backend is down."""
    raise RuntimeError(f"backend down while looking up {query!r}")


TOOLS: list[BaseTool] = [add, explode]


def calling(name: str, args: dict[str, object], call_id: str, text: str = "") -> AIMessage:
    return AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def texts(events: RecordingEvents) -> list[str]:
    return [value for kind, value in events.log if kind == "text"]


@bounded
async def test_a_plain_reply_is_streamed() -> None:
    model = ScriptedChatModel(script=["Five, since two plus three is five."])
    events = RecordingEvents()
    result = await run_agent(model, [], list(QUESTION), max_iterations=5, events=events)
    assert len(texts(events)) > 3  # arrived in pieces
    assert "".join(texts(events)) == result.text == "Five, since two plus three is five."
    assert (result.iterations, result.hit_limit, result.tool_calls) == (1, False, [])
    assert model.calls[0].tools == []  # nothing bound without tools
    assert model.calls[0].messages == QUESTION


@bounded
async def test_the_caller_s_messages_are_not_modified() -> None:
    messages = list(QUESTION)
    model = ScriptedChatModel(script=[calling("add", {"a": 2, "b": 3}, "c1"), "5"])
    await run_agent(model, TOOLS, messages, max_iterations=5, events=RecordingEvents())
    assert messages == QUESTION


@bounded
async def test_a_tool_call_and_its_result_go_back_to_the_model() -> None:
    model = ScriptedChatModel(script=[calling("add", {"a": 2, "b": 3}, "call-1", "Let me add."), "The sum is 5."])
    events = RecordingEvents()
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=5, events=events)

    assert [c.tool_names for c in model.calls] == [["add", "explode"], ["add", "explode"]]
    second = model.calls[1].messages
    assert second[:2] == QUESTION
    asked = second[2]
    assert isinstance(asked, AIMessage)
    assert [(c["name"], c["args"], c["id"]) for c in asked.tool_calls] == [("add", {"a": 2, "b": 3}, "call-1")]
    answer = second[3]
    assert isinstance(answer, ToolMessage)
    assert (answer.content, answer.tool_call_id, answer.status) == ("5", "call-1", "success")

    assert result.text == events.shown == "Let me add.\n\nThe sum is 5."
    assert (result.iterations, result.hit_limit, result.tool_calls) == (2, False, ["add"])
    assert events.statuses == ["🔧 Calling `add`…", "✅ `add` finished"]


@bounded
async def test_a_failing_tool_becomes_an_error_result_the_model_can_use() -> None:
    model = ScriptedChatModel(
        script=[calling("explode", {"query": "weather"}, "call-9"), "Sorry, the weather service is down."]
    )
    events = RecordingEvents()
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=5, events=events)
    failure = model.calls[1].messages[-1]
    assert isinstance(failure, ToolMessage)
    assert failure.status == "error" and failure.tool_call_id == "call-9"
    assert isinstance(failure.content, str) and "backend down while looking up 'weather'" in failure.content
    assert events.statuses == ["🔧 Calling `explode`…", "⚠️ `explode` failed"]
    assert result.text == "Sorry, the weather service is down."
    assert result.tool_calls == ["explode"]


@bounded
async def test_unknown_tools_and_malformed_arguments_get_error_results() -> None:
    malformed = AIMessage(
        content="",
        tool_calls=[{"name": "nope", "args": {}, "id": "c1", "type": "tool_call"}],
        invalid_tool_calls=[
            {"name": "add", "args": "not JSON at all", "id": "c2", "error": None, "type": "invalid_tool_call"}
        ],
    )
    model = ScriptedChatModel(script=[malformed, "I could not do that."])
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=5, events=RecordingEvents())
    replies = [m for m in model.calls[1].messages if isinstance(m, ToolMessage)]
    assert [(r.tool_call_id, r.status) for r in replies] == [("c1", "error"), ("c2", "error")]
    assert "no tool named 'nope'" in str(replies[0].content) and "add, explode" in str(replies[0].content)
    assert "could not be parsed" in str(replies[1].content)
    assert result.tool_calls == ["nope", "add"]


@bounded
async def test_the_step_limit_ends_with_a_tool_less_call_and_a_note() -> None:
    model = ScriptedChatModel(
        script=[
            calling("add", {"a": 1, "b": 1}, "c1"),
            calling("add", {"a": 2, "b": 2}, "c2"),
            "Best I can tell: 2 and 4.",
        ]
    )
    events = RecordingEvents()
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=2, events=events)

    assert len(model.calls) == 3
    final = model.calls[2]
    assert final.tools == []
    assert isinstance(final.messages[-1], HumanMessage) and FINAL_REQUEST in final.messages[-1].text
    # No tool calls or results remain for a provider to reject; their content is there as text.
    assert not any(isinstance(m, ToolMessage) for m in final.messages)
    assert not any(isinstance(m, AIMessage) and m.tool_calls for m in final.messages)
    transcript = "\n".join(m.text for m in final.messages)
    assert "`add`" in transcript and "Result of the tool" in transcript

    assert result.hit_limit is True
    assert result.iterations == 3
    assert result.tool_calls == ["add", "add"]
    assert result.text.startswith("Best I can tell: 2 and 4.")
    assert "Stopped after 2 tool steps" in result.text
    assert events.shown == result.text


@bounded
async def test_transient_errors_are_retried_and_the_partial_text_discarded() -> None:
    model = ScriptedChatModel(
        script=[openai_error(429), Interrupted("A half-written ", openai_timeout()), "The answer is 5."]
    )
    events = RecordingEvents()
    result = await run_agent(model, [], list(QUESTION), max_iterations=5, events=events, retry=NO_WAIT)
    assert len(model.calls) == 3
    assert events.resets == 2
    assert events.shown == result.text == "The answer is 5."
    assert result.iterations == 1
    retries = [s for s in events.statuses if "retrying" in s]
    assert len(retries) == 2 and "rate limited" in retries[0] and "try 2 of 3" in retries[0]


@bounded
async def test_a_retry_after_a_tool_step_keeps_the_earlier_text() -> None:
    model = ScriptedChatModel(
        script=[
            calling("add", {"a": 2, "b": 3}, "c1", "Checking."),
            Interrupted("Hal", anthropic_error(529, "overloaded_error")),
            "It is 5.",
        ]
    )
    events = RecordingEvents()
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=5, events=events, retry=NO_WAIT)
    assert events.resets == 1
    assert events.shown == result.text == "Checking.\n\nIt is 5."


@bounded
async def test_gives_up_after_the_retry_budget() -> None:
    model = ScriptedChatModel(script=[openai_error(503), openai_error(503), openai_error(503), "never"])
    events = RecordingEvents()
    with pytest.raises(GaveUp) as caught:
        await run_agent(model, [], list(QUESTION), max_iterations=5, events=events, retry=NO_WAIT)
    assert caught.value.attempts == 3
    assert len(model.calls) == 3
    assert events.resets == 2


@bounded
async def test_a_bad_request_is_not_retried() -> None:
    error = openai_error(400, "context too long")
    model = ScriptedChatModel(script=[error, "never"])
    events = RecordingEvents()
    with pytest.raises(type(error)) as caught:
        await run_agent(model, [], list(QUESTION), max_iterations=5, events=events, retry=NO_WAIT)
    assert caught.value is error
    assert len(model.calls) == 1
    assert events.resets == 0


@bounded
async def test_thinking_is_kept_in_history_but_never_shown() -> None:
    first = AIMessage(
        content=[
            {"type": "thinking", "thinking": "private reasoning about sums", "signature": "sig-1"},
            {"type": "text", "text": "Let me add."},
            {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 3}},
        ],
        tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "toolu_1", "type": "tool_call"}],
    )
    second = AIMessage(
        content=[
            {"type": "thinking", "thinking": "more private reasoning", "signature": "sig-2"},
            {"type": "text", "text": "It is 5."},
        ]
    )
    model = ScriptedChatModel(script=[first, second])
    events = RecordingEvents()
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=5, events=events)

    assert "private" not in "".join(texts(events))
    assert result.text == "Let me add.\n\nIt is 5."
    kept = model.calls[1].messages[2]
    assert isinstance(kept, AIMessage) and isinstance(kept.content, list)
    thinking = [b for b in kept.content if isinstance(b, dict) and b.get("type") == "thinking"]
    assert len(thinking) == 1
    assert thinking[0]["thinking"] == "private reasoning about sums"
    assert thinking[0]["signature"] == "sig-1"
    assert [c["id"] for c in kept.tool_calls] == ["toolu_1"]


@bounded
async def test_argument_validation_errors_reach_the_model_in_full() -> None:
    model = ScriptedChatModel(script=[calling("add", {"a": 1}, "c1"), "I need both numbers."])
    await run_agent(model, TOOLS, list(QUESTION), max_iterations=5, events=RecordingEvents())
    failure = model.calls[1].messages[-1]
    assert isinstance(failure, ToolMessage) and failure.status == "error"
    assert "b" in str(failure.content) and "required" in str(failure.content).lower()


@bounded
async def test_a_hanging_tool_times_out() -> None:
    import asyncio

    @tool
    async def slow(query: str) -> str:
        """Never answers in time."""
        await asyncio.sleep(60)
        return "too late"

    model = ScriptedChatModel(script=[calling("slow", {"query": "x"}, "c1"), "It timed out."])
    events = RecordingEvents()
    result = await run_agent(model, [slow], list(QUESTION), max_iterations=5, events=events, tool_timeout=0.05)
    failure = model.calls[1].messages[-1]
    assert isinstance(failure, ToolMessage) and failure.status == "error"
    assert "did not finish within 0.05 seconds" in str(failure.content)
    assert events.statuses[-1] == "⚠️ `slow` timed out"
    assert result.text == "It timed out."


@bounded
async def test_a_step_limit_of_one() -> None:
    model = ScriptedChatModel(script=[calling("add", {"a": 1, "b": 1}, "c1"), "2."])
    result = await run_agent(model, TOOLS, list(QUESTION), max_iterations=1, events=RecordingEvents())
    assert (result.iterations, result.hit_limit) == (2, True)
    assert "Stopped after 1 tool step," in result.text
