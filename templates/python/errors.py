"""Exceptions raised by the API clients.

Business errors arrive in the response: a Mattermost `*model.AppError` becomes a subclass of
`PluginAPIError` chosen by its status code; a plain Go `error` becomes `GoError` with Mattermost's
net/rpc code. Transport failures (the host went away, a timeout) become `TransportError`. A value
the Go signature always sets arriving unset is `ContractError`.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import message as _message

from mattermost_plugin_api._pb import common_pb2
from mattermost_plugin_api.models._convert import anymap_to_dict


class PluginAPIError(Exception):
    """A failed API call."""

    def __init__(
        self,
        method: str,
        message: str,
        *,
        id: str = "",
        detailed_error: str = "",
        status_code: int = 0,
        request_id: str = "",
        where: str = "",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{method}: {message}" + (f" ({status_code})" if status_code else ""))
        self.method = method
        self.message = message
        self.id = id
        self.detailed_error = detailed_error
        self.status_code = status_code
        self.request_id = request_id
        self.where = where
        self.params = params or {}


class BadRequestError(PluginAPIError):
    """400."""


class UnauthorizedError(PluginAPIError):
    """401."""


class PermissionDeniedError(PluginAPIError):
    """403."""


class NotFoundError(PluginAPIError):
    """404."""


class ConflictError(PluginAPIError):
    """409."""


class TooManyRequestsError(PluginAPIError):
    """429."""


class ServerError(PluginAPIError):
    """5xx."""


class NotImplementedByServerError(ServerError):
    """501: the server (or dev host) does not implement this method."""


class GoError(PluginAPIError):
    """A plain Go `error`; `code` is Mattermost's net/rpc error code (1 io.EOF, 2 sql.ErrNoRows, …)."""

    def __init__(self, method: str, message: str, *, code: int = 0) -> None:
        super().__init__(method, message)
        self.code = code


class TransportError(PluginAPIError):
    """The call did not complete: the connection failed, timed out or was refused."""

    def __init__(self, method: str, message: str, *, grpc_code: str = "") -> None:
        super().__init__(method, message)
        self.grpc_code = grpc_code


_BY_STATUS: dict[int, type[PluginAPIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: TooManyRequestsError,
    501: NotImplementedByServerError,
}


def from_app_error(method: str, error: common_pb2.AppError) -> PluginAPIError:
    """The exception for an AppError from `method`."""
    status = int(error.status_code)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else PluginAPIError)
    return cls(
        method,
        error.message,
        id=error.id,
        detailed_error=error.detailed_error,
        status_code=status,
        request_id=error.request_id,
        where=error.where,
        params=anymap_to_dict(error.params) if error.HasField("params") else None,
    )


def from_go_error(method: str, error: common_pb2.Error) -> GoError:
    return GoError(method, error.message, code=int(error.code))


class ContractError(PluginAPIError):
    """The other side left out a value that the Go signature always sets (a result beside a nil
    error, a hook argument the server always sends): typed non-optional here, so it is an error
    rather than a `None` that fails later."""


def required(message: _message.Message, field: str, method: str) -> Any:
    """`message.<field>`, which the contract says is always set; `ContractError` when it is not."""
    if not message.HasField(field):
        raise ContractError(method, f"`{field}` is missing although {method} always sets it")
    return getattr(message, field)
