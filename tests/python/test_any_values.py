"""Go `any` values (a post's props, an AppError's params) come back exactly as they went in:
integers stay integers past 2**53 and up to 2**64 - 1, floats keep their sign, bytes stay bytes."""

from __future__ import annotations

import math
import pathlib
from typing import Any

import pytest

from mattermost_plugin import Plugin, hook
from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import models
from mattermost_plugin_api._pb import common_pb2, model_pb2
from mattermost_plugin_api.models import any_to_py, anymap_to_dict, dict_to_anymap, py_to_any

ROOT = pathlib.Path(__file__).resolve().parents[2]

EDGES: dict[str, Any] = {
    "past_double": 2**53 + 1,
    "uint64_max": 2**64 - 1,
    "int64_min": -(2**63),
    "negative_zero": -0.0,
    "whole_float": 1.0,
    "one": 1,
    "flag": True,
    "raw": b"\x00\xff",
    "nothing": None,
    "text": "héllo",
    "infinity": math.inf,
    "nested": [{"list": [1, 2.5, "x", None, [False]]}, [], {}],
}


def typed(value: Any) -> Any:
    """`value` with every scalar tagged by its type, and a float by its sign."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(v) for v in value]
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    return (type(value).__name__, value)


def test_edges_survive_the_wire() -> None:
    post = models.Post(message="m", props=EDGES)
    wire = post.to_proto().SerializeToString()
    back = models.Post.from_proto(model_pb2.Post.FromString(wire))
    assert back.props is not None
    assert typed(back.props) == typed(EDGES)


def test_each_kind_travels_as_its_own_kind() -> None:
    kinds = {
        2**53 + 1: "int_value",
        2**64 - 1: "uint_value",
        -0.0: "float_value",
        True: "bool_value",
        b"": "bytes_value",
        "": "string_value",
    }
    for value, kind in kinds.items():
        assert py_to_any(value).WhichOneof("kind") == kind, value
    assert py_to_any(None).WhichOneof("kind") is None
    assert py_to_any([]).WhichOneof("kind") == "list_value"
    assert py_to_any({}).WhichOneof("kind") == "map_value"
    assert any_to_py(py_to_any((1, 2))) == [1, 2], "a tuple comes back a list, as from Go"
    assert anymap_to_dict(dict_to_anymap({})) == {}


def test_values_go_cannot_hold_are_refused_with_a_clear_error() -> None:
    with pytest.raises(OverflowError, match="fits neither"):
        py_to_any(2**64)
    with pytest.raises(OverflowError):
        py_to_any(-(2**63) - 1)
    with pytest.raises(TypeError, match="a set cannot travel"):
        py_to_any({1, 2})
    with pytest.raises(TypeError, match="text keys"):
        dict_to_anymap({"ok": {1: "x"}})


def test_app_error_params_keep_their_kinds() -> None:
    from mattermost_plugin_api import errors

    error = common_pb2.AppError(status_code=404, message="gone", params=dict_to_anymap({"n": 2**53 + 1}))
    raised = errors.from_app_error("GetPost", error)
    assert typed(raised.params) == typed({"n": 2**53 + 1})


class PropsKeeper(Plugin):
    """Defined at the top level: `DevHost.for_class` loads this file in the plugin process."""

    @hook
    def on_activate(self) -> None:
        self.api.register_command(command=models.Command(trigger="keep"))

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        created = self.api.create_post(
            post=models.Post(channel_id=args.channel_id, user_id=args.user_id, message="props", props=EDGES)
        )
        fetched = self.api.get_post(post_id=created.id)
        same = fetched.props is not None and typed(fetched.props) == typed(EDGES)
        return models.CommandResponse(text="same" if same else repr(fetched.props))


def test_props_round_trip_through_the_dev_host(mm_plugin_host: str) -> None:
    # Python -> the host's API server (Rust) -> its in-memory store -> back to Python.
    with DevHost.for_class(PropsKeeper, binary=mm_plugin_host) as host:
        status, response = host.execute_command("/keep")
        assert status == 200 and response["text"] == "same"
