"""Posts a plugin creates or edits through the API run the post hooks, as on a server: the
plugin's own MessageWillBePosted may rewrite or reject them and MessageHasBeenPosted follows, so a
reply bot that does not ignore its own posts would loop here as in production."""

from __future__ import annotations

import dataclasses
import json
import time

from mattermost_plugin import Plugin, hook
from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import models
from mattermost_plugin_api.errors import BadRequestError


class ReplyBot(Plugin):
    bot_id = ""
    seen_own = 0

    @hook
    def on_activate(self) -> None:
        self.bot_id = self.api.ensure_bot_user(bot=models.Bot(username="echo-bot", display_name="Echo"))
        self.api.register_command(command=models.Command(trigger="seen"))

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        if "forbidden" in post.message:
            return None, "not on my watch"
        return dataclasses.replace(post, message=post.message + " [checked]"), ""

    @hook
    def message_will_be_updated(self, new_post: models.Post, old_post: models.Post) -> tuple[models.Post | None, str]:
        return dataclasses.replace(new_post, message=new_post.message + " [edited]"), ""

    @hook
    def message_has_been_posted(self, post: models.Post) -> None:
        if post.user_id == self.bot_id:
            # Without this guard the bot would answer itself forever.
            self.seen_own += 1
            return
        reply = self.api.create_post(
            post=models.Post(channel_id=post.channel_id, user_id=self.bot_id, root_id=post.id, message="echo")
        )
        self.api.update_post(post=dataclasses.replace(reply, message="echo again"))
        try:
            self.api.create_post(
                post=models.Post(channel_id=post.channel_id, user_id=self.bot_id, root_id=post.id, message="forbidden")
            )
        except BadRequestError as e:
            self.api.log_info(msg=f"refused: {e.message}", key_value_pairs=[])

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        return models.CommandResponse(text=str(self.seen_own))


def test_the_plugins_own_posts_run_its_post_hooks(mm_plugin_host: str) -> None:
    with DevHost.for_class(ReplyBot, binary=mm_plugin_host) as host:
        status, post = host.create_post("hello")
        assert status == 201 and post["message"] == "hello [checked]", post

        def thread() -> list[str]:
            status, body = host.request("GET", f"/api/v4/posts/{post['id']}/thread")
            assert status == 200, body
            return [p["message"] for p in json.loads(body)["posts"]]

        deadline = time.monotonic() + 10
        while "echo again [edited]" not in thread() and time.monotonic() < deadline:
            time.sleep(0.05)
        # The bot's reply went through MessageWillBePosted, its edit through MessageWillBeUpdated;
        # the rejected one was never stored and CreatePost raised the server's 400.
        assert thread() == ["hello [checked]", "echo again [edited]"]
        while not host.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [log["message"] for log in host.logs()] == ["refused: Post rejected by plugin. not on my watch"]
        # MessageHasBeenPosted reached the plugin for its own reply too (once: nothing looped).
        while host.execute_command("/seen")[1]["text"] != "1" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host.execute_command("/seen")[1]["text"] == "1"
