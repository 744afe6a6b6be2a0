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


def test_untyped_constants_are_enums_too() -> None:
    # Go declares these untyped (`PostTypeJoinChannel = "system_join_channel"`); they list the
    # values of the plain string fields `Post.Type` and `CommandResponse.ResponseType`.
    assert enums.PostType.JOIN_CHANNEL == "system_join_channel"
    assert enums.PostType.DEFAULT == ""
    assert enums.PostType("me") is enums.PostType.ME
    assert enums.CommandResponseType.IN_CHANNEL == "in_channel"
    assert enums.CommandResponseType.EPHEMERAL == "ephemeral"
    # Constants that only share the prefix (session prop keys, a button text) are not members.
    assert "isSaml" not in {m.value for m in enums.UserAuthService}
    assert enums.UserAuthService.EMAIL == "email"
    # Typed and untyped enums live side by side under distinct names.
    assert {"ChannelType", "PostType", "CommandResponseType"} <= set(enums.__all__)
    assert len(set(enums.__all__)) == len(enums.__all__)


def test_untyped_constant_members_go_where_a_str_field_goes() -> None:
    post = models.Post(id="p1", channel_id="c1", message="joined", type=enums.PostType.JOIN_CHANNEL)
    proto = post.to_proto()
    assert proto.type == "system_join_channel"
    back = models.Post.from_proto(type(proto).FromString(proto.SerializeToString()))
    assert back.type == enums.PostType.JOIN_CHANNEL
    assert enums.PostType(back.type) is enums.PostType.JOIN_CHANNEL
    assert back == models.Post(id="p1", channel_id="c1", message="joined", type="system_join_channel")

    response = models.CommandResponse(response_type=enums.CommandResponseType.EPHEMERAL, text="only you")
    proto_response = response.to_proto()
    assert proto_response.response_type == "ephemeral"
    again = models.CommandResponse.from_proto(type(proto_response).FromString(proto_response.SerializeToString()))
    assert again.response_type == enums.CommandResponseType.EPHEMERAL
    assert again == models.CommandResponse(response_type="ephemeral", text="only you")
