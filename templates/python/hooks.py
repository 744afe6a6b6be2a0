"""The hooks a plugin can implement: names, wire IDs, and a typed signature per hook.

`HOOK_SPECS` tells an SDK how to call a handler: its parameters (names and annotations),
what it returns, how to turn a request into keyword arguments and a return value into a
response. Streaming hooks (HTTP, uploads) carry frames and have no converters.
"""

from __future__ import annotations

import enum
from typing import Any, cast

from google.protobuf import message as _message

from mattermost_plugin_api import errors, models
from mattermost_plugin_api._hook_spec import HookShape as HookShape
from mattermost_plugin_api._hook_spec import HookSpec as HookSpec
from mattermost_plugin_api._pb import hooks_pb2
from mattermost_plugin_api.models import (
{%- for conversion in conversions %}
    {{ conversion }},
{%- endfor %}
)

# Keep the helpers referenced: not every contract uses every conversion.
_CONVERSIONS = ({{ conversions|join(", ") }})


class Hook(str, enum.Enum):
    """Hook names as the host knows them (Go method names). Each member's docstring gives the Go
    signature, the minimum server version, the wire ID, what the server does for a plugin without
    the hook, where its error goes, and which arguments are always set."""
{% for hook in hooks %}
{%- if !loop.first %}
{% endif %}
    {{ hook.member }} = "{{ hook.name }}"
    """{{ hook.doc }}"""
{%- endfor %}


HOOK_IDS: dict[Hook, int] = {
{%- for hook in hooks %}
    Hook.{{ hook.member }}: {{ hook.id }},
{%- endfor %}
}
{%- for hook in hooks %}
{%- if !hook.streaming %}


def _args_{{ hook.snake }}(request: _message.Message) -> dict[str, Any]:
    r = cast(hooks_pb2.{{ hook.request }}, request)
{%- if hook.args.is_empty() %}
    del r
    return {}
{%- else %}
    return {
{%- for arg in hook.args %}
        "{{ arg.name }}": {{ arg.from_proto }},
{%- endfor %}
    }
{%- endif %}


def _response_{{ hook.snake }}(value: Any) -> hooks_pb2.{{ hook.response }}:
{%- if hook.results.is_empty() %}
    del value
    return hooks_pb2.{{ hook.response }}()
{%- else %}
    {% for r in hook.results %}{% if !loop.first %}, {% endif %}{{ r.name }}{% endfor %} = value
    return hooks_pb2.{{ hook.response }}({% for r in hook.results %}{% if !loop.first %}, {% endif %}{{ r.name }}={{ r.to_proto }}{% endfor %})
{%- endif %}
{%- endif %}
{%- endfor %}


HOOK_SPECS: dict[Hook, HookSpec] = {
{%- for hook in hooks %}
    Hook.{{ hook.member }}: HookSpec(Hook.{{ hook.member }}, {{ hook.id }}, ({% for arg in hook.args %}("{{ arg.name }}", "{{ arg.annotation }}"), {% endfor %}), "{{ hook.returns }}", {% if let Some(error) = hook.error %}"{{ error }}"{% else %}None{% endif %}, {% if hook.streaming %}True{% else %}False{% endif %}, hooks_pb2.{{ hook.request }}, hooks_pb2.{{ hook.response }}, {% if hook.streaming %}None, None{% else %}_args_{{ hook.snake }}, _response_{{ hook.snake }}{% endif %}, "{{ hook.snake }}", HookShape.{{ hook.shape }}, ({% for r in hook.results %}("{{ r.name }}", "{{ r.annotation }}"), {% endfor %})),
{%- endfor %}
}
