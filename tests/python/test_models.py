"""Every generated model dataclass converts to and from its protobuf message without loss."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import typing
from typing import Any

import pytest
from google.protobuf import descriptor
from google.protobuf.message import Message

from mattermost_plugin_api import models
from mattermost_plugin_api.models import dict_to_anymap, py_to_any


def _sample_scalar(field: descriptor.FieldDescriptor) -> Any:
    t = field.type
    if t == descriptor.FieldDescriptor.TYPE_STRING:
        return f"s-{field.name}"
    if t == descriptor.FieldDescriptor.TYPE_BYTES:
        return b"\x00bytes\xff"
    if t == descriptor.FieldDescriptor.TYPE_BOOL:
        return True
    if t in (descriptor.FieldDescriptor.TYPE_FLOAT, descriptor.FieldDescriptor.TYPE_DOUBLE):
        return 1.5
    return 7


def populate(msg: Message, depth: int = 0) -> Message:
    """Sets every field of `msg` to a non-default value, nested messages to a depth of 2."""
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            key_field = message_type.fields_by_name["key"]
            value_field = message_type.fields_by_name["value"]
            key = _sample_scalar(key_field)
            if value_field.message_type is None:
                value[key] = _sample_scalar(value_field)
            else:
                fill(value[key], value_field.message_type, depth)
        elif message_type is not None:
            if field.is_repeated:
                fill(value.add(), message_type, depth)
            else:
                fill(value, message_type, depth)
        elif field.is_repeated:
            value.append(_sample_scalar(field))
        else:
            setattr(msg, field.name, _sample_scalar(field))
    return msg


def fill(msg: Message, message_type: descriptor.Descriptor, depth: int) -> None:
    name = message_type.full_name
    if name == "mattermost.plugin.v1.AnyMap":
        sample = {"n": 1.5, "i": 2**53 + 1, "u": 2**64 - 1, "s": "x", "b": b"\x00", "nested": {"list": [True, None]}}
        msg.CopyFrom(dict_to_anymap(sample))
    elif name == "mattermost.plugin.v1.AnyValue":
        msg.CopyFrom(py_to_any([1, "v", {"k": None}]))
    elif name == "google.protobuf.Timestamp":
        msg.seconds = 1_700_000_000  # type: ignore[attr-defined]
        msg.nanos = 123_456_000  # type: ignore[attr-defined]
    elif depth < 2:
        populate(msg, depth + 1)
    msg.SetInParent()


@pytest.mark.parametrize("cls", models.MODELS, ids=lambda c: c.__name__)
def test_round_trip(cls: Any) -> None:
    proto_type = type(cls().to_proto())
    original = populate(proto_type())
    value = cls.from_proto(original)
    assert value.to_proto() == original
    assert cls.from_proto(value.to_proto()) == value


@pytest.mark.parametrize("cls", models.MODELS, ids=lambda c: c.__name__)
def test_empty_message_round_trips_and_defaults_match(cls: Any) -> None:
    proto_type = type(cls().to_proto())
    assert cls.from_proto(proto_type()) == cls()
    assert cls().to_proto() == proto_type()


def test_dataclasses_are_frozen_keyword_only_and_slotted() -> None:
    user = models.User(id="x" * 26, username="alice")
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.username = "bob"  # type: ignore[misc]
    with pytest.raises(TypeError):
        models.User("positional")  # type: ignore[misc]
    assert not hasattr(user, "__dict__")


def test_presence_survives() -> None:
    # An optional scalar set to its zero value stays set; an absent message stays absent.
    post = models.Post(message="hi")
    assert post.to_proto().HasField("metadata") is False
    assert len(models.MODELS) > 150


def test_importing_the_package_defines_no_model_class_yet() -> None:
    # Each class lives in its own module, loaded on first use, so a plugin's cold start does not
    # pay for every dataclass definition.
    code = (
        "import sys, mattermost_plugin_api\n"
        "loaded = [m for m in sys.modules if m.startswith('mattermost_plugin_api.models._') and m != "
        "'mattermost_plugin_api.models._convert']\n"
        "assert loaded == [], loaded\n"
        "from mattermost_plugin_api import models\n"
        "models.Post\n"
        "assert 'mattermost_plugin_api.models._post' in sys.modules\n"
        "assert 'mattermost_plugin_api.models._user' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_classes_behave_like_plain_module_attributes() -> None:
    from mattermost_plugin_api.models import Post

    assert Post is models.Post
    assert "PostMetadata" in dir(models)
    assert set(models.__all__) >= {"Post", "User", "MODELS", "anymap_to_dict"}
    with pytest.raises(AttributeError, match="NoSuchModel"):
        models.NoSuchModel  # type: ignore[attr-defined]  # noqa: B018
    # Annotations resolve (through the models package), and instances pickle by reference.
    hints = typing.get_type_hints(models.Post)
    assert hints["metadata"] == models.PostMetadata | None
    post = models.Post(id="p", metadata=models.PostMetadata(priority=models.PostPriority(priority="urgent")))
    assert pickle.loads(pickle.dumps(post)) == post
