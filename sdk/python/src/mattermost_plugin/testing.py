"""Test a plugin from pytest against the local dev host (`mm-plugin-host`).

```python
from mattermost_plugin.testing import DevHost

def test_rejects_spam():
    with DevHost("path/to/plugin-dir") as host:
        status, body = host.create_post("buy spam")
        assert status == 400

class Shouty(Plugin):  # or a class defined in the test file itself
    @hook
    def message_will_be_posted(self, post):
        return dataclasses.replace(post, message=post.message.upper()), ""

def test_shouts():
    with DevHost.for_class(Shouty) as host:
        assert host.create_post("hi")[1]["message"] == "HI"
```

The host binary comes from `$MM_PLUGIN_HOST`, then the `mm-plugin-host` installed beside the running
interpreter (the `mattermost-plugin-host` wheel), then PATH. The plugin directory
needs a `plugin.json`; for `"runtime": "python"` the host uses the directory's `venv/` or `.venv/`,
else `python3` on PATH — `DevHost(..., python_env=sys.prefix)` links the current environment in.
"""

from __future__ import annotations

import inspect
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from types import TracebackType
from typing import Any

from mattermost_plugin._api_calls import ApiCall, MethodRef, decode_call, reply_body, spec_for
from mattermost_plugin.plugin import Plugin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_host_binary() -> str:
    """`$MM_PLUGIN_HOST`, else the `mm-plugin-host` that the `mattermost-plugin-host` package
    installed beside this interpreter (its scripts directory, found even when the environment is
    not activated), else `mm-plugin-host` on PATH."""
    explicit = os.environ.get("MM_PLUGIN_HOST")
    if explicit:
        return explicit
    import sysconfig

    # Before PATH: the binary installed with this SDK matches it, whatever else PATH holds.
    scripts = sysconfig.get_path("scripts")
    found = shutil.which("mm-plugin-host", path=scripts) if scripts else None
    if found is not None:
        return found
    found = shutil.which("mm-plugin-host")
    if found is None:
        raise FileNotFoundError(
            "mm-plugin-host not found: `pip install mattermost-plugin-host` (built from the repository's "
            "devhost/), set MM_PLUGIN_HOST to the binary, or put it on PATH"
        )
    return found


# The entry script of `DevHost.for_class`: load the file that defines the class (its own prints
# go to stderr, away from the handshake), then serve the class.
_ENTRY = """import contextlib, importlib.util, sys

from mattermost_plugin import run_plugin

spec = importlib.util.spec_from_file_location("_plugin_under_test", {source!r})
assert spec is not None and spec.loader is not None
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
with contextlib.redirect_stdout(sys.stderr):
    spec.loader.exec_module(module)
run_plugin(getattr(module, {name!r}))
"""


