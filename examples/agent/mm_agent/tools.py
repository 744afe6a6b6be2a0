"""MCP tools for the agent: the "MCPServers" setting, and LangChain tools from the servers it names.

`parse_mcp_servers` reads the setting (JSON text) into `McpServerConfig`s. `McpToolbox` connects to
every server at once through langchain-mcp-adapters, each bounded by a timeout, and hands back the
tools of those that answered plus a short reason for each that did not.

Sessions are long-lived: one per server, opened by `load()` and closed by `aclose()`. Measured on
the stdio test server, a session per tool call costs about 450 ms a call (a new Python process and
MCP handshake each time) against about 2 ms on an open session; real servers started through npx
or uvx take seconds, and stateful ones would forget everything between calls. The price is care
at the edges: anyio (under the MCP client) requires a session to be closed by the task that opened
it, so each session lives in a task of its own until `aclose()` (which also ends every stdio
subprocess); the tools refuse calls from another event loop than the one that loaded them; and
every call is bounded by a timeout, so a server that died meanwhile gives an error, not a hang.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langchain_mcp_adapters.sessions import (
    Connection,
    SSEConnection,
    StdioConnection,
    StreamableHttpConnection,
    create_session,
)
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp.shared.exceptions import McpError
from mcp.types import CONNECTION_CLOSED

__all__ = ["LoadedTools", "McpServerConfig", "McpToolbox", "parse_mcp_servers"]

STDIO = "stdio"
STREAMABLE_HTTP = "streamable_http"
SSE = "sse"

# Spellings other MCP clients use in their configuration files, folded to ours.
_TRANSPORT_SPELLINGS = {
    "stdio": STDIO,
    "sse": SSE,
    "streamable_http": STREAMABLE_HTTP,
    "streamablehttp": STREAMABLE_HTTP,
    "http": STREAMABLE_HTTP,
}

# What anyio's streams raise, without a message, once the other end of a session has gone.
_CLOSED_STREAM_ERRORS = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)

# Chat providers accept tool names of 1-64 characters from this set (OpenAI and Anthropic alike).
_TOOL_NAME_LIMIT = 64
_TOOL_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

# How long a tool call may take before the agent gets an error instead of an answer.
DEFAULT_CALL_TIMEOUT = 60.0
# How long aclose() lets a session end by itself (the MCP client gives a stdio server 2 s after
# closing its input, then signals it) before cancelling it, which kills the process outright.
_CLOSE_GRACE = 6.0
_CLOSED_WHILE_LOADING = "the toolbox was closed while loading"
# Reasons shown to users and written to logs are cut to this length.
_REASON_LIMIT = 300
# Header and env values shorter than this are not masked in messages: too short to be secrets, and
# masking them ("1", "true") would garble the message.
_MIN_SECRET_LENGTH = 6


@dataclasses.dataclass(frozen=True)
class McpServerConfig:
    """One MCP server from the "MCPServers" setting.

    `env` and `headers` often hold credentials, so they stay out of the repr (and so out of logs).
    """

    name: str
    transport: str  # STDIO, STREAMABLE_HTTP or SSE
    # stdio: the command that starts the server, as a subprocess of the plugin
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = dataclasses.field(default=None, repr=False)
    cwd: str | None = None
    # streamable HTTP / SSE
    url: str = ""
    headers: Mapping[str, str] | None = dataclasses.field(default=None, repr=False)


def parse_mcp_servers(text: str) -> list[McpServerConfig]:
    """Read the "MCPServers" setting: `{"mcpServers": {name: {...}}}` or just `{name: {...}}`.

    A server with "command" runs over stdio; one with "url" over streamable HTTP, or SSE when
    "transport" (or "type") says "sse". Servers marked `"disabled": true` are left out. Raises
    ValueError naming the setting or the server and what is wrong; values are never quoted back, as
    they may be secrets.
    """
    if not text.strip():
        return []
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: str(exc) is the same, but the document is not echoed anyway.
        raise ValueError(f"MCPServers is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(document, dict):
        raise ValueError("MCPServers must be a JSON object of servers by name")
    servers = document.get("mcpServers", document)
    if not isinstance(servers, dict):
        raise ValueError('MCPServers: "mcpServers" must be a JSON object of servers by name')

    configs = []
    for name, entry in servers.items():
        config = _parse_server(name, entry)
        if config is not None:
            configs.append(config)
    return configs


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last of two servers with one name.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f'MCPServers: "{key}" appears twice in one object')
        result[key] = value
    return result


def _parse_server(name: str, entry: object) -> McpServerConfig | None:
    if not name.strip():
        raise ValueError("MCPServers: a server has an empty name")

    def bad(problem: str) -> ValueError:
        return ValueError(f'MCP server "{name}": {problem}')

    if not isinstance(entry, dict):
        raise bad("must be a JSON object")
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise bad('"disabled" must be true or false')
    if disabled:
        return None

    transport = _transport(entry, bad)
    command = _optional_string(entry, "command", bad)
    url = _optional_string(entry, "url", bad)
    if command and url:
        raise bad('has both "command" and "url"; give one')
    if transport is None:
        if not command and not url:
            raise bad('needs "command" or "url"')
        transport = STDIO if command else STREAMABLE_HTTP

    if transport == STDIO:
        if not command:
            raise bad('needs "command" for the stdio transport')
        _refuse_keys(entry, ("headers",), "stdio", bad)
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
            raise bad('"args" must be a list of strings')
        cwd = _optional_string(entry, "cwd", bad)
        return McpServerConfig(
            name=name,
            transport=STDIO,
            command=command,
            args=tuple(args),
            env=_string_map(entry, "env", bad),
            cwd=cwd or None,
        )

    if not url:
        raise bad(f'needs "url" for the {transport} transport')
    _refuse_keys(entry, ("args", "env", "cwd"), transport, bad)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad('"url" must be an http:// or https:// URL')
    return McpServerConfig(name=name, transport=transport, url=url, headers=_string_map(entry, "headers", bad))


def _transport(entry: dict[str, Any], bad: Any) -> str | None:
    given = {key: entry[key] for key in ("transport", "type") if key in entry}
    if not given:
        return None
    found = set()
    for key, value in given.items():
        if not isinstance(value, str):
            raise bad(f'"{key}" must be a string')
        spelling = value.strip().lower().replace("-", "_")
        if spelling not in _TRANSPORT_SPELLINGS:
            raise bad(f'unknown {key} "{value}" (use "stdio", "streamable_http" or "sse")')
        found.add(_TRANSPORT_SPELLINGS[spelling])
    if len(found) > 1:
        raise bad('"transport" and "type" disagree')
    return found.pop()


def _optional_string(entry: dict[str, Any], key: str, bad: Any) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise bad(f'"{key}" must be a string')
    return value.strip()


def _string_map(entry: dict[str, Any], key: str, bad: Any) -> dict[str, str] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(f'"{key}" must be a JSON object of strings')
    for item_key, item in value.items():
        if not isinstance(item, str):
            # The key names the variable or header; its value stays unquoted.
            raise bad(f'"{key}" entry "{item_key}" must be a string')
    return dict(value)


def _refuse_keys(entry: dict[str, Any], keys: Sequence[str], transport: str, bad: Any) -> None:
    for key in keys:
        if key in entry:
            raise bad(f'"{key}" does not apply to the {transport} transport')


def _connection(config: McpServerConfig) -> Connection:
    if config.transport == STDIO:
        stdio: StdioConnection = {"transport": "stdio", "command": config.command, "args": list(config.args)}
        if config.env is not None:
            stdio["env"] = dict(config.env)
        if config.cwd:
            stdio["cwd"] = config.cwd
        return stdio
    headers = dict(config.headers) if config.headers else None
    if config.transport == SSE:
        sse: SSEConnection = {"transport": "sse", "url": config.url, "headers": headers}
        return sse
    http: StreamableHttpConnection = {"transport": "streamable_http", "url": config.url, "headers": headers}
    return http


@dataclasses.dataclass
class LoadedTools:
    tools: list[BaseTool]  # from every server that answered, names unique across servers
    failures: dict[str, str]  # server name -> short reason it is missing


class McpToolbox:
    """The MCP servers of one configuration: their tools while open, their processes until closed.

    Use from a single event loop: `load()` once, call the tools, `aclose()` when the configuration
    changes or the plugin stops.
    """

    def __init__(
        self,
        configs: Sequence[McpServerConfig],
        *,
        logger: logging.Logger,
        connect_timeout: float = 10.0,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        names = [config.name for config in configs]
        repeated = sorted(name for name, count in collections.Counter(names).items() if count > 1)
        if repeated:
            raise ValueError(f"MCP server names must be unique; repeated: {', '.join(repeated)}")
        self._configs = list(configs)
        self._logger = logger
        self._connect_timeout = connect_timeout
        self._call_timeout = call_timeout
        self._servers: list[_Server] = []
        self._state = "new"  # -> "loaded" -> "closed"

    async def load(self) -> LoadedTools:
        """Connect to every server concurrently and list its tools; a server that fails is skipped.

        Failures are logged (WARNING, naming the server) and returned by name. Takes at most about
        `connect_timeout`: a server given up on finishes closing in the background (aclose waits).
        """
        if self._state != "new":
            raise RuntimeError(f"McpToolbox.load() can run once, on a new toolbox (this one is {self._state})")
        self._state = "loaded"
        servers = self._servers = [_Server(config, self._logger, self._call_timeout) for config in self._configs]
        try:
            outcomes = await asyncio.gather(*(server.start(self._connect_timeout) for server in servers))
        except BaseException:
            # Cancelled (say, at a hook's deadline): stop everything; aclose() still awaits the ends.
            for server in servers:
                server.cancel()
            raise

        found: list[tuple[_Server, BaseTool]] = []
        failures: dict[str, str] = {}
        closed = self._state == "closed"  # aclose() ran meanwhile: the sessions are gone
        for server, outcome in zip(servers, outcomes, strict=True):
            if closed:
                failures[server.name] = _CLOSED_WHILE_LOADING
            elif isinstance(outcome, str):
                failures[server.name] = outcome
                self._logger.warning("MCP server %r is unavailable: %s", server.name, outcome)
            else:
                self._logger.info("MCP server %r: %d tools", server.name, len(outcome))
                found.extend((server, tool) for tool in outcome)

        names = _unique_tool_names([(server.name, tool.name) for server, tool in found])
        tools = [server.wrap(tool, name) for (server, tool), name in zip(found, names, strict=True)]
        return LoadedTools(tools=tools, failures=failures)

    async def aclose(self) -> None:
        """End every session and stop every server process this toolbox started. Idempotent."""
        self._state = "closed"
        servers, self._servers = self._servers, []
        tasks = [task for task in (server.finish() for server in servers) if task is not None]
        if not tasks:
            return
        _done, stuck = await asyncio.wait(tasks, timeout=_CLOSE_GRACE)
        for task in stuck:
            task.cancel()  # anyio kills a subprocess whose owner is cancelled
        if stuck:
            await asyncio.wait(stuck, timeout=_CLOSE_GRACE)
            for task in stuck:
                if not task.done():
                    self._logger.error("MCP server %r did not shut down", task.get_name())


class _Server:
    """One server's session, owned by a task that keeps it open until told to stop."""

    def __init__(self, config: McpServerConfig, logger: logging.Logger, call_timeout: float) -> None:
        self.config = config
        self.name = config.name
        self._logger = logger
        self._call_timeout = call_timeout
        self._ready: asyncio.Future[list[BaseTool]] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = False

    async def start(self, timeout: float) -> list[BaseTool] | str:
        """The server's tools, or why there are none (the session is then already being closed)."""
        self._loop = asyncio.get_running_loop()
        self._ready = self._loop.create_future()
        self._task = asyncio.create_task(self._own_session(self._ready), name=self.name)
        try:
            # shield: a timeout must not cancel the future the owner task still resolves.
            return await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except asyncio.TimeoutError:
            self.cancel()
            return f"no answer within {timeout:g} s"
        except asyncio.CancelledError:
            if self._ready.cancelled():  # the owner task was stopped by aclose(), not this one
                return _CLOSED_WHILE_LOADING
            raise
        except Exception as exc:
            self.cancel()
            return self.describe(exc)

    async def _own_session(self, ready: asyncio.Future[list[BaseTool]]) -> None:
        try:
            async with create_session(_connection(self.config)) as session:
                await session.initialize()
                # handle_tool_errors=False: a tool's own error is raised, like every other failure.
                tools = await load_mcp_tools(session, server_name=self.name, handle_tool_errors=False)
                if ready.done():  # given up on meanwhile
                    return
                self._connected = True
                ready.set_result(tools)
                await self._stop.wait()
            if not self._stop.is_set():
                # The transport ended the session quietly (a stdio server that exited, say).
                self._logger.warning("MCP server %r closed the connection", self.name)
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif not self._stop.is_set():
                self._logger.warning("MCP server %r disconnected: %s", self.name, self.describe(exc))
        finally:
            self._connected = False
            if not ready.done():
                ready.cancel()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def finish(self) -> asyncio.Task[None] | None:
        """Ask the owner task to close the session; returns the task to await."""
        self._stop.set()
        if self._ready is not None and not self._ready.done():
            self.cancel()  # still connecting: there is no session to close gracefully
        return self._task

    def wrap(self, tool: BaseTool, name: str) -> BaseTool:
        """The adapter's tool under its unique name, with the call bounded and the result as text."""
        invoke = tool.coroutine if isinstance(tool, StructuredTool) else None
        if invoke is None:
            raise TypeError(f'MCP tool "{tool.name}": expected an async StructuredTool from load_mcp_tools')

        async def call(**arguments: Any) -> Any:
            return await self._call(tool.name, invoke, arguments)

        metadata = dict(tool.metadata or {})
        metadata.update(mcp_server=self.name, mcp_tool=tool.name)
        return StructuredTool(
            name=name,
            description=tool.description,
            # load_mcp_tools always sets the server's JSON schema; an empty one would mean "no arguments".
            args_schema=tool.args_schema if tool.args_schema is not None else {"type": "object", "properties": {}},
            coroutine=call,
            metadata=metadata,
        )

    async def _call(self, tool: str, invoke: Callable[..., Awaitable[Any]], arguments: dict[str, Any]) -> Any:
        where = f'MCP tool "{tool}" on server "{self.name}"'
        if not self._connected:
            raise ToolException(f"{where} is unavailable: the server is not connected")
        if asyncio.get_running_loop() is not self._loop:
            raise ToolException(f"{where} was called from another event loop than the one that loaded it")
        try:
            # The adapter's coroutine answers (content blocks, structured content); the latter is
            # only a machine-readable copy of the former.
            content, _structured = await asyncio.wait_for(invoke(**arguments), self._call_timeout)
        except asyncio.TimeoutError:
            raise ToolException(f"{where} did not answer within {self._call_timeout:g} s") from None
        except ToolException:
            raise  # the tool reported an error; its text is the message
        except Exception as exc:
            if self._connected and _connection_lost(exc):
                # A stdio session does not notice a server that exits until it is used.
                self._connected = False
                self._logger.warning("MCP server %r lost its connection", self.name)
            raise ToolException(f"{where} failed: {self.describe(exc)}") from exc
        return _as_text(content)

    def describe(self, exc: BaseException) -> str:
        """A one-line reason from an exception, unwrapping anyio's exception groups, secrets masked."""
        while True:
            inner = getattr(exc, "exceptions", None)
            if not inner:
                break
            exc = inner[0]
        text = " ".join(str(exc).split())
        if not text and isinstance(exc, _CLOSED_STREAM_ERRORS):
            text = "the connection to the server is closed"
        reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        reason = _mask_secrets(reason, self.config)
        return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 1] + "…"


