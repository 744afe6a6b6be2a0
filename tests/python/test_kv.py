"""`mattermost_plugin.kv`: JSON values, atomic updates under contention, ids and timestamps."""

from __future__ import annotations

import pathlib
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mattermost_plugin import KVConflictError, KVStore, Plugin, hook, millis, new_id
from mattermost_plugin.testing import DevHost
from mattermost_plugin_api import models

ROOT = pathlib.Path(__file__).resolve().parents[2]


class FakeKV:
    """The KV methods with the server's semantics, one lock like the store's row lock."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.sets = 0

    def kv_get(self, *, key: str) -> bytes:
        with self.lock:
            return self.data.get(key, b"")

    def kv_set(self, *, key: str, value: bytes) -> None:
        with self.lock:
            self.data[key] = value

    def kv_set_with_options(self, *, key: str, value: bytes, options: models.PluginKVSetOptions) -> bool:
        with self.lock:
            self.sets += 1
            if options.atomic and self.data.get(key, b"") != options.old_value:
                return False
            self.data[key] = value
            return True

    def kv_delete(self, *, key: str) -> None:
        with self.lock:
            self.data.pop(key, None)


def test_json_values_round_trip_and_default() -> None:
    kv = KVStore(FakeKV())  # type: ignore[arg-type]
    assert kv.get_json("missing", default={"n": 0}) == {"n": 0}
    kv.set_json("poll", {"question": "Tea?", "votes": {"yes": 2}, "open": True})
    assert kv.get_json("poll") == {"question": "Tea?", "votes": {"yes": 2}, "open": True}
    assert kv.set_json_if_absent("poll", {}) is False
    assert kv.set_json_if_absent("other", [1]) is True and kv.get_json("other") == [1]
    kv.delete("poll")
    assert kv.get_json("poll") is None


def test_concurrent_updates_lose_nothing() -> None:
    fake = FakeKV()
    kv = KVStore(fake)  # type: ignore[arg-type]

    def vote(_: int) -> None:
        kv.update_json("votes", lambda v: {**v, "yes": v.get("yes", 0) + 1}, default={}, attempts=100)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(vote, range(200)))
    assert kv.get_json("votes") == {"yes": 200}
    assert fake.sets >= 200


def test_an_update_that_keeps_losing_gives_up() -> None:
    fake = FakeKV()
    kv = KVStore(fake)  # type: ignore[arg-type]
    kv.set_json("n", 0)

    def meddle(n: int) -> int:
        fake.data["n"] = str(n + 1000).encode()  # another writer gets in first, every time
        return n + 1

    with pytest.raises(KVConflictError, match="n: changed by other writers 3 times"):
        kv.update_json("n", meddle, attempts=3)


def test_ids_and_timestamps_look_like_the_servers() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[ybndrfg8ejkmcpqxot1uwisza345h769]{26}", i) for i in ids)
    before = int(time.time() * 1000)
    assert before - 5 <= millis() <= before + 1000


class Counter(Plugin):
    @hook
    def on_activate(self) -> None:
        self.api.register_command(command=models.Command(trigger="count"))

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        def bump(_: int) -> None:
            self.kv.update_json("count", lambda n: n + 1, default=0, attempts=100)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(bump, range(40)))
        return models.CommandResponse(text=str(self.kv.get_json("count")))


def test_atomic_updates_through_the_dev_host(mm_plugin_host: str) -> None:
    with DevHost.for_class(Counter, binary=mm_plugin_host) as host:
        assert host.execute_command("/count")[1]["text"] == "40"
        assert host.execute_command("/count")[1]["text"] == "80"
