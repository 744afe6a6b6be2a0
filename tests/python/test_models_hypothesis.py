"""Property-based round trips: every model dataclass, filled with values drawn from its own field
annotations, survives `to_proto`/`from_proto` and the protobuf wire format unchanged.

`HYPOTHESIS_MAX_EXAMPLES` sets the examples per model (default 30, which keeps the file well
under a minute) for a longer hunt.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import types
import typing
from typing import Any

import pytest
from google.protobuf import descriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mattermost_plugin_api import models

MAX_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "30"))
# Model-typed fields nest this deep; below it they stay empty (None, (), {}), which keeps both the
# strategies finite for self-referencing models and the examples small.
MAX_DEPTH = 2

FD = descriptor.FieldDescriptor
INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_ENUM: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}

texts = st.text(max_size=12)
# Go `any` values: every kind AnyValue keeps apart, at full range (int64 and uint64, doubles
# with -0.0 and infinities; NaN is left out only because NaN != NaN).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
# Aware datetimes in several offsets (from_proto answers in UTC; equality compares instants),
# a day inside Timestamp's range at either end so no offset pushes them out of it.
datetimes = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [
            datetime.timezone.utc,
            datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
            datetime.timezone(datetime.timedelta(hours=-8)),
        ]
    ),
)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _annotation(tp: Any, field: descriptor.FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    """A strategy for a field annotated `tp`; `field` is its proto field (for integer widths)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        if _is_model(inner) and depth >= MAX_DEPTH:
            return st.none()
        return st.none() | _annotation(inner, field, depth)
    if origin is tuple:
        element = args[0]
        if _is_model(element) and depth >= MAX_DEPTH:
            return st.just(())
        return st.lists(_annotation(element, field, depth), max_size=3).map(tuple)
    if origin is dict:
        value = args[1]
        if value is Any:
            return json_objects
        if _is_model(value) and depth >= MAX_DEPTH:
            return st.just({})
        entry = field.message_type
        assert entry is not None, f"{field.full_name} is a map"
        value_field = entry.fields_by_name["value"]
        return st.dictionaries(texts, _annotation(value, value_field, depth), max_size=3)
    if tp is Any:
        return json_values
    if tp is str:
        return texts
    if tp is bytes:
        return st.binary(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        low, high = INT_RANGES[field.type]
        return st.integers(low, high)
    if tp is float:
        return st.floats(allow_nan=False, width=32 if field.type == FD.TYPE_FLOAT else 64)
    if tp is datetime.datetime:
        return datetimes
    if _is_model(tp):
        return model_strategy(tp, depth + 1)
    raise TypeError(f"no strategy for annotation {tp!r} (proto field {field.full_name})")


_strategies: dict[tuple[type[Any], int], st.SearchStrategy[Any]] = {}


def model_strategy(cls: type[Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Instances of the model `cls` with every field drawn from its annotation (built once)."""
    key = (cls, depth)
    if key not in _strategies:
        hints = typing.get_type_hints(cls)
        proto_fields = cls().to_proto().DESCRIPTOR.fields_by_name
        _strategies[key] = st.builds(
            cls,
            **{f.name: _annotation(hints[f.name], proto_fields[f.name], depth) for f in dataclasses.fields(cls)},
        )
    return _strategies[key]


@pytest.mark.parametrize("cls", models.MODELS, ids=lambda c: c.__name__)
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # No example database: nothing is written into the working tree.
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_round_trip(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(model_strategy(cls), label=cls.__name__)
    proto = value.to_proto()
    assert cls.from_proto(proto) == value
    # Equality alone would take 1 for 1.0, True for 1 and 0.0 for -0.0: compare kinds too.
    assert _typed(cls.from_proto(proto)) == _typed(value)
    wire = proto.SerializeToString(deterministic=True)
    parsed = type(proto).FromString(wire)
    assert parsed == proto
    assert cls.from_proto(parsed) == value
    assert parsed.SerializeToString(deterministic=True) == wire


def _typed(value: Any) -> Any:
    """`value` with every scalar tagged by its type (and a float by its sign)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _typed(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    return (type(value).__name__, value)


def test_every_annotation_has_a_strategy() -> None:
    # Building the strategies walks every field of every model (and every nested one).
    for cls in models.MODELS:
        model_strategy(cls).validate()
    assert len(models.MODELS) > 150
