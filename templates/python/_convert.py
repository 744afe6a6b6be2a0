"""Conversions between the contract's value messages and plain Python values.

Go's `any` travels as `AnyValue`, which keeps the kind of every value: a Python `int` comes back
an `int` (also past 2**53, and up to 2**64 - 1 as a Go unsigned integer), a `float` a `float`
(including -0.0), `bytes` stay `bytes`, and lists and dicts nest.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from google.protobuf import timestamp_pb2

from mattermost_plugin_api._pb import common_pb2

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


def any_to_py(value: common_pb2.AnyValue) -> Any:
    """The plain Python value an `AnyValue` holds (`None` for Go's nil)."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "list_value":
        return [any_to_py(item) for item in value.list_value.values]
    if kind == "map_value":
        return anymap_to_dict(value.map_value)
    return getattr(value, kind)


def py_to_any(value: Any) -> common_pb2.AnyValue:
    """A plain Python value as an `AnyValue`: None, bool, int (int64 or uint64 range), float, str,
    bytes, and lists, tuples and str-keyed mappings of those. Anything else is a TypeError."""
    out = common_pb2.AnyValue()
    _fill(out, value)
    return out


def anymap_to_dict(value: common_pb2.AnyMap) -> dict[str, Any]:
    """A Go `map[string]any` as a dict."""
    return {key: any_to_py(item) for key, item in value.entries.items()}


def dict_to_anymap(value: Mapping[str, Any]) -> common_pb2.AnyMap:
    """A str-keyed mapping as a Go `map[string]any`."""
    out = common_pb2.AnyMap()
    _fill_map(out, value)
    return out


def _fill(out: common_pb2.AnyValue, value: Any) -> None:
    # bool before int: a bool is an int in Python but not in Go.
    if value is None:
        return
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            out.int_value = value
        elif 0 <= value <= _UINT64_MAX:
            out.uint_value = value
        else:
            raise OverflowError(f"{value} fits neither a Go int64 nor a uint64")
    elif isinstance(value, float):
        out.float_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.bytes_value = bytes(value)
    elif isinstance(value, Mapping):
        out.map_value.SetInParent()
        _fill_map(out.map_value, value)
    elif isinstance(value, (list, tuple)):
        items = out.list_value
        items.SetInParent()
        for item in value:
            _fill(items.values.add(), item)
    else:
        raise TypeError(
            f"a {type(value).__name__} cannot travel as a Go value (any): "
            "use None, bool, int, float, str, bytes, or lists, tuples and str-keyed dicts of those"
        )


def _fill_map(out: common_pb2.AnyMap, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"a Go map[string]any has text keys, not {type(key).__name__} ({key!r})")
        _fill(out.entries[key], item)


def timestamp_to_datetime(value: timestamp_pb2.Timestamp) -> datetime.datetime:
    return value.ToDatetime(tzinfo=datetime.timezone.utc)


def datetime_to_timestamp(value: datetime.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out
