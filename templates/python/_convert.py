"""Conversions between protobuf well-known types and plain Python values."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    """A protobuf Struct as a plain dict (JSON values)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(value)


def dict_to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def value_to_py(value: struct_pb2.Value) -> Any:
    """A protobuf Value as the plain JSON value it holds."""
    from google.protobuf import json_format

    return json_format.MessageToDict(value)


def py_to_value(value: Any) -> struct_pb2.Value:
    from google.protobuf import json_format

    return json_format.ParseDict(value, struct_pb2.Value())


def timestamp_to_datetime(value: timestamp_pb2.Timestamp) -> datetime.datetime:
    return value.ToDatetime(tzinfo=datetime.timezone.utc)


def datetime_to_timestamp(value: datetime.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out
