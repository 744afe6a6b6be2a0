"""The subject of the hook round trip and cold start benchmarks: a plugin written with the SDK.

`sdk_plugin.py async|sync` picks the MessageWillBePosted handler: a coroutine, or a plain function
(which the SDK runs in a worker thread). Either returns the post unchanged.
"""

from __future__ import annotations

import sys

from mattermost_plugin import Plugin, hook, run_plugin
from mattermost_plugin_api import models


class Echo(Plugin):
    @hook
    def on_activate(self) -> None:
        """Nothing to set up: cold start measures the SDK, not the plugin."""


class AsyncEcho(Echo):
    @hook
    async def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
        return post, ""


class SyncEcho(Echo):
    @hook
    def message_will_be_posted(self, post: models.Post | None) -> tuple[models.Post | None, str]:
        return post, ""


if __name__ == "__main__":
    variants: dict[str, type[Plugin]] = {"async": AsyncEcho, "sync": SyncEcho}
    if len(sys.argv) != 2 or sys.argv[1] not in variants:
        sys.exit(f"usage: {sys.argv[0]} async|sync")
    run_plugin(variants[sys.argv[1]])
