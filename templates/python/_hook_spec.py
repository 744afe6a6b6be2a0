"""`HookSpec`: how an SDK calls one hook's handler. `hooks.HOOK_SPECS` holds one per hook."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from google.protobuf import message as _message

if TYPE_CHECKING:
    from mattermost_plugin_api.hooks import Hook

__all__ = ["HookShape", "HookSpec"]


class HookShape(str, enum.Enum):
    """How a hook is carried."""

    UNARY = "unary"
    """One request, one response: keyword arguments in, the return value out."""
    SERVE_HTTP = "serve_http"
    """HTTP frames in and out (ServeHTTP, ServeMetrics)."""
    FILE_UPLOAD = "file_upload"
    """A file streams in, a replacement streams out, then the outcome (FileWillBeUploaded)."""


@dataclasses.dataclass(frozen=True)
class HookSpec:
    """How to call one hook's handler."""

    hook: Hook
    id: int
    params: tuple[tuple[str, str], ...]
    """(name, annotation) of each keyword argument, in order."""
    returns: str
    """The return annotation (`None` when the hook returns nothing)."""
    error: str | None
    """The response field for the handler's error: `app_error`, `error`, or None."""
    streaming: bool
    """Frames in and out (any shape but `UNARY`): no keyword arguments and no converters."""
    request_type: type[_message.Message]
    response_type: type[_message.Message]
    args: Callable[[_message.Message], dict[str, Any]] | None
    """Request message → keyword arguments (dataclasses)."""
    response: Callable[[Any], _message.Message] | None
    """Handler return value (a tuple for several results) → response message."""
    method_name: str
    """The Python method name of a handler (`message_will_be_posted`, `serve_http`)."""
    shape: HookShape
    results: tuple[tuple[str, str], ...]
    """(name, annotation) of each result, in order: a handler returns a tuple when there are
    several (`MessageWillBePosted`: the replacement and the rejection reason)."""
