"""Write Mattermost server plugins in Python.

```python
from mattermost_plugin import Plugin, hook, run_plugin

class Hello(Plugin):
    @hook
    def message_will_be_posted(self, context, post):
        return post, ""

if __name__ == "__main__":
    run_plugin(Hello)
```
"""

from typing import TYPE_CHECKING, Any

from mattermost_plugin.plugin import Plugin, hook
from mattermost_plugin.server import run_plugin

if TYPE_CHECKING:
    from mattermost_plugin.asgi import serve_asgi
    from mattermost_plugin.http import HTTPRequest, ResponseWriter, UploadWriter
    from mattermost_plugin.kv import KVConflictError, KVStore, millis, new_id

# Imported at first use: a plugin without HTTP routes or KV helpers does not pay for them at start.
_LAZY = {
    "HTTPRequest": "mattermost_plugin.http",
    "ResponseWriter": "mattermost_plugin.http",
    "UploadWriter": "mattermost_plugin.http",
    "serve_asgi": "mattermost_plugin.asgi",
    "KVConflictError": "mattermost_plugin.kv",
    "KVStore": "mattermost_plugin.kv",
    "millis": "mattermost_plugin.kv",
    "new_id": "mattermost_plugin.kv",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "HTTPRequest",
    "KVConflictError",
    "KVStore",
    "Plugin",
    "ResponseWriter",
    "UploadWriter",
    "hook",
    "millis",
    "new_id",
    "run_plugin",
    "serve_asgi",
]
