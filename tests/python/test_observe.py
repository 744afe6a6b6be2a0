"""A plugin's effects are observable from a test: posts, reactions, ephemeral posts, websocket
events, dialogs and mails; and a test sets up its own users and channels and acts as them."""

from __future__ import annotations

import pytest

from mattermost_plugin import Plugin, hook
from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import models


class Observed(Plugin):
    """Does one visible thing per `!command` it sees posted, and reacts to setup hooks."""

    bot_id = ""

    @hook
    def on_activate(self) -> None:
        self.bot_id = self.api.ensure_bot_user(bot=models.Bot(username="observer"))
        self.api.register_command(command=models.Command(trigger="survey", auto_complete=True))

    def whisper(self, post: models.Post, message: str) -> None:
        self.api.send_ephemeral_post(
            user_id=post.user_id, post=models.Post(channel_id=post.channel_id, message=message)
        )

    @hook
    def message_has_been_posted(self, post: models.Post | None) -> None:
        assert post is not None
        command, _, rest = post.message.partition(" ")
        if command == "!ws":
            self.api.publish_web_socket_event(
                event="seen",
                payload={"post_id": post.id, "words": rest.split()},
                broadcast=models.WebsocketBroadcast(channel_id=post.channel_id),
            )
        elif command == "!mail":
            self.api.send_mail(to="ops@example.com", subject="Report", html_body=f"<p>{rest}</p>")
        elif command == "!react":
            reaction = models.Reaction(user_id=self.bot_id, post_id=post.id, emoji_name="eyes")
            self.api.add_reaction(reaction=reaction)
        elif command == "!whisper":
            self.whisper(post, f"psst: {rest}")
        elif command == "!reply":
            reply = models.Post(
                user_id=self.bot_id, channel_id=post.channel_id, root_id=post.id, message=f"echo {rest}"
            )
            self.api.create_post(post=reply)
        elif command == "!can":
            allowed = self.api.has_permission_to_channel(
                user_id=post.user_id, channel_id=rest, permission=models.Permission(id="create_post")
            )
            self.whisper(post, f"can post there: {allowed}")
        elif command == "!find":
            team_id = self.api.get_channel(channel_id=post.channel_id).team_id
            found = self.api.search_posts_in_team_for_user(
                team_id=team_id, user_id=post.user_id, search_params=models.SearchParameter(terms=rest)
            )
            messages = sorted(p.message for p in found.posts.values() if p.id != post.id)
            self.whisper(post, f"found: {messages}")

    @hook
    def execute_command(self, args: models.CommandArgs | None) -> models.CommandResponse:
        assert args is not None
        dialog = models.Dialog(
            callback_id="survey",
            title="Survey",
            elements=(models.DialogElement(display_name="Name", name="name", type="text"),),
        )
        request = models.OpenDialogRequest(
            trigger_id=args.trigger_id or "dev-trigger", url="/plugins/com.example.observed/survey", dialog=dialog
        )
        self.api.open_interactive_dialog(dialog=request)
        return models.CommandResponse(text="opened")

    @hook
    def user_has_been_created(self, user: models.User | None) -> None:
        assert user is not None
        self.api.publish_web_socket_event(event="user_created", payload={"username": user.username}, broadcast=None)

    @hook
    def user_has_joined_team(self, team_member: models.TeamMember | None, actor: models.User | None) -> None:
        assert team_member is not None
        actor_name = actor.username if actor is not None else ""
        self.api.log_info(msg="joined team", key_value_pairs=("user_id", team_member.user_id, "actor", actor_name))

    @hook
    def channel_has_been_created(self, channel: models.Channel | None) -> None:
        assert channel is not None
        welcome = models.Post(user_id=self.bot_id, channel_id=channel.id, message=f"Welcome to {channel.display_name}")
        self.api.create_post(post=welcome)

    @hook
    def reaction_has_been_added(self, reaction: models.Reaction | None) -> None:
        assert reaction is not None
        self.api.publish_web_socket_event(
            event="reacted", payload={"emoji": reaction.emoji_name, "user_id": reaction.user_id}, broadcast=None
        )


