"""MCP tools: the "MCPServers" setting, and tools from real MCP servers (tests/mcp_server.py) over
stdio, streamable HTTP and SSE on loopback. Every wait is bounded; every process is checked gone."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException

from mm_agent.tools import (
    LoadedTools,
    McpServerConfig,
    McpToolbox,
    _unique_tool_names,
    parse_mcp_servers,
)

SERVER = str(Path(__file__).with_name("mcp_server.py"))
LOGGER = logging.getLogger("test.mm_agent.tools")
# Upper bound on any one test's async part; the real waits are much shorter.
TEST_LIMIT = 60.0

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, TEST_LIMIT)

    return asyncio.run(bounded())


def stdio_server(name: str, *extra: str) -> McpServerConfig:
    return McpServerConfig(name=name, transport="stdio", command=sys.executable, args=(SERVER, *extra))


def by_name(loaded: LoadedTools) -> dict[str, BaseTool]:
    return {tool.name: tool for tool in loaded.tools}


def processes_with(label: str) -> list[int]:
    """Live (or unreaped) processes whose command line carries `label`, by scanning /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue  # ended while we looked
        if label.encode() in cmdline.split(b"\0"):
            found.append(int(entry))
    return found


def assert_gone(label: str) -> None:
    deadline = time.monotonic() + 5
    while processes_with(label) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(label) == [], f"a process labelled {label} outlived aclose()"


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds processes through /proc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Any]:
    """Starts tests/mcp_server.py on a free loopback port; yields a function (flag) -> port."""
    started: list[subprocess.Popen[bytes]] = []

    def start(flag: str) -> int:
        port = free_port()
        log = (tmp_path / f"server-{port}.log").open("wb")
        process = subprocess.Popen([sys.executable, SERVER, flag, str(port)], stdout=log, stderr=log)
        started.append(process)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                time.sleep(0.05)
        output = (tmp_path / f"server-{port}.log").read_text(errors="replace")
        pytest.fail(f"the MCP test server did not start listening on port {port}:\n{output}")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- the setting --------------------------------------------------------------------------------


def test_empty_setting_means_no_servers() -> None:
    assert parse_mcp_servers("") == []
    assert parse_mcp_servers("  \n ") == []
    assert parse_mcp_servers("{}") == []
    assert parse_mcp_servers('{"mcpServers": {}}') == []


def test_the_common_shape_with_every_transport() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "files": {
                    "command": "npx",
                    "args": ["-y", "some-files-server", "/srv"],
                    "env": {"ROOT": "/srv"},
                    "cwd": "/tmp",
                },
                "search": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer t0ken"}},
                "legacy": {"url": "http://127.0.0.1:9000/sse", "transport": "sse"},
            },
            "otherClientSetting": True,
        }
    )
    files, search, legacy = parse_mcp_servers(text)
    assert files == McpServerConfig(
        name="files",
        transport="stdio",
        command="npx",
        args=("-y", "some-files-server", "/srv"),
        env={"ROOT": "/srv"},
        cwd="/tmp",
    )
    assert search == McpServerConfig(
        name="search",
        transport="streamable_http",
        url="https://mcp.example.com/mcp",
        headers={"Authorization": "Bearer t0ken"},
    )
    assert legacy == McpServerConfig(name="legacy", transport="sse", url="http://127.0.0.1:9000/sse")


