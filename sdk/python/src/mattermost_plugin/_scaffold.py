"""`python -m mattermost_plugin new <dir>`: a new plugin that runs, passes ruff and mypy --strict,
and comes with a test that drives it on the dev host."""

from __future__ import annotations

import json
import keyword
import pathlib
import re
from string import Template

_PLUGIN_PY = Template('''"""$name: a Mattermost plugin in Python."""

from __future__ import annotations

import dataclasses
import json

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
from mattermost_plugin_api import models
from mattermost_plugin_api.enums import CommandResponseType


@dataclasses.dataclass
class Settings:
    """The plugin's settings (`settings_schema` in plugin.json), filled on every change."""

    greeting: str = "Hello"


class $class_name(Plugin):
    settings_class = Settings
    settings: Settings
    bot_id = ""

    @hook
    def on_activate(self) -> None:
        bot = models.Bot(username="$trigger-bot", display_name="$name")
        self.bot_id = self.api.ensure_bot_user(bot=bot)
        command = models.Command(trigger="$trigger", auto_complete=True)
        self.api.register_command(command=command)

    @hook
    def message_will_be_posted(
        self, post: models.Post
    ) -> tuple[models.Post | None, str]:
        if "spam" in post.message.lower():
            return None, "$name does not let spam through."
        return post, ""

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        user = self.api.get_user(user_id=args.user_id)
        return models.CommandResponse(
            response_type=CommandResponseType.EPHEMERAL,
            text=f"{self.settings.greeting}, {user.username}!",
        )

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        response.headers["Content-Type"] = ["application/json"]
        body = {"bot_id": self.bot_id, "path": request.url}
        await response.write(json.dumps(body).encode())


if __name__ == "__main__":
    run_plugin($class_name)
''')

_TEST_PY = Template('''"""$name on the dev host: `pytest` here, with the `mattermost-plugin-host` package installed
(or `mm-plugin-host` on PATH, or its path in MM_PLUGIN_HOST)."""

from __future__ import annotations

import json
import pathlib
import sys

from mattermost_plugin.testing import DevHost

HERE = pathlib.Path(__file__).resolve().parent


def test_spam_is_rejected_and_the_rest_posted() -> None:
    with DevHost(HERE, python_env=sys.prefix) as host:
        status, body = host.create_post("buy spam now")
        assert status == 400 and body["reason"] == "$name does not let spam through."
        status, post = host.create_post("hello")
        assert status == 201 and post["message"] == "hello"


def test_the_command_greets_with_the_configured_greeting() -> None:
    with DevHost(HERE, python_env=sys.prefix) as host:
        assert host.set_configuration({"Greeting": "Ahoy"})[0] == 200
        status, response = host.execute_command("/$trigger")
        assert status == 200 and response["text"] == "Ahoy, dev.user!"


def test_the_http_route_answers_json() -> None:
    with DevHost(HERE, python_env=sys.prefix) as host:
        status, body = host.plugin_http("GET", "/status")
        assert status == 200 and json.loads(body)["path"] == "/status"
''')

_REQUIREMENTS = "# The plugin's own dependencies, one per line; `cargo xtask bundle` ships them as wheels.\n"

_ID = re.compile(r"^[a-zA-Z0-9-_\.]+$")


def _class_name(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    ident = "".join(w[:1].upper() + w[1:] for w in words) or "MyPlugin"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = "Plugin" + ident
    return ident


def new_plugin(directory: pathlib.Path, plugin_id: str = "", name: str = "") -> list[pathlib.Path]:
    """Writes a new plugin into `directory` (missing or empty); returns the files written."""
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty: a new plugin goes into a new or empty directory")
    base = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-") or "plugin"
    plugin_id = plugin_id or f"com.example.{base}"
    if not _ID.match(plugin_id) or not 3 <= len(plugin_id) <= 190:
        raise ValueError(f"{plugin_id!r} is not a plugin id a server accepts (3-190 of a-z A-Z 0-9 - _ .)")
    name = name or base.replace("-", " ").title()
    trigger = base.split("-")[0] or "hello"
    fields = {"name": name, "class_name": _class_name(name), "trigger": trigger}
    manifest = {
        "id": plugin_id,
        "name": name,
        "version": "0.1.0",
        "server": {"runtime": "python", "executable": "plugin.py"},
        "settings_schema": {
            "settings": [
                {
                    "key": "Greeting",
                    "display_name": "Greeting",
                    "type": "text",
                    "help_text": f"How /{trigger} greets.",
                    "default": "Hello",
                }
            ]
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "plugin.json": json.dumps(manifest, indent=2) + "\n",
        "plugin.py": _PLUGIN_PY.substitute(fields),
        "test_plugin.py": _TEST_PY.substitute(fields),
        "requirements.txt": _REQUIREMENTS,
    }
    written = []
    for filename, text in files.items():
        path = directory / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