def test_posts_reactions_ephemeral_posts_events_and_mails_are_observable(mm_plugin_host: str) -> None:
    with DevHost.for_class(Observed, binary=mm_plugin_host) as host:
        seed = host.seed()
        me, town_square = seed["user"], seed["channel"]

        status, root = host.create_post("!reply hello")
        assert status == 201
        assert host.create_post("!ws one two")[0] == 201
        status, watched = host.create_post("!react")
        assert status == 201
        assert host.create_post("!whisper secret")[0] == 201
        assert host.create_post("!mail all good")[0] == 201

        posts = host.channel_posts()
        messages = [p["message"] for p in posts]
        assert messages == ["!reply hello", "echo hello", "!ws one two", "!react", "!whisper secret", "!mail all good"]
        reply = posts[1]
        assert reply["root_id"] == root["id"] and reply["user_id"] != me["id"]
        assert posts[0]["reply_count"] == 1
        assert host.channel_posts(town_square["id"]) == posts

        reactions = host.reactions(watched["id"])
        assert [(r["emoji_name"], r["user_id"]) for r in reactions] == [("eyes", reply["user_id"])]

        whispers = host.ephemeral_posts()
        assert [(w["message"], w["type"]) for w in whispers] == [("psst: secret", "system_ephemeral")]
        assert host.ephemeral_posts(reply["user_id"]) == []

        events = host.websocket_events()
        assert [e["event"] for e in events] == ["seen"]
        assert events[0]["name"] == "custom_com.example.observed_seen"
        assert events[0]["payload"]["words"] == ["one", "two"]
        assert events[0]["broadcast"]["channel_id"] == town_square["id"]

        assert [(m["to"], m["subject"], m["html_body"]) for m in host.mails()] == [
            ("ops@example.com", "Report", "<p>all good</p>")
        ]


def test_dialogs_opened_from_a_command_are_recorded(mm_plugin_host: str) -> None:
    with DevHost.for_class(Observed, binary=mm_plugin_host) as host:
        assert host.dialogs() == []
        status, response = host.execute_command("/survey")
        assert status == 200 and response["text"] == "opened", response
        (opened,) = host.dialogs()
        assert opened["trigger_id"]
        assert opened["dialog"]["title"] == "Survey"
        assert [e["name"] for e in opened["dialog"]["elements"]] == ["name"]


def test_tests_set_up_their_own_users_and_channels_and_act_as_them(mm_plugin_host: str) -> None:
    with DevHost.for_class(Observed, binary=mm_plugin_host) as host:
        alice = host.create_user("alice", first_name="Alice")
        outsider = host.create_user("olga", join_team=False)
        assert alice["username"] == "alice" and alice["email"] == "alice@example.com"
        created = [e["payload"]["username"] for e in host.websocket_events() if e["event"] == "user_created"]
        assert created == ["alice", "olga"]
        joined = [log for log in host.logs() if log["message"] == "joined team"]
        assert [(log["fields"]["user_id"], log["fields"]["actor"]) for log in joined] == [(alice["id"], "dev.user")]

        # A channel created as alice: she is its first member, and the plugin welcomes it.
        channel = host.create_channel("ops", display_name="Operations", as_user="alice")
        assert channel["creator_id"] == alice["id"] and channel["type"] == "O"
        assert [p["message"] for p in host.channel_posts(channel["id"])] == ["Welcome to Operations"]
        status, post = host.create_post_as(alice, "!can " + channel["id"], channel_id=channel["id"])
        assert status == 201 and post["user_id"] == alice["id"]
        assert host.ephemeral_posts(alice["id"])[-1]["message"] == "can post there: True"
        # dev.user is in the team but not in the channel.
        assert host.create_post("!can " + channel["id"])[0] == 201
        assert host.ephemeral_posts()[-1]["message"] == "can post there: False"

        # Search as alice sees her channels only.
        host.create_post_as(alice, "deploy at noon", channel_id=channel["id"])
        host.create_post("deploy tomorrow")
        host.create_post_as(alice["id"], "!find deploy", channel_id=channel["id"])
        assert host.ephemeral_posts(alice["id"])[-1]["message"] == "found: ['deploy at noon', 'deploy tomorrow']"
        private = host.create_channel("hideout", private=True)
        host.create_post("deploy in secret", channel_id=private["id"])
        host.create_post_as(alice, "!find deploy", channel_id=channel["id"])
        assert "deploy in secret" not in host.ephemeral_posts(alice["id"])[-1]["message"]

        # Reacting as a user fires ReactionHasBeenAdded with that user.
        status, reaction = host.add_reaction(post["id"], "tada", as_user=alice["id"])
        assert status == 200 and reaction["user_id"] == alice["id"]
        assert host.websocket_events()[-1]["payload"] == {"emoji": "tada", "user_id": alice["id"]}
        assert [r["emoji_name"] for r in host.reactions(post["id"])] == ["tada"]

        # Someone outside the team may not create channels in it.
        with pytest.raises(RuntimeError, match="answered 403"):
            host.create_channel("nope", as_user=outsider["id"])
        # A mistyped acting user is refused, never replaced by dev.user; so is a taken username.
        with pytest.raises(RuntimeError, match="answered 401"):
            host.create_channel("typo", as_user="nobody-by-that-name")
        with pytest.raises(RuntimeError, match="answered 400"):
            host.create_user("alice")
