"""Typed Python bindings for Mattermost's plugin API, generated from its Go source."""

from mattermost_plugin_api import models
from mattermost_plugin_api.client import AsyncPluginAPI, PluginAPI
from mattermost_plugin_api.errors import (
    BadRequestError,
    ConflictError,
    ContractError,
    GoError,
    NotFoundError,
    NotImplementedByServerError,
    PermissionDeniedError,
    PluginAPIError,
    ServerError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
)
from mattermost_plugin_api.hooks import HOOK_IDS, HOOK_SPECS, Hook, HookShape, HookSpec

CONTRACT_HASH = "{{ contract_hash }}"
"""Fingerprint of the proto contract; the host's must match."""

MATTERMOST_VERSION = "{{ version }}"

__all__ = [
    "CONTRACT_HASH",
    "HOOK_IDS",
    "HOOK_SPECS",
    "MATTERMOST_VERSION",
    "AsyncPluginAPI",
    "BadRequestError",
    "ConflictError",
    "ContractError",
    "GoError",
    "Hook",
    "HookShape",
    "HookSpec",
    "NotFoundError",
    "NotImplementedByServerError",
    "PermissionDeniedError",
    "PluginAPI",
    "PluginAPIError",
    "ServerError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "models",
]
