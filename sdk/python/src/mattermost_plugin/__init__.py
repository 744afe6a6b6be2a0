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

from mattermost_plugin.asgi import serve_asgi
from mattermost_plugin.http import HTTPRequest, ResponseWriter, UploadWriter
from mattermost_plugin.kv import KVConflictError, KVStore, millis, new_id
from mattermost_plugin.plugin import Plugin, hook
from mattermost_plugin.server import run_plugin

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
