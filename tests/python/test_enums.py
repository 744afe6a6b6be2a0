"""Go string enums (`mattermost_plugin_api.enums`): members are the server's strings, accepted
where a field is a plain `str`, and survive the trip through proto."""

from __future__ import annotations

import enum

from mattermost_plugin_api import enums, models


def test_members_are_the_go_values() -> None:
    assert enums.ChannelType.OPEN == "O"
    assert enums.ChannelType.DIRECT.value == "D"
    assert str(enums.ChannelType.PRIVATE) == "P"
    assert f"{enums.ChannelType.GROUP}" == "G"
    assert enums.ChannelType("O") is enums.ChannelType.OPEN
    assert enums.PushTransport.VOIP == "voip"


def test_every_enum_is_a_str_enum_with_members() -> None:
    assert len(enums.__all__) >= 10
    for name in enums.__all__:
        cls = getattr(enums, name)
        assert issubclass(cls, str) and issubclass(cls, enum.Enum), name
        assert list(cls), name
        for member in cls:
            assert member.name.isupper() or "_" in member.name, (name, member.name)


def test_members_go_where_a_str_field_goes() -> None:
    channel = models.Channel(id="c1", type=enums.ChannelType.PRIVATE, name="secret")
    proto = channel.to_proto()
    assert proto.type == "P"
    back = models.Channel.from_proto(type(proto).FromString(proto.SerializeToString()))
    assert back.type == enums.ChannelType.PRIVATE
    assert back == models.Channel(id="c1", type="P", name="secret")