def _connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, McpError):
        return exc.error.code == CONNECTION_CLOSED
    return isinstance(exc, _CLOSED_STREAM_ERRORS)


def _mask_secrets(text: str, config: McpServerConfig) -> str:
    secrets = [*(config.headers or {}).values(), *(config.env or {}).values()]
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    if config.url:
        # Credentials in a URL sit in its user part or query; errors (HTTP status ones) quote it whole.
        parts = urllib.parse.urlsplit(config.url)
        if parts.query or parts.username or parts.password:
            host = parts.hostname or ""
            shown = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
            text = text.replace(config.url, shown)
    return text


def _as_text(content: Any) -> Any:
    # The adapter returns content blocks; text-only results (the usual) become one string, which every
    # chat model takes as a tool result. Anything else (images, files) is passed on as blocks.
    if isinstance(content, list) and all(isinstance(block, dict) and block.get("type") == "text" for block in content):
        return "\n".join(str(block.get("text", "")) for block in content)
    return content


def _unique_tool_names(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Names safe for chat providers; a name two servers share is prefixed with each server's name."""
    plain = [_safe_tool_name(tool) for _server, tool in pairs]
    counts = collections.Counter(plain)
    wanted = [
        name if counts[name] == 1 else _safe_tool_name(f"{server}_{tool}")
        for (server, tool), name in zip(pairs, plain, strict=True)
    ]
    # Prefixing (or cleaning up characters) can still collide, e.g. "a_b"+"c" and "a"+"b_c".
    taken: set[str] = set()
    names = []
    for name in wanted:
        unique, number = name, 1
        while unique in taken:
            number += 1
            suffix = f"_{number}"
            unique = name[: _TOOL_NAME_LIMIT - len(suffix)] + suffix
        taken.add(unique)
        names.append(unique)
    return names


def _safe_tool_name(name: str) -> str:
    return _TOOL_NAME_UNSAFE.sub("_", name)[:_TOOL_NAME_LIMIT] or "tool"
