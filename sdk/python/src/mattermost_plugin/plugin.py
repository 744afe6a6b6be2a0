"""`Plugin` and `@hook`: which methods handle which hooks, checked when the class is created."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import threading
import types
import typing
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from mattermost_plugin_api import HOOK_SPECS, AsyncPluginAPI, Hook, HookShape, PluginAPI

if TYPE_CHECKING:
    from mattermost_plugin.kv import KVStore

_F = TypeVar("_F", bound=Callable[..., Any])
# Guards the lazy creation of a plugin's API clients (first uses may race on handler threads).
_CLIENTS_LOCK = threading.Lock()

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
    logger: logging.Logger
    configuration: dict[str, Any]
    _api: PluginAPI | None = None
    _api_async: AsyncPluginAPI | None = None
    # (target, token) of the host's API server, set by run_plugin.
    _api_address: tuple[str, str] | None = None

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
        for attr, value in vars(cls).items():
            named = _hook_named(attr)
            if named is not None and callable(value) and named not in found:
                warnings.warn(
                    f"{cls.__name__}.{attr} is named like the {named.value} hook but is not marked with "
                    f"@hook, so the server never calls it; add @hook above it (or rename it)",
                    stacklevel=2,
                )
        if cls.settings_class is not None and not dataclasses.is_dataclass(cls.settings_class):
            raise TypeError(f"{cls.__name__}.settings_class {cls.settings_class!r} must be a dataclass")

    @functools.cached_property
    def kv(self) -> KVStore:
        """The key-value store with JSON values and atomic updates (see `KVStore`)."""
        from mattermost_plugin.kv import KVStore

        return KVStore(self.api)

    def __init__(self) -> None:
        self.configuration = {}
        self.logger = logging.getLogger(f"mattermost_plugin.{type(self).__name__}")

    @property
    def api(self) -> PluginAPI:
        """The server's API, sync client. Made at first use: a plugin that only uses `api_async`
        never pays for this client's channel (nor one using only `api` for the other's)."""
        if self._api is None:
            with _CLIENTS_LOCK:
                if self._api is None:
                    self._api = PluginAPI(*self._host_address())
        return self._api

    @api.setter
    def api(self, client: PluginAPI) -> None:
        self._api = client

    @property
    def api_async(self) -> AsyncPluginAPI:
        """The server's API, asyncio client (made at first use, like `api`)."""
        if self._api_async is None:
            with _CLIENTS_LOCK:
                if self._api_async is None:
                    self._api_async = AsyncPluginAPI(*self._host_address())
        return self._api_async

    @api_async.setter
    def api_async(self, client: AsyncPluginAPI) -> None:
        self._api_async = client

    def _host_address(self) -> tuple[str, str]:
        if self._api_address is None:
            raise RuntimeError(
                f"{type(self).__name__}: the API is there once a host runs the plugin (run_plugin); "
                "in a unit test, assign a fake to `api` / `api_async`"
            )
        return self._api_address

    def load_configuration(self) -> dict[str, Any]:
        """Reads the configuration from the server (LoadPluginConfiguration) into `self.configuration`."""
        import json  # here: nothing before the first configuration needs it

        raw = self.api.load_plugin_configuration()
        loaded = json.loads(raw) if raw else {}
        self.configuration = loaded if isinstance(loaded, dict) else {}
        if self.settings_class is not None:
            self.settings = settings_from(self.settings_class, self.configuration)
        return self.configuration


def _hook_named(attr: str) -> Hook | None:
    """The hook a method's name spells (`message_will_be_posted` or `MessageWillBePosted`)."""
    if attr in _BY_SNAKE:
        return _BY_SNAKE[attr]
    try:
        return Hook(attr)
    except ValueError:
        return None


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def settings_from(cls: type[Any], configuration: dict[str, Any]) -> Any:
    """An instance of dataclass `cls` from a configuration dict (see `Plugin.settings_class`)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"settings_class {cls.__name__} must be a dataclass")
    by_key = {_key(k): (k, v) for k, v in configuration.items()}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # annotations that do not resolve are taken as they come
        hints = {}
    values = {}
    for f in dataclasses.fields(cls):
        if _key(f.name) not in by_key:
            continue
        key, value = by_key[_key(f.name)]
        expected = hints.get(f.name, Any)
        if not _fits(value, expected):
            raise SettingsError(
                f"setting {key!r} is {value!r} ({type(value).__name__}), but {cls.__name__}.{f.name} "
                f"expects {getattr(expected, '__name__', expected)}"
            )
        values[f.name] = value
    return cls(**values)


class SettingsError(TypeError):
    """A configuration value that does not fit the plugin's `settings_class`."""


def _fits(value: Any, expected: Any) -> bool:
    """Whether a JSON value fits a settings field's annotation (the simple types settings use;
    anything else is taken as it comes)."""
    if expected is Any:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if origin is list or expected is list:
        return isinstance(value, list)
    if origin is dict or expected is dict:
        return isinstance(value, dict)
    return True


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