def test_the_bare_shape_and_transport_spellings() -> None:
    text = json.dumps(
        {
            "a": {"command": "run-a"},
            "b": {"type": "sse", "url": "http://localhost/sse"},
            "c": {"type": "http", "url": "http://localhost/mcp"},
            "d": {"transport": "streamable-http", "url": "http://localhost/mcp"},
            "e": {"transport": "streamableHttp", "url": "http://localhost/mcp"},
            "f": {"transport": "stdio", "type": "stdio", "command": "run-f"},
            "g": {"command": "run-g", "disabled": True},
        }
    )
    servers = parse_mcp_servers(text)
    assert [(s.name, s.transport) for s in servers] == [
        ("a", "stdio"),
        ("b", "sse"),
        ("c", "streamable_http"),
        ("d", "streamable_http"),
        ("e", "streamable_http"),
        ("f", "stdio"),
    ]
    assert servers[0] == McpServerConfig(name="a", transport="stdio", command="run-a")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"files": ', "MCPServers is not valid JSON"),
        ("[1, 2]", "MCPServers must be a JSON object"),
        ('{"mcpServers": []}', '"mcpServers" must be a JSON object'),
        ('{"files": "npx files"}', 'MCP server "files": must be a JSON object'),
        ('{"files": {}}', 'MCP server "files": needs "command" or "url"'),
        ('{"files": {"args": ["x"]}}', 'MCP server "files": needs "command" or "url"'),
        ('{"files": {"command": "a", "url": "http://h/"}}', 'MCP server "files": has both "command" and "url"'),
        ('{"files": {"command": "a", "transport": "pipe"}}', 'MCP server "files": unknown transport "pipe"'),
        ('{"files": {"command": "a", "transport": "stdio", "type": "sse"}}', '"transport" and "type" disagree'),
        ('{"files": {"url": "http://h/", "transport": "stdio"}}', 'MCP server "files": needs "command" for the stdio'),
        ('{"web": {"command": "a", "type": "sse"}}', 'MCP server "web": needs "url" for the sse transport'),
        ('{"files": {"command": 7}}', 'MCP server "files": "command" must be a string'),
        ('{"files": {"command": "a", "args": "-v"}}', 'MCP server "files": "args" must be a list of strings'),
        ('{"files": {"command": "a", "env": {"N": 1}}}', 'MCP server "files": "env" entry "N" must be a string'),
        ('{"files": {"command": "a", "headers": {}}}', '"headers" does not apply to the stdio transport'),
        ('{"web": {"url": "http://h/", "env": {}}}', '"env" does not apply to the streamable_http transport'),
        ('{"web": {"url": "ftp://h/x"}}', 'MCP server "web": "url" must be an http:// or https:// URL'),
        ('{"web": {"url": "http://h/", "headers": ["a"]}}', '"headers" must be a JSON object of strings'),
        ('{"files": {"command": "a", "disabled": "yes"}}', '"disabled" must be true or false'),
        ('{"files": {"command": "a"}, "files": {"command": "b"}}', '"files" appears twice'),
        ('{" ": {"command": "a"}}', "a server has an empty name"),
    ],
)
def test_bad_settings_name_the_server_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mcp_servers(text)
    assert message in str(caught.value)


def test_errors_and_reprs_never_show_secret_values() -> None:
    secret = "sk-very-secret-value"
    cases = [
        # a bad JSON document containing a secret
        f'{{"web": {{"url": "https://h/mcp", "headers": {{"Authorization": "{secret}"}}}}',
        # a secret where a string belongs elsewhere
        json.dumps({"files": {"command": "a", "headers": {"Authorization": secret}}}),
        json.dumps({"files": {"command": "a", "env": {"TOKEN": secret, "N": 1}}}),
        # a URL that carries a secret but is not usable
        json.dumps({"web": {"url": f"ftp://h/x?key={secret}"}}),
    ]
    for text in cases:
        with pytest.raises(ValueError) as caught:
            parse_mcp_servers(text)
        assert secret not in str(caught.value)

    (web,) = parse_mcp_servers(json.dumps({"web": {"url": "https://h/mcp", "headers": {"X-Key": secret}}}))
    (files,) = parse_mcp_servers(json.dumps({"files": {"command": "a", "env": {"TOKEN": secret}}}))
    assert secret not in repr(web)
    assert secret not in repr(files)


def test_tool_names_are_unique_and_safe_for_chat_providers() -> None:
    pairs = [
        ("alpha", "add"),
        ("beta", "add"),
        ("alpha", "echo"),
        ("my server", "files.read"),
        ("a_b", "c"),
        ("a", "b_c"),
        ("a", "a_b_c"),
        ("long", "x" * 80),
    ]
    names = _unique_tool_names(pairs)
    assert names[:4] == ["alpha_add", "beta_add", "echo", "files_read"]
    # "c" and "b_c" do not clash, but the prefixed "a_b_c"s would: numbered.
    assert names[4:7] == ["c", "b_c", "a_b_c"]
    assert len(names[7]) == 64
    assert len(set(names)) == len(names)
    assert all(name.replace("_", "").replace("-", "").isalnum() for name in names)
    clashing = _unique_tool_names([("a_b", "c"), ("a", "b_c"), ("x", "c"), ("y", "b_c")])
    assert clashing == ["a_b_c", "a_b_c_2", "x_c", "y_b_c"]


# --- real servers -------------------------------------------------------------------------------


