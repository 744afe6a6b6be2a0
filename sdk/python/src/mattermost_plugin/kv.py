"""Helpers a Go plugin author has in `pluginapi`, as policy over the API rather than per-method
code: JSON values in the key-value store with an atomic read-modify-write, and ids and
timestamps made the way the server makes them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from mattermost_plugin_api import PluginAPI, models

# The server's id alphabet: base32 with this alphabet over 16 random bytes, 26 characters.
_ID_ALPHABET = b"ybndrfg8ejkmcpqxot1uwisza345h769"
_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_ID = bytes.maketrans(_STANDARD, _ID_ALPHABET)


def new_id() -> str:
    """A new id as the server makes them (26 characters of its base32 alphabet)."""
    # Imported here, as in update_json: a plugin that never calls these does not pay at start.
    import base64
    import uuid

    return base64.b32encode(uuid.uuid4().bytes).translate(_TO_ID)[:26].decode()


def millis() -> int:
    """Now, in milliseconds since the epoch: the server's timestamps (`CreateAt`, …)."""
    return time.time_ns() // 1_000_000


class KVConflictError(RuntimeError):
    """`KVStore.update_json` kept losing to other writers and gave up."""


class KVStore:
    """The plugin's key-value store holding JSON values (`self.kv` on a `Plugin`)."""

    def __init__(self, api: PluginAPI) -> None:
        self._api = api

    def get_json(self, key: str, default: Any = None) -> Any:
        """The value under `key`, or `default` when there is none."""
        raw = self._api.kv_get(key=key)
        return json.loads(raw) if raw else default

    def set_json(self, key: str, value: Any, *, expire_in_seconds: int = 0) -> None:
        """Stores `value` (anything `json.dumps` takes) under `key`, optionally expiring."""
        data = json.dumps(value).encode()
        if expire_in_seconds > 0:
            self._api.kv_set_with_expiry(key=key, value=data, expire_in_seconds=expire_in_seconds)
        else:
            self._api.kv_set(key=key, value=data)

    def set_json_if_absent(self, key: str, value: Any) -> bool:
        """Stores `value` only if `key` holds nothing; whether it did."""
        options = models.PluginKVSetOptions(atomic=True, old_value=b"")
        return self._api.kv_set_with_options(key=key, value=json.dumps(value).encode(), options=options)

    def update_json(self, key: str, update: Callable[[Any], Any], *, default: Any = None, attempts: int = 10) -> Any:
        """Reads the value, computes `update(value)` and stores it only if nobody changed the
        value meanwhile (compare-and-set), retrying with jittered backoff; returns what was
        stored. `update` gets a copy and may be called more than once, so it must not have
        other effects. Raises `KVConflictError` after `attempts` lost races."""
        import copy
        import random

        for attempt in range(attempts):
            raw = self._api.kv_get(key=key)
            current = json.loads(raw) if raw else default
            new = update(copy.deepcopy(current))
            options = models.PluginKVSetOptions(atomic=True, old_value=raw)
            if self._api.kv_set_with_options(key=key, value=json.dumps(new).encode(), options=options):
                return new
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**attempt)))
        raise KVConflictError(f"{key}: changed by other writers {attempts} times while updating it")

    def delete(self, key: str) -> None:
        self._api.kv_delete(key=key)
