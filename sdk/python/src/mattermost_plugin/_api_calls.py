"""The dev host's record of API calls, and scripted answers, in typed values.

The host keeps each call's request and response as encoded protobuf messages, for every method;
`mattermost_plugin_api.api_specs` turns them into the keyword arguments the plugin passed and the
value (or exception) it got back, and turns a test's return value or exception into a response.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any

from mattermost_plugin_api import errors
from mattermost_plugin_api._pb import common_pb2
from mattermost_plugin_api.api_specs import API_SPECS, ApiSpec

__all__ = ["ApiCall", "MethodRef", "reply_body", "spec_for"]

MethodRef = Callable[..., Any] | str
"""A client method (`PluginAPI.get_user`, `plugin.api.get_user`), its name, or the Go name."""

_BY_GO_NAME = {spec.go_name: spec for spec in API_SPECS.values()}

# gRPC status codes the client maps to these exceptions (grpc.StatusCode values).
_UNIMPLEMENTED = 12
_UNAVAILABLE = 14


@dataclasses.dataclass(frozen=True)
class ApiCall:
    """One API call the plugin made, as the plugin saw it."""

    seq: int
    """Order of the call on the host, from 1."""
    plugin_id: str
    method: str
    """The client method (`get_user`)."""
    go_name: str
    args: Mapping[str, Any] | None
    """The keyword arguments, typed as the client takes them; None for a streamed request (an
    upload, plugin HTTP) or one too large to record."""
    result: Any
    """What the call returned (None when it raised, or for a streamed or unrecorded answer)."""
    error: errors.PluginAPIError | None
    """What the call raised."""
    scripted: bool
    """Answered by `DevHost.respond` rather than the in-memory server."""


def spec_for(method: MethodRef) -> ApiSpec:
    """The `ApiSpec` of a client method, its name or its Go name; ValueError naming close
    matches otherwise."""
    name = method if isinstance(method, str) else getattr(method, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"expected a PluginAPI method or its name, got {method!r}")
    spec = API_SPECS.get(name) or _BY_GO_NAME.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, [*API_SPECS, *_BY_GO_NAME], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"{name!r} is not a PluginAPI method{hint}")
    return spec


def decode_call(raw: Mapping[str, Any]) -> ApiCall:
    """One call of `GET /api/v4/dev/api_calls` in typed values."""
    spec = spec_for(str(raw["method"]))
    args: Mapping[str, Any] | None = None
    request = raw.get("request") or {}
    if spec.args is not None and "hex" in request:
        args = spec.args(spec.request_type.FromString(bytes.fromhex(request["hex"])))
    result: Any = None
    error: errors.PluginAPIError | None = None
    status = raw.get("status")
    response = raw.get("response") or {}
    if status:
        code, message = int(status["code"]), str(status.get("message", ""))
        if code == _UNIMPLEMENTED:
            error = errors.NotImplementedByServerError(spec.go_name, message, status_code=501)
        else:
            error = errors.TransportError(spec.go_name, message, grpc_code=str(code))
    elif spec.result is not None and "hex" in response:
        try:
            result = spec.result(spec.response_type.FromString(bytes.fromhex(response["hex"])))
        except errors.PluginAPIError as e:
            error = e
    return ApiCall(
        seq=int(raw["seq"]),
        plugin_id=str(raw.get("plugin_id", "")),
        method=spec.name,
        go_name=spec.go_name,
        args=args,
        result=result,
        error=error,
        scripted=bool(raw.get("scripted")),
    )


def reply_body(spec: ApiSpec, result: Any, error: BaseException | None) -> dict[str, Any]:
    """The scripted answer for `POST /api/v4/dev/api_responses` (without method and times).

    An error goes where the method carries it: an AppError for methods that return one, a Go
    error for those that return `error`; `NotImplementedByServerError` and `TransportError` work
    for every method (as a gRPC status)."""
    if spec.streaming or spec.response is None:
        raise ValueError(f"{spec.name} streams frames; only methods with one request and one response can be scripted")
    if error is None:
        try:
            message = spec.response(result)
        except (AttributeError, TypeError, ValueError) as e:
            raise TypeError(f"{spec.name} returns {spec.returns}; cannot answer it with {result!r}: {e}") from e
        return {"response_hex": message.SerializeToString().hex()}
    if isinstance(error, errors.TransportError):
        return {"status": {"code": _UNAVAILABLE, "message": error.message}}
    if isinstance(error, errors.GoError) and spec.error == "error":
        return _error_response(spec, "error", common_pb2.Error(message=error.message, code=error.code))
    if isinstance(error, errors.PluginAPIError) and not isinstance(error, errors.GoError):
        if spec.error == "app_error":
            app_error = common_pb2.AppError(
                id=error.id,
                message=error.message,
                detailed_error=error.detailed_error,
                status_code=error.status_code or _default_status(error),
                request_id=error.request_id,
                where=error.where or spec.go_name,
            )
            return _error_response(spec, "app_error", app_error)
        if isinstance(error, errors.NotImplementedByServerError):
            return {"status": {"code": _UNIMPLEMENTED, "message": error.message}}
    carried = {"app_error": "a PluginAPIError (NotFoundError, …)", "error": "a GoError"}.get(spec.error or "")
    can = f"{carried}, " if carried else ""
    raise TypeError(
        f"{spec.name} cannot fail with {type(error).__name__}: it can raise {can}"
        "NotImplementedByServerError or TransportError"
    )


# The status each exception class stands for: the client's own mapping, turned around.
_STATUS_BY_CLASS = {cls: status for status, cls in errors._BY_STATUS.items()}


def _default_status(error: errors.PluginAPIError) -> int:
    """The HTTP status an exception class stands for, when the test built it without one."""
    for cls in type(error).__mro__:
        if cls in _STATUS_BY_CLASS:
            return _STATUS_BY_CLASS[cls]
    return 500


def _error_response(spec: ApiSpec, field: str, value: Any) -> dict[str, Any]:
    message = spec.response_type()
    getattr(message, field).CopyFrom(value)
    return {"response_hex": message.SerializeToString().hex()}
