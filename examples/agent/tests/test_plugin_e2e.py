"""The agent plugin end to end on the dev host (`mm-plugin-host`), offline: the OpenAI bot talks
to a local OpenAI-compatible server (`fake_openai.py`) through LangChain as it would to a real
one; the Claude bot has no key and says how to configure it."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_openai import Answer, Failure, FakeOpenAI, ToolCall

from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import PluginAPI

AGENT = pathlib.Path(__file__).resolve().parents[1]
ROOT = AGENT.parents[1]
ANSWER = "Hello from the fake model, streamed word by word to the thread"


@pytest.fixture(scope="module")
def host_binary() -> str:
    """The dev host: `$MM_PLUGIN_HOST`, else the repository's debug build (built when missing)."""
    if os.environ.get("MM_PLUGIN_HOST"):
        return os.environ["MM_PLUGIN_HOST"]
    binary = ROOT / "target" / "debug" / "mm-plugin-host"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "mattermost-plugin-devhost", "--bin", "mm-plugin-host"], cwd=ROOT, check=True
        )
    return str(binary)


@pytest.fixture
def plugin_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the plugin (the test kit links the current virtualenv into it)."""
    target = tmp_path / "agent"
    shutil.copytree(AGENT, target, ignore=shutil.ignore_patterns("tests", "__pycache__", ".venv", "venv"))
    return target


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI([ANSWER]).running() as fake:
        yield fake


def _wait(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _thread(host: DevHost, root_id: str) -> list[dict[str, Any]]:
    status, body = host.request("GET", f"/api/v4/posts/{root_id}/thread")
    assert status == 200, body
    posts: list[dict[str, Any]] = json.loads(body)["posts"]
    return posts


def _reply(host: DevHost, root_id: str, bot_id: str, final: Callable[[str], bool]) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        return next((p for p in _thread(host, root_id) if p["user_id"] == bot_id and final(p["message"])), None)

    reply: dict[str, Any] = _wait(done, "the bot's reply")
    return reply


def test_a_direct_message_to_each_bot_gets_a_threaded_reply(
    host_binary: str, plugin_dir: pathlib.Path, fake_openai: FakeOpenAI
) -> None:
    with DevHost(plugin_dir, binary=host_binary, python_env=sys.prefix) as host:
        config = {"OpenAIAPIKey": "sk-test", "OpenAIBaseURL": fake_openai.base_url, "OpenAIModel": "fake-model"}
        assert host.set_configuration(config)[0] == 200
        me = host.seed()["user"]
        openai_bot, claude_bot = host.user("openai-agent"), host.user("claude-agent")
        assert openai_bot["is_bot"] and claude_bot["is_bot"]

        # The OpenAI bot: the hook returns while the answer is still streaming in.
        dm = host.direct_channel(me["id"], openai_bot["id"])
        began = time.monotonic()
        status, question = host.create_post("What can you do?", channel_id=dm["id"])
        answered_at = time.monotonic()
        assert status == 201, question
        reply = _reply(host, question["id"], openai_bot["id"], lambda m: m == ANSWER)
        assert fake_openai.finished and answered_at < fake_openai.finished[0], "the hook waited for the model"
        assert answered_at - began < fake_openai.chunk_delay * len(ANSWER.split()) / 2
        assert reply["root_id"] == question["id"] and reply["channel_id"] == dm["id"]
        # It streamed: the reply post was updated several times before it was final.
        updates = [c for c in host.api_calls(PluginAPI.update_post) if c.args and c.args["post"].id == reply["id"]]
        assert len(updates) >= 3, [c.args["post"].message for c in updates if c.args]
        assert any(c.args and "▌" in c.args["post"].message for c in updates)
        # The model saw the system prompt and the question, named.
        sent = fake_openai.requests[0]
        assert sent["model"] == "fake-model" and sent["stream"] is True
        roles = [m["role"] for m in sent["messages"]]
        assert roles == ["system", "user"], sent["messages"]
        assert "What can you do?" in sent["messages"][-1]["content"]
        assert "dev.user" in sent["messages"][-1]["content"]

        # The Claude bot has no key: it answers with how to configure it.
        dm = host.direct_channel(me["id"], claude_bot["id"])
        status, question = host.create_post("Are you there?", channel_id=dm["id"])
        assert status == 201, question
        reply = _reply(host, question["id"], claude_bot["id"], lambda m: "Anthropic" in m)
        assert "`AnthropicAPIKey`" in reply["message"], reply["message"]
        assert len(fake_openai.requests) == 1, "the Claude bot must not use the other provider"


def test_mentions_in_a_channel_are_answered_in_the_thread_and_bots_never_answer_bots(
    host_binary: str, plugin_dir: pathlib.Path, fake_openai: FakeOpenAI
) -> None:
    with DevHost(plugin_dir, binary=host_binary, python_env=sys.prefix) as host:
        config = {"OpenAIAPIKey": "sk-test", "OpenAIBaseURL": fake_openai.base_url}
        assert host.set_configuration(config)[0] == 200
        openai_bot, claude_bot = host.user("openai-agent"), host.user("claude-agent")

        # Both bots mentioned: each answers once in the thread, neither answers the other.
        status, question = host.create_post("@openai-agent and @claude-agent, hello!")
        assert status == 201, question
        _reply(host, question["id"], openai_bot["id"], lambda m: m == ANSWER)
        _reply(host, question["id"], claude_bot["id"], lambda m: "Anthropic" in m)
        time.sleep(1.0)  # time enough for a loop to show
        authors = [p["user_id"] for p in _thread(host, question["id"])]
        assert sorted(authors) == sorted([question["user_id"], openai_bot["id"], claude_bot["id"]]), authors

        # A follow-up in the thread mentioning the OpenAI bot carries the thread as history.
        status, follow_up = host.create_post("@openai-agent say it again", root_id=question["id"])
        assert status == 201, follow_up
        _wait(lambda: len(fake_openai.requests) == 2 and len(fake_openai.finished) == 2, "the second answer")
        history = fake_openai.requests[1]["messages"]
        # The question, both answers (the two replies started together, in either order: the
        # other bot's as a named participant), then the follow-up.
        assert [m["role"] for m in history[:2]] == ["system", "user"], history
        assert sorted(m["role"] for m in history[2:4]) == ["assistant", "user"], history
        assert {m["content"] for m in history[2:4] if m["role"] == "assistant"} == {ANSWER}
        assert any("claude-agent" in m["content"] for m in history[2:4] if m["role"] == "user"), history
        assert history[4]["role"] == "user" and "say it again" in history[4]["content"], history
        assert len(history) == 5, history

        # A post nobody addressed gets no answer.
        status, _ = host.create_post("just chatting")
        assert status == 201
        time.sleep(0.5)
        assert len(fake_openai.requests) == 2


def test_a_tool_call_runs_through_a_real_mcp_server_and_shows_as_a_status_line(
    host_binary: str, plugin_dir: pathlib.Path
) -> None:
    answers: list[Answer] = [ToolCall("add", {"a": 2, "b": 3}), "2 + 3 = 5"]
    server = {"command": sys.executable, "args": [str(AGENT / "tests" / "mcp_server.py"), "--tools", "add"]}
    with FakeOpenAI(answers).running() as fake, DevHost(plugin_dir, binary=host_binary, python_env=sys.prefix) as host:
        config = {
            "OpenAIAPIKey": "sk-test",
            "OpenAIBaseURL": fake.base_url,
            "MCPServers": json.dumps({"mcpServers": {"calc": server}}),
        }
        assert host.set_configuration(config)[0] == 200
        bot = host.user("openai-agent")
        status, question = host.create_post("@openai-agent what is 2 + 3?")
        assert status == 201, question
        reply = _reply(host, question["id"], bot["id"], lambda m: m == "2 + 3 = 5")

        # The model was offered the MCP server's tool, asked for it, and got its result back.
        first, second = fake.requests
        assert [t["function"]["name"] for t in first["tools"]] == ["add"], first.get("tools")
        asked = [m for m in second["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
        assert [c["function"]["name"] for c in asked[0]["tool_calls"]] == ["add"], second["messages"]
        results = [m for m in second["messages"] if m["role"] == "tool"]
        assert [r["content"] for r in results] == ["5"], results
        # While the tool ran, the reply showed a status line naming it.
        shown = [c.args["post"].message for c in host.api_calls(PluginAPI.update_post) if c.args]
        assert any(m.startswith("_") and "add" in m.split("\n")[0] for m in shown), shown
        assert reply["message"] == "2 + 3 = 5"


def test_transient_errors_are_retried_and_a_final_failure_is_said_in_the_thread(
    host_binary: str, plugin_dir: pathlib.Path
) -> None:
    answers: list[Answer] = [Failure(429), Failure(503), ANSWER, Failure(500)]
    with FakeOpenAI(answers).running() as fake, DevHost(plugin_dir, binary=host_binary, python_env=sys.prefix) as host:
        assert host.set_configuration({"OpenAIAPIKey": "sk-test", "OpenAIBaseURL": fake.base_url})[0] == 200
        bot = host.user("openai-agent")
        # A rate limit, then a 503: retried (the server asks for no wait), then answered.
        status, question = host.create_post("@openai-agent hello?")
        assert status == 201, question
        _reply(host, question["id"], bot["id"], lambda m: m == ANSWER)
        assert len(fake.requests) == 3
        # Then only 500s: the retry budget runs out and the thread hears why.
        status, question = host.create_post("@openai-agent again?")
        assert status == 201, question
        reply = _reply(host, question["id"], bot["id"], lambda m: m.startswith("Sorry"))
        assert "could not get an answer" in reply["message"] and "500" in reply["message"], reply["message"]
        assert len(fake.requests) == 3 + 4, "four tries in all"


def test_an_unreachable_mcp_server_is_logged_and_the_bot_answers_without_it(
    host_binary: str, plugin_dir: pathlib.Path, fake_openai: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    servers = {"mcpServers": {"gone": {"command": str(plugin_dir / "no-such-server")}}}
    with DevHost(plugin_dir, binary=host_binary, python_env=sys.prefix) as host:
        config = {"OpenAIAPIKey": "sk-test", "OpenAIBaseURL": fake_openai.base_url, "MCPServers": json.dumps(servers)}
        assert host.set_configuration(config)[0] == 200
        bot = host.user("openai-agent")
        status, question = host.create_post("@openai-agent anyone there?")
        assert status == 201, question
        _reply(host, question["id"], bot["id"], lambda m: m == ANSWER)
        assert "tools" not in fake_openai.requests[0]
    # The host's console (the plugin's log) names the server that could not be reached.
    assert "gone" in capfd.readouterr().err