@needs_proc
def test_stdio_tools_load_call_and_the_process_ends_with_aclose() -> None:
    label = f"mm-agent-test-{uuid.uuid4()}"

    async def scenario() -> None:
        toolbox = McpToolbox([stdio_server("local", "--label", label)], logger=LOGGER)
        try:
            loaded = await toolbox.load()
            assert loaded.failures == {}
            tools = by_name(loaded)
            assert set(tools) == {"add", "echo", "word_count", "fail", "slow", "crash"}
            assert len(processes_with(label)) == 1
            assert tools["add"].description == "Add two integers."
            assert await tools["add"].ainvoke({"a": 2, "b": 3}) == "5"
            assert await tools["echo"].ainvoke({"text": "hello there"}) == "hello there"
            assert await tools["word_count"].ainvoke({"text": "one two  three"}) == "3"
            # The agent loop invokes a tool with the model's whole tool call and gets a ToolMessage.
            message = await tools["add"].ainvoke(
                {"type": "tool_call", "id": "call-1", "name": "add", "args": {"a": 1, "b": 2}}
            )
            assert isinstance(message, ToolMessage)
            assert (message.content, message.tool_call_id, message.name) == ("3", "call-1", "add")
            assert tools["add"].metadata is not None
            assert tools["add"].metadata["mcp_server"] == "local"
        finally:
            await toolbox.aclose()
        assert_gone(label)
        await toolbox.aclose()  # idempotent
        with pytest.raises(RuntimeError, match="once"):
            await toolbox.load()

    run(scenario())


def test_a_failing_tool_raises_with_its_message() -> None:
    async def scenario() -> None:
        toolbox = McpToolbox([stdio_server("local")], logger=LOGGER)
        try:
            tools = by_name(await toolbox.load())
            with pytest.raises(ToolException, match=r"no such file: notes\.txt"):
                await tools["fail"].ainvoke({"message": "no such file: notes.txt"})
            # The session is still good after a tool's error.
            assert await tools["add"].ainvoke({"a": 1, "b": 1}) == "2"
        finally:
            await toolbox.aclose()

    run(scenario())


@pytest.mark.parametrize(
    ("flag", "transport", "path"), [("--http", "streamable_http", "/mcp"), ("--sse", "sse", "/sse")]
)
def test_tools_over_http(http_server: Any, flag: str, transport: str, path: str) -> None:
    port = http_server(flag)
    config = McpServerConfig(name="web", transport=transport, url=f"http://127.0.0.1:{port}{path}")

    async def scenario() -> None:
        toolbox = McpToolbox([config], logger=LOGGER)
        try:
            loaded = await toolbox.load()
            assert loaded.failures == {}
            tools = by_name(loaded)
            assert await tools["add"].ainvoke({"a": 40, "b": 2}) == "42"
            assert await tools["word_count"].ainvoke({"text": "a b c d"}) == "4"
            with pytest.raises(ToolException, match="out of cheese"):
                await tools["fail"].ainvoke({"message": "out of cheese"})
        finally:
            await toolbox.aclose()

    run(scenario())