class DevHost:
    """`mm-plugin-host run <plugin_dir>` as a context manager, with helpers for its REST surface."""

    def __init__(
        self, plugin_dir: str | os.PathLike[str], *, binary: str | None = None, python_env: str | None = None
    ) -> None:
        self.plugin_dir = pathlib.Path(plugin_dir)
        self.binary = binary or find_host_binary()
        if python_env is not None:
            link = self.plugin_dir / ".venv"
            if not link.exists():
                link.symlink_to(python_env)
        self.url = ""
        self.plugin_id = json.loads((self.plugin_dir / "plugin.json").read_text())["id"]
        self.implemented: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._owned_dir: pathlib.Path | None = None

    @classmethod
    def for_class(
        cls,
        plugin_class: type[Plugin],
        *,
        plugin_id: str = "",
        manifest: dict[str, Any] | None = None,
        binary: str | None = None,
    ) -> DevHost:
        """A host for one `Plugin` subclass defined in an importable file (a test module, say):
        writes a throwaway plugin directory whose entry script loads that file and runs the class
        on this interpreter. `manifest` adds to the generated `plugin.json`."""
        source = inspect.getsourcefile(plugin_class)
        if source is None or "<locals>" in plugin_class.__qualname__:
            raise ValueError(f"{plugin_class.__qualname__} must be defined at the top level of a Python file")
        plugin_dir = pathlib.Path(tempfile.mkdtemp(prefix="mm-plugin-test-"))
        plugin_id = plugin_id or f"com.example.{plugin_class.__name__.lower()}"
        contents = {
            "id": plugin_id,
            "name": plugin_class.__name__,
            "version": "0.0.0",
            **(manifest or {}),
            "server": {"runtime": "python", "executable": "plugin.py"},
        }
        (plugin_dir / "plugin.json").write_text(json.dumps(contents))
        (plugin_dir / "plugin.py").write_text(_ENTRY.format(source=source, name=plugin_class.__qualname__))
        host = cls(plugin_dir, binary=binary, python_env=sys.prefix)
        host._owned_dir = plugin_dir
        return host

    def __enter__(self) -> DevHost:
        port = _free_port()
        self._process = subprocess.Popen(
            [self.binary, "run", str(self.plugin_dir), "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            text=True,
            # The host's log (the plugin's lines and API log calls among them) goes to this
            # process's stderr, which pytest shows when a test fails.
            env=dict(os.environ),
        )
        assert self._process.stdout is not None
        output = []
        for line in self._process.stdout:
            output.append(line)
            if line.startswith("implements:"):
                self.implemented = [h.strip() for h in line.split(":", 1)[1].split(",") if h.strip()]
            if line.startswith("listening on"):
                self.url = f"http://127.0.0.1:{port}"
                return self
        code = self._process.wait(timeout=10)
        self._process = None
        self._remove_owned_dir()
        raise RuntimeError(f"mm-plugin-host exited with {code} before listening:\n{''.join(output)}")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> int:
        """Ctrl-C: OnDeactivate, then the plugin is shut down. Returns the host's exit code."""
        if self._process is None:
            return 0
        process, self._process = self._process, None
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        self._remove_owned_dir()
        return code

    def _remove_owned_dir(self) -> None:
        """The plugin directory `for_class` wrote, once the host is done with it."""
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Any HTTP request to the host; `path` starts with `/`."""
        headers = {"Content-Type": content_type, **(headers or {})}
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as e:
            return int(e.code), e.read()

    def _json(self, method: str, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = self.request(method, path, json.dumps(payload).encode())
        return status, json.loads(body) if body else {}

    def plugin_http(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        as_user: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """A request to the plugin's own routes (ServeHTTP). Anonymous, as without a session on a
        server, unless `as_user` (a user id or username) is logged in: then the plugin sees
        that user's id in `Mattermost-User-Id`, which a client can never set itself."""
        headers = dict(headers or {})
        if as_user is not None:
            headers["Authorization"] = f"Bearer {as_user}"
        return self.request(method, f"/plugins/{self.plugin_id}{path}", body, headers=headers)

    def add_channel_member(self, channel_id: str, user_id: str) -> tuple[int, dict[str, Any]]:
        """ChannelMemberWillBeAdded → add → UserHasJoinedChannel (nothing for an existing member)."""
        return self._json("POST", f"/api/v4/channels/{channel_id}/members", {"user_id": user_id})

    def logs(self) -> list[dict[str, Any]]:
        """What the plugin logged through the API (`log_info`, …), oldest first: each with
        `level`, `plugin_id`, `message`, `fields` (by key) and `at` (server time, ms)."""
        status, body = self.request("GET", "/api/v4/logs")
        if status != 200:
            raise RuntimeError(f"GET /api/v4/logs answered {status}: {body!r}")
        logs: list[dict[str, Any]] = json.loads(body)["logs"]
        return logs

    def api_calls(self, method: MethodRef | None = None, *, after: int = 0) -> list[ApiCall]:
        """The plugin's API calls, oldest first, as it made them: each with the method, its
        keyword arguments and what it returned or raised, typed as the client's. `method`
        (`PluginAPI.get_user`, `"get_user"` or `"GetUser"`) keeps one method's calls; `after`
        keeps those after a call's `seq`. Every method is recorded, modelled or not."""
        query = {"after": str(after)}
        if method is not None:
            query["method"] = spec_for(method).go_name
        status, body = self.request("GET", "/api/v4/dev/api_calls?" + urllib.parse.urlencode(query))
        if status != 200:
            raise RuntimeError(f"GET /api/v4/dev/api_calls answered {status}: {body!r}")
        return [decode_call(raw) for raw in json.loads(body)["calls"]]

    def clear_api_calls(self) -> None:
        """Forgets the recorded calls, e.g. after a test's setup."""
        self.request("DELETE", "/api/v4/dev/api_calls")

    def respond(
        self,
        method: MethodRef,
        result: Any = None,
        *,
        error: BaseException | None = None,
        times: int | None = None,
    ) -> None:
        """From now on `method` answers the plugin with `result` (typed as the client returns it:
        a model, a tuple for several results) or raises `error`, instead of asking the in-memory
        server: for the next `times` calls, or until `clear_responses`. Works for every method
        with one request and one response, modelled or not:

            host.respond(PluginAPI.get_user, error=NotFoundError("GetUser", "no such user"))
            host.respond(PluginAPI.search_posts_in_team, (post,), times=1)
        """
        spec = spec_for(method)
        payload: dict[str, Any] = {"method": spec.go_name, **reply_body(spec, result, error)}
        if times is not None:
            payload["times"] = times
        status, body = self.request("POST", "/api/v4/dev/api_responses", json.dumps(payload).encode())
        if status != 204:
            raise ValueError(f"respond({spec.name}): {json.loads(body).get('error', body) if body else status}")

    def clear_responses(self, method: MethodRef | None = None) -> None:
        """Sends `method` (or every scripted method) back to the in-memory server."""
        query = f"?method={spec_for(method).go_name}" if method is not None else ""
        self.request("DELETE", "/api/v4/dev/api_responses" + query)

    def create_post(self, message: str, **fields: str) -> tuple[int, dict[str, Any]]:
        """MessageWillBePosted → store → MessageHasBeenPosted."""
        return self._json("POST", "/api/v4/posts", {"message": message, **fields})

    def update_post(self, post_id: str, message: str) -> tuple[int, dict[str, Any]]:
        return self._json("PUT", f"/api/v4/posts/{post_id}", {"message": message})

    def execute_command(self, command: str, **fields: str) -> tuple[int, dict[str, Any]]:
        return self._json("POST", "/api/v4/commands/execute", {"command": command, **fields})

    def set_configuration(self, configuration: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Stores the configuration and fires OnConfigurationChange."""
        return self._json("PUT", f"/api/v4/plugins/{self.plugin_id}/config", configuration)

    def upload_file(self, filename: str, data: bytes, *, channel_id: str = "") -> tuple[int, dict[str, Any]]:
        """FileWillBeUploaded (the file streams to the plugin) → store; returns the stored file's info."""
        query = urllib.parse.urlencode({"filename": filename, **({"channel_id": channel_id} if channel_id else {})})
        status, body = self.request("POST", f"/api/v4/files?{query}", data, content_type="application/octet-stream")
        return status, json.loads(body) if body else {}

    def download_file(self, file_id: str) -> tuple[int, bytes]:
        """FileWillBeDownloaded → the stored bytes."""
        return self.request("GET", f"/api/v4/files/{file_id}")

    # --- Setting up people and places, and seeing what the plugin did -------------------------
    # Routes that create something act as `as_user` (a user id or username, as for
    # `plugin_http`), else as the seeded user `dev.user`. Setup helpers raise RuntimeError when
    # the host refuses; observers return what the host recorded, oldest first.

    def _send(
        self, method: str, path: str, payload: dict[str, Any] | list[Any], *, as_user: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {as_user}"} if as_user is not None else None
        status, body = self.request(method, path, json.dumps(payload).encode(), headers=headers)
        return status, json.loads(body) if body else {}

    def _get_json(self, path: str) -> Any:
        status, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body!r}")
        return json.loads(body)

    def _created(self, path: str, payload: dict[str, Any] | list[Any], *, as_user: str | None = None) -> dict[str, Any]:
        status, body = self._send("POST", path, payload, as_user=as_user)
        if status not in (200, 201):
            raise RuntimeError(f"POST {path} answered {status}: {body.get('error', body)}")
        return body

    def seed(self) -> dict[str, dict[str, Any]]:
        """What the host starts with: `{"user": …, "team": …, "channel": …}` — the user
        `dev.user`, the team `dev` and its `town-square`, where posts go by default."""
        seed: dict[str, dict[str, Any]] = self._get_json("/api/v4/dev/seed")
        return seed

    def create_user(self, username: str, *, join_team: bool = True, team_id: str = "", **fields: str) -> dict[str, Any]:
        """Creates a user (UserHasBeenCreated fires) and returns it (`id`, `username`, `email`,
        `roles`, …). `fields` may set `email` (default `<username>@example.com`), `first_name`,
        `last_name`, `nickname`, `position`, `locale`, and `roles` — e.g.
        `"system_user system_admin"` for an administrator. Unless `join_team=False` the user
        joins `team_id` (default: the seeded team) and so its town-square."""
        user = self._created("/api/v4/users", {"username": username, **fields})
        if join_team:
            team = team_id or self.seed()["team"]["id"]
            status, body = self.add_team_member(team, user["id"])
            if status not in (200, 201):
                raise RuntimeError(f"adding {username} to team {team} answered {status}: {body}")
        return user

    def add_team_member(self, team_id: str, user_id: str, *, as_user: str | None = None) -> tuple[int, dict[str, Any]]:
        """Joins the user to the team and its default channels; UserHasJoinedTeam fires with
        the acting user as actor (nothing fires for an existing member, answered with 200)."""
        return self._send("POST", f"/api/v4/teams/{team_id}/members", {"user_id": user_id}, as_user=as_user)

    def create_channel(
        self, name: str, *, team_id: str = "", private: bool = False, as_user: str | None = None, **fields: str
    ) -> dict[str, Any]:
        """Creates an open (or `private`) channel in `team_id` (default: the seeded team) as the
        acting user, who must be in the team and becomes its first member; ChannelHasBeenCreated
        fires. `fields` may set `display_name` (default `name`), `header` and `purpose`.
        Returns the channel (`id`, `name`, `type`, `creator_id`, …)."""
        payload: dict[str, Any] = {"name": name, "type": "P" if private else "O", **fields}
        if team_id:
            payload["team_id"] = team_id
        return self._created("/api/v4/channels", payload, as_user=as_user)

    def direct_channel(self, user_a: str, user_b: str) -> dict[str, Any]:
        """The direct-message channel of two users (ids), found or created — a bot's included."""
        return self._created("/api/v4/channels/direct", [user_a, user_b])

    def user(self, username: str) -> dict[str, Any]:
        """A user by username (`id`, `username`, `is_bot`, …), e.g. a bot the plugin created."""
        user: dict[str, Any] = self._get_json(f"/api/v4/users/username/{urllib.parse.quote(username)}")
        return user

    def create_post_as(self, user: str | dict[str, Any], message: str, **fields: str) -> tuple[int, dict[str, Any]]:
        """`create_post` by another user: `user` is a user id or a user from `create_user`."""
        user_id = user if isinstance(user, str) else str(user["id"])
        return self.create_post(message, **{**fields, "user_id": user_id})

    def add_reaction(self, post_id: str, emoji_name: str, *, as_user: str | None = None) -> tuple[int, dict[str, Any]]:
        """Reacts to a post as the acting user; ReactionHasBeenAdded fires."""
        return self._send("POST", "/api/v4/reactions", {"post_id": post_id, "emoji_name": emoji_name}, as_user=as_user)

    def channel_posts(self, channel_id: str = "") -> list[dict[str, Any]]:
        """Every live post of a channel (default: the seeded town-square), oldest first —
        the plugin's own posts included. Each has `id`, `message`, `user_id`, `root_id`,
        `type`, `props`, `file_ids`, `reply_count`, … (Mattermost's route pages newest first;
        this walks all its pages.)"""
        channel = channel_id or self.seed()["channel"]["id"]
        per_page, page = 200, 0
        newest_first: list[dict[str, Any]] = []
        while True:
            listing = self._get_json(f"/api/v4/channels/{channel}/posts?page={page}&per_page={per_page}")
            newest_first.extend(listing["posts"][post_id] for post_id in listing["order"])
            if len(listing["order"]) < per_page:
                return newest_first[::-1]
            page += 1

    def reactions(self, post_id: str) -> list[dict[str, Any]]:
        """A post's reactions, oldest first: `user_id`, `post_id`, `emoji_name`, `create_at`."""
        reactions: list[dict[str, Any]] = self._get_json(f"/api/v4/posts/{post_id}/reactions")
        return reactions

    def ephemeral_posts(self, user_id: str = "") -> list[dict[str, Any]]:
        """Ephemeral posts the plugin showed one user (default: the seeded user), oldest
        first, as last updated; deleted ones are gone. Shaped like `channel_posts` entries."""
        user = user_id or self.seed()["user"]["id"]
        posts: list[dict[str, Any]] = self._get_json(f"/api/v4/dev/users/{user}/ephemeral_posts")["posts"]
        return posts

    def websocket_events(self) -> list[dict[str, Any]]:
        """The plugin's PublishWebSocketEvent calls, oldest first: `event` as the plugin named
        it, `name` as clients receive it (`custom_<plugin id>_<event>`), `payload`, `broadcast`
        (`user_id`, `channel_id`, `team_id`, `omit_users`, …; None when not given), `at`."""
        events: list[dict[str, Any]] = self._get_json("/api/v4/dev/websocket_events")["events"]
        return events

    def dialogs(self) -> list[dict[str, Any]]:
        """Interactive dialogs the plugin opened, oldest first: `trigger_id`, `url` and
        `dialog` (`callback_id`, `title`, `elements`, `submit_label`, `state`, …)."""
        dialogs: list[dict[str, Any]] = self._get_json("/api/v4/dev/dialogs")["dialogs"]
        return dialogs

    def mails(self) -> list[dict[str, Any]]:
        """Mails the plugin sent, oldest first: `to`, `subject`, `html_body`, `at`."""
        mails: list[dict[str, Any]] = self._get_json("/api/v4/dev/mails")["mails"]
        return mails
