"""A small, real MCP server for the agent's tool tests (built on the `mcp` package's FastMCP).

    python mcp_server.py                     # stdio (the default)
    python mcp_server.py --http PORT         # streamable HTTP on 127.0.0.1:PORT, path /mcp
    python mcp_server.py --sse PORT          # SSE on 127.0.0.1:PORT, path /sse
    python mcp_server.py --tools add,echo    # offer only these tools (for name-clash tests)
    python mcp_server.py --label NAME        # no effect; tags the command line so tests find the process

Tools: `add`, `echo`, `word_count`, `fail` (always raises), `slow` (sleeps, for call timeouts) and
`crash` (ends the server process mid-call, for a server that dies while the agent uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from mcp.server.fastmcp import FastMCP


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


def word_count(text: str) -> int:
    """Count the whitespace-separated words in the text."""
    return len(text.split())


def fail(message: str) -> str:
    """Always fails with the given message."""
    raise ValueError(message)


async def slow(seconds: float) -> str:
    """Sleep for the given number of seconds, then answer."""
    await asyncio.sleep(seconds)
    return "done"


def crash() -> str:
    """End the server process at once, without answering."""
    os._exit(3)


TOOLS = {fn.__name__: fn for fn in (add, echo, word_count, fail, slow, crash)}


def build(tool_names: list[str], port: int) -> FastMCP:
    # WARNING keeps the server's request logs out of the test output.
    server = FastMCP("mm-agent-test", host="127.0.0.1", port=port, log_level="WARNING")
    for name in tool_names:
        server.tool()(TOOLS[name])
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    transport.add_argument("--sse", type=int, metavar="PORT", help="serve SSE on 127.0.0.1:PORT")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools to offer (default: all)")
    parser.add_argument("--label", help="ignored; lets tests find this process by its command line")
    options = parser.parse_args()

    names = [name for name in options.tools.split(",") if name]
    unknown = sorted(set(names) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tools: {', '.join(unknown)}")

    if options.http is not None:
        build(names, options.http).run("streamable-http")
    elif options.sse is not None:
        build(names, options.sse).run("sse")
    else:
        build(names, 0).run("stdio")


if __name__ == "__main__":
    main()
