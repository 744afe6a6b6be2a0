"""`ApiSpec`: one API method seen from the server's side. `api_specs.API_SPECS` holds one per
method, so a host or a test can read a call's arguments and write its answer in the same typed
values the client uses, for any method, without per-method code."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from google.protobuf import message as _message

__all__ = ["ApiSpec"]


@dataclasses.dataclass(frozen=True)
class ApiSpec:
    """How one API method's messages map to Python values."""

    name: str
    """The client's method name (`search_posts_in_team`)."""
    go_name: str
    """The Go method name, which is also the gRPC method (`SearchPostsInTeam`)."""
    params: tuple[tuple[str, str], ...]
    """(name, annotation) of each keyword argument of the client method, in order."""
    returns: str
    """The client method's return annotation (`None` when it returns nothing)."""
    error: str | None
    """The response field carrying the failure: `app_error`, `error`, or None."""
    streaming: bool
    """Frames rather than one request and one response (uploads, plugin HTTP): no converters."""
    request_type: type[_message.Message]
    response_type: type[_message.Message]
    args: Callable[[_message.Message], dict[str, Any]] | None
    """Request message → the keyword arguments the client was called with."""
    response: Callable[[Any], _message.Message] | None
    """A return value (a tuple for several results) → the response message."""
    result: Callable[[_message.Message], Any] | None
    """Response message → the client's return value; raises the client's exception for an error."""
