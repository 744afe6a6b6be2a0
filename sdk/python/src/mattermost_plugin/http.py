"""ServeHTTP for Python: the request body as an async iterator, the response as a writer; both
stream, nothing is buffered whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from mattermost_plugin_api import models
from mattermost_plugin_api.protocol import MAX_CHUNK


@dataclass
class HTTPRequest:
    method: str
    url: str
    headers: dict[str, list[str]]
    body: AsyncIterator[bytes]
    context: models.PluginContext | None = None
    remote_addr: str = ""

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None

    async def read(self) -> bytes:
        """The whole body (for small bodies; iterate `body` to stream)."""
        return b"".join([chunk async for chunk in self.body])


@dataclass
class _Frame:
    status: int | None = None
    headers: dict[str, list[str]] | None = None
    chunk: bytes = b""
    flush: bool = False


@dataclass
class ResponseWriter:
    """Write the response: set `status` and `headers`, then `await write(...)`; the head goes out with
    the first write or flush. Writes wait when the client is slower than the plugin."""

    status: int = 200
    headers: dict[str, list[str]] = field(default_factory=dict)
    _queue: asyncio.Queue[_Frame | None] = field(default_factory=lambda: asyncio.Queue(maxsize=8))
    _head_sent: bool = False

    def _head(self) -> _Frame:
        self._head_sent = True
        return _Frame(status=self.status, headers=self.headers)

    async def write(self, data: bytes) -> None:
        frame = self._head() if not self._head_sent else _Frame()
        for start in range(0, max(len(data), 1), MAX_CHUNK):
            frame.chunk = data[start : start + MAX_CHUNK]
            await self._queue.put(frame)
            frame = _Frame()

    async def flush(self) -> None:
        frame = self._head() if not self._head_sent else _Frame()
        frame.flush = True
        await self._queue.put(frame)

    async def _finish(self) -> None:
        if not self._head_sent:
            await self._queue.put(self._head())
        await self._queue.put(None)


class UploadWriter:
    """Where a FileWillBeUploaded handler writes a replacement file; chunks go out as written."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
        self.written = False

    async def write(self, data: bytes) -> None:
        self.written = True
        for start in range(0, len(data), MAX_CHUNK):
            await self._queue.put(data[start : start + MAX_CHUNK])