@needs_proc
def test_unreachable_servers_are_reported_and_the_others_still_load(caplog: pytest.LogCaptureFixture) -> None:
    label = f"mm-agent-test-{uuid.uuid4()}"
    configs = [
        McpServerConfig(name="missing", transport="stdio", command=f"no-such-command-{uuid.uuid4().hex}"),
        McpServerConfig(name="refused", transport="streamable_http", url=f"http://127.0.0.1:{free_port()}/mcp"),
        McpServerConfig(name="quits", transport="stdio", command=sys.executable, args=("-c", "print('bye')")),
        stdio_server("good", "--label", label, "--tools", "add"),
    ]

    async def scenario() -> LoadedTools:
        toolbox = McpToolbox(configs, logger=LOGGER, connect_timeout=10)
        try:
            loaded = await toolbox.load()
            assert await by_name(loaded)["add"].ainvoke({"a": 1, "b": 2}) == "3"
            return loaded
        finally:
            await toolbox.aclose()

    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        loaded = run(scenario())
    assert [tool.name for tool in loaded.tools] == ["add"]
    assert set(loaded.failures) == {"missing", "refused", "quits"}
    assert "No such file" in loaded.failures["missing"]
    assert "ConnectError" in loaded.failures["refused"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    for name in ("missing", "refused", "quits"):
        assert any(f"'{name}'" in message and loaded.failures[name] in message for message in warnings), name
    assert_gone(label)


def test_failure_reasons_mask_credentials(http_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    port = http_server("--sse")
    secret = "query-secret-123456"
    header = "header-secret-654321"
    config = McpServerConfig(
        name="web",
        transport="sse",
        # The SSE endpoint is /sse; /mcp answers with an HTTP error that quotes the URL.
        url=f"http://127.0.0.1:{port}/mcp?key={secret}",
        headers={"Authorization": f"Bearer {header}"},
    )

    async def scenario() -> LoadedTools:
        toolbox = McpToolbox([config], logger=LOGGER)
        try:
            return await toolbox.load()
        finally:
            await toolbox.aclose()

    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        loaded = run(scenario())
    assert f"127.0.0.1:{port}/mcp" in loaded.failures["web"]
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == LOGGER.name)
    for text in (loaded.failures["web"], logged):
        assert secret not in text
        assert header not in text


@needs_proc
def test_a_server_that_never_answers_is_given_up_on_at_the_connect_timeout() -> None:
    label = f"mm-agent-test-{uuid.uuid4()}"
    silent = McpServerConfig(
        name="silent", transport="stdio", command=sys.executable, args=("-c", "import time; time.sleep(120)", label)
    )

    async def scenario() -> None:
        toolbox = McpToolbox([silent, stdio_server("good", "--tools", "echo")], logger=LOGGER, connect_timeout=1.5)
        try:
            started = time.monotonic()
            loaded = await toolbox.load()
            elapsed = time.monotonic() - started
            assert 1.4 < elapsed < 4, elapsed
            assert loaded.failures == {"silent": "no answer within 1.5 s"}
            assert [tool.name for tool in loaded.tools] == ["echo"]
        finally:
            await toolbox.aclose()
        assert_gone(label)

    run(scenario())


@needs_proc
def test_aclose_during_load_ends_every_server_promptly() -> None:
    label = f"mm-agent-test-{uuid.uuid4()}"
    silent = McpServerConfig(
        name="silent", transport="stdio", command=sys.executable, args=("-c", "import time; time.sleep(120)", label)
    )

    async def scenario() -> None:
        toolbox = McpToolbox([silent, stdio_server("good", "--label", label)], logger=LOGGER, connect_timeout=30)
        loading = asyncio.create_task(toolbox.load())
        deadline = time.monotonic() + 10
        while len(processes_with(label)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let the good server finish its handshake
        started = time.monotonic()
        await toolbox.aclose()
        loaded = await loading
        assert time.monotonic() - started < 5  # not the connect timeout
        assert loaded.tools == []
        assert loaded.failures == {
            "silent": "the toolbox was closed while loading",
            "good": "the toolbox was closed while loading",
        }
        assert_gone(label)

    run(scenario())


def test_clashing_tool_names_get_their_server_as_prefix() -> None:
    async def scenario() -> None:
        toolbox = McpToolbox(
            [stdio_server("alpha", "--tools", "add,echo"), stdio_server("beta", "--tools", "add,word_count")],
            logger=LOGGER,
        )
        try:
            tools = by_name(await toolbox.load())
            assert set(tools) == {"alpha_add", "beta_add", "echo", "word_count"}
            assert await tools["alpha_add"].ainvoke({"a": 1, "b": 2}) == "3"
            assert await tools["beta_add"].ainvoke({"a": 10, "b": 20}) == "30"
            assert tools["beta_add"].metadata is not None
            assert tools["beta_add"].metadata["mcp_server"] == "beta"
        finally:
            await toolbox.aclose()

    run(scenario())


def test_a_server_that_dies_meanwhile_fails_calls_promptly(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        toolbox = McpToolbox([stdio_server("fragile")], logger=LOGGER, call_timeout=20)
        try:
            tools = by_name(await toolbox.load())
            started = time.monotonic()
            with pytest.raises(ToolException, match='"crash" on server "fragile" failed'):
                await tools["crash"].ainvoke({})
            with pytest.raises(ToolException, match='"add" on server "fragile" is unavailable'):
                await tools["add"].ainvoke({"a": 1, "b": 1})
            assert time.monotonic() - started < 5  # not the call timeout
        finally:
            await toolbox.aclose()

    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        run(scenario())
    assert any("'fragile' lost its connection" in record.getMessage() for record in caplog.records)


def test_a_slow_tool_call_is_bounded_by_the_call_timeout() -> None:
    async def scenario() -> None:
        toolbox = McpToolbox([stdio_server("local")], logger=LOGGER, call_timeout=0.5)
        try:
            tools = by_name(await toolbox.load())
            started = time.monotonic()
            with pytest.raises(ToolException, match=r'"slow" on server "local" did not answer within 0.5 s'):
                await tools["slow"].ainvoke({"seconds": 30})
            assert time.monotonic() - started < 3
            # The session survives a call given up on.
            assert await tools["echo"].ainvoke({"text": "still here"}) == "still here"
        finally:
            await toolbox.aclose()

    run(scenario())


def test_repeated_server_names_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated: twin"):
        McpToolbox([stdio_server("twin"), stdio_server("twin")], logger=LOGGER)
