"""The subject of the hook round trip and cold start benchmarks: a plugin written with the SDK.

`sdk_plugin.py async|sync|sync-mixed` picks the MessageWillBePosted handler: a coroutine; a plain
function in a plugin whose handlers are all plain (served by grpc's sync server, the handler on the
thread that took the call); or a plain function in a plugin with an async handler too (served by
grpc.aio, the handler handed to a thread and back). Each returns the post unchanged.
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


class SyncEchoWithAsyncHooks(SyncEcho):
    @hook
    async def on_deactivate(self) -> None:
        """Never called here: one async handler puts the plugin on grpc.aio."""


if __name__ == "__main__":
    variants: dict[str, type[Plugin]] = {"async": AsyncEcho, "sync": SyncEcho, "sync-mixed": SyncEchoWithAsyncHooks}
    if len(sys.argv) != 2 or sys.argv[1] not in variants:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(variants)}")
    run_plugin(variants[sys.argv[1]])
