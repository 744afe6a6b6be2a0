"""`Plugin` and `@hook`: which methods handle which hooks, checked when the class is created."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, overload

from mattermost_plugin_api import HOOK_SPECS, AsyncPluginAPI, Hook, HookShape, PluginAPI

_F = TypeVar("_F", bound=Callable[..., Any])

# Handler method names, as the generator names them (acronyms kept whole: serve_http).
_BY_SNAKE: dict[str, Hook] = {spec.method_name: which for which, spec in HOOK_SPECS.items()}


def _resolve(name: str | Hook) -> Hook:
    if isinstance(name, Hook):
        return name
    try:
        return Hook(name)
    except ValueError:
        pass
    if name in _BY_SNAKE:
        return _BY_SNAKE[name]
    raise TypeError(f"{name!r} is not a Mattermost hook (for example MessageWillBePosted or message_will_be_posted)")


@overload
def hook(target: _F) -> _F: ...
@overload
def hook(target: str | Hook) -> Callable[[_F], _F]: ...
def hook(target: Any) -> Any:
    """Marks a method as a hook handler: `@hook` (named after the method, e.g.
    `message_will_be_posted`) or `@hook("MessageWillBePosted")` / `@hook(Hook.MESSAGE_WILL_BE_POSTED)`."""
    if callable(target) and not isinstance(target, (str, Hook)):
        target.__mm_hook__ = _resolve(target.__name__)
        return target

    def mark(fn: _F) -> _F:
        fn.__mm_hook__ = _resolve(target)  # type: ignore[attr-defined]
        return fn

    return mark


class Plugin:
    """Base class of a Python plugin. Subclass it, mark handlers with `@hook`, pass the class to
    `run_plugin`.

    - `self.api` / `self.api_async`: the server's API (sync and asyncio clients);
    - `self.logger`: a `logging.Logger` whose records reach the server's log;
    - `self.configuration`: the plugin's configuration (a dict), refreshed before every
      `OnConfigurationChange` handler runs.
    """

    hooks: ClassVar[dict[Hook, str]] = {}
    settings_class: ClassVar[type[Any] | None] = None
    """A dataclass for the configuration: when set, `self.settings` holds an instance of it, built
    from the configuration (keys match field names ignoring case and underscores, so `Greeting`
    fills `greeting`; unknown keys are ignored, missing ones keep their defaults)."""
    settings: Any = None
    asgi_app: ClassVar[Any] = None
    """An ASGI application (Starlette, FastAPI, …) to serve the plugin's HTTP routes, used when the
    class has no ServeHTTP handler of its own."""
    api: PluginAPI
    api_async: AsyncPluginAPI
    logger: logging.Logger
    configuration: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[Hook, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                which = getattr(value, "__mm_hook__", None)
                if isinstance(which, Hook):
                    _check_signature(cls, attr, value, which)
                    found[which] = attr
        cls.hooks = found

    def __init__(self) -> None:
        self.configuration = {}
        self.logger = logging.getLogger(f"mattermost_plugin.{type(self).__name__}")

    def load_configuration(self) -> dict[str, Any]:
        """Reads the configuration from the server (LoadPluginConfiguration) into `self.configuration`."""
        raw = self.api.load_plugin_configuration()
        loaded = json.loads(raw) if raw else {}
        self.configuration = loaded if isinstance(loaded, dict) else {}
        if self.settings_class is not None:
            self.settings = settings_from(self.settings_class, self.configuration)
        return self.configuration


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def settings_from(cls: type[Any], configuration: dict[str, Any]) -> Any:
    """An instance of dataclass `cls` from a configuration dict (see `Plugin.settings_class`)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"settings_class {cls.__name__} must be a dataclass")
    by_key = {_key(k): v for k, v in configuration.items()}
    values = {f.name: by_key[_key(f.name)] for f in dataclasses.fields(cls) if _key(f.name) in by_key}
    return cls(**values)


def _check_signature(cls: type, attr: str, fn: Callable[..., Any], which: Hook) -> None:
    spec = HOOK_SPECS[which]
    allowed = [name for name, _ in spec.params]
    params = list(inspect.signature(fn).parameters.values())[1:]  # skip self
    where = f"{cls.__name__}.{attr} (hook {which.value})"
    if spec.streaming and not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{where} must be `async def`: its data streams through async iterators")
    if spec.shape is HookShape.FILE_UPLOAD:
        # The file streams in as `file` (async iterator of bytes); a replacement goes to `output`.
        allowed = ["context", "info", "file", "output"]
    elif spec.streaming:
        if len(params) != 2:
            raise TypeError(f"{where} must take (self, request, response): an HTTPRequest and a ResponseWriter")
        return
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name not in allowed:
            raise TypeError(f"{where}: unknown parameter {p.name!r}; the hook passes {', '.join(allowed) or 'nothing'}")
