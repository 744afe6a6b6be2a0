"""A local OpenAI-compatible chat server for offline tests: it streams scripted answers over
server-sent events, slowly enough to watch a reply stream in, and records every request.

The plugin talks to it exactly as to a real provider (`OpenAIBaseURL`), through LangChain's
ChatOpenAI and the openai client, so the whole path is exercised without a network.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclasses.dataclass(frozen=True)
class ToolCall:
    """A scripted answer that asks for a tool instead of saying something."""

    name: str
    arguments: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Failure:
    """A scripted HTTP error instead of an answer (429, 500, 400, …)."""

    status: int
    retry_after: str | None = "0"
    """The Retry-After header: "0" keeps retrying tests fast; None leaves it out."""


Answer = str | ToolCall | Failure


class FakeOpenAI:
    """Answers `POST /v1/chat/completions` with the next scripted answer (the last one repeats)."""

    def __init__(self, answers: list[Answer], *, chunk_delay: float = 0.15, chunk_words: int = 1) -> None:
        self.answers = list(answers)
        self.chunk_delay = chunk_delay
        self.chunk_words = chunk_words
        self.requests: list[dict[str, Any]] = []
        self.finished: list[float] = []
        """monotonic time each streamed answer ended."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def _next_answer(self, request: dict[str, Any]) -> Answer:
        with self._lock:
            self.requests.append(request)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @contextmanager
    def running(self) -> Iterator[FakeOpenAI]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                answer = fake._next_answer(request)
                if isinstance(answer, ToolCall):
                    self._tool_call(request, answer)
                    return
                if isinstance(answer, Failure):
                    error = {"error": {"message": f"scripted failure {answer.status}", "type": "fake"}}
                    failure = json.dumps(error).encode()
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(failure)))
                    if answer.retry_after is not None:
                        self.send_header("Retry-After", answer.retry_after)
                    self.end_headers()
                    self.wfile.write(failure)
                    fake.finished.append(time.monotonic())
                    return
                if not request.get("stream"):
                    body = json.dumps(_completion(answer, request)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                words = answer.split(" ")
                pieces = [
                    " ".join(words[i : i + fake.chunk_words]) + " " for i in range(0, len(words), fake.chunk_words)
                ]
                pieces[-1] = pieces[-1].rstrip(" ")
                self._event(_chunk(request, {"role": "assistant", "content": ""}))
                for piece in pieces:
                    time.sleep(fake.chunk_delay)
                    self._event(_chunk(request, {"content": piece}))
                self._event(_chunk(request, {}, finish="stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                fake.finished.append(time.monotonic())

            def _tool_call(self, request: dict[str, Any], call: ToolCall) -> None:
                # Streamed as the provider does: the call's id and name, then its arguments.
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self._event(_chunk(request, {"role": "assistant", "content": None}))
                head = {"index": 0, "id": f"call_{len(fake.requests)}", "type": "function"}
                function = {"name": call.name, "arguments": ""}
                self._event(_chunk(request, {"tool_calls": [{**head, "function": function}]}))
                arguments = {"index": 0, "function": {"arguments": json.dumps(call.arguments)}}
                self._event(_chunk(request, {"tool_calls": [arguments]}))
                self._event(_chunk(request, {}, finish="tool_calls"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                fake.finished.append(time.monotonic())

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)


def _chunk(request: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(answer: str, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
