"""The scripted chat model itself, since other tests build on it."""

from __future__ import annotations

import pytest
from fakes import Interrupted, ScriptedChatModel, bounded, openai_error
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.tools import tool


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


def test_invoke_plays_the_script_in_order_and_records_calls() -> None:
    model = ScriptedChatModel(script=["one", AIMessage(content="two"), openai_error(429)])
    assert model.invoke("hi").content == "one"
    assert model.invoke([HumanMessage(content="again")]).content == "two"
    with pytest.raises(type(openai_error(429))):
        model.invoke("third")
    assert [c.messages[-1].content for c in model.calls] == ["hi", "again", "third"]
    assert model.remaining == 0
    with pytest.raises(AssertionError, match="script has 3 steps"):
        model.invoke("fourth")


def test_bind_tools_records_the_schemas() -> None:
    model = ScriptedChatModel(script=["ok"])
    model.bind_tools([echo], tool_choice="auto").invoke("hi")
    assert model.calls[0].tool_names == ["echo"]
    assert model.calls[0].kwargs == {"tool_choice": "auto"}


def test_streamed_chunks_add_up_to_the_scripted_message() -> None:
    scripted = AIMessage(
        content="Calling echo now.",
        tool_calls=[{"name": "echo", "args": {"text": "hello world"}, "id": "c1", "type": "tool_call"}],
    )
    model = ScriptedChatModel(script=[scripted])
    chunks = list(model.stream("hi"))
    assert len(chunks) > 4
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert isinstance(full, AIMessageChunk)
    assert full.content == "Calling echo now."
    assert [(c["name"], c["args"], c["id"]) for c in full.tool_calls] == [("echo", {"text": "hello world"}, "c1")]


@bounded
async def test_interrupted_streams_then_fails() -> None:
    model = ScriptedChatModel(script=[Interrupted("partial text here", TimeoutError("dropped"))])
    seen: list[str] = []
    with pytest.raises(TimeoutError):
        async for chunk in model.astream("hi"):
            seen.append(str(chunk.content))
    assert "".join(seen) == "partial text here"
