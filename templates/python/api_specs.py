"""The API methods seen from the server's side: for each, how a request becomes the keyword
arguments a plugin passed, how a return value becomes a response, and how a response becomes the
value (or exception) the plugin sees. The client (`client.py`) does the opposite directions."""

from __future__ import annotations

from typing import Any, cast

from google.protobuf import message as _message

from mattermost_plugin_api import errors, models
from mattermost_plugin_api._api_spec import ApiSpec as ApiSpec
from mattermost_plugin_api._pb import api_pb2
from mattermost_plugin_api.models import (
{%- for conversion in conversions %}
    {{ conversion }},
{%- endfor %}
)

# Keep the helpers referenced: not every contract uses every conversion.
_CONVERSIONS = ({{ conversions|join(", ") }})
{%- for m in methods %}
{%- if !m.streaming %}


def _args_{{ m.name }}(request: _message.Message) -> dict[str, Any]:
    r = cast(api_pb2.{{ m.request }}, request)
{%- if m.args.is_empty() %}
    del r
    return {}
{%- else %}
    return {
{%- for arg in m.args %}
        "{{ arg.name }}": {{ arg.from_proto }},
{%- endfor %}
    }
{%- endif %}


def _response_{{ m.name }}(value: Any) -> api_pb2.{{ m.response }}:
{%- if m.results.is_empty() %}
    del value
    return api_pb2.{{ m.response }}()
{%- else %}
    {% for r in m.results %}{% if !loop.first %}, {% endif %}{{ r.name }}{% endfor %} = {% if m.results.len() == 1 %}value{% else %}tuple(value){% endif %}
    return api_pb2.{{ m.response }}({% for r in m.results %}{% if !loop.first %}, {% endif %}{{ r.name }}={{ r.to_proto }}{% endfor %})
{%- endif %}


def _result_{{ m.name }}(response: _message.Message) -> Any:
    r = cast(api_pb2.{{ m.response }}, response)
{%- if let Some(check) = m.error %}
    if r.HasField("{{ check.field }}"):
        raise errors.{{ check.convert }}("{{ m.go_name }}", r.{{ check.field }})
{%- endif %}
{%- if m.results.is_empty() %}
{%- if m.error.is_none() %}
    del r
{%- endif %}
    return None
{%- else if m.results.len() == 1 %}
    return {{ m.results[0].from_proto }}
{%- else %}
    return (
{%- for r in m.results %}
        {{ r.from_proto }},
{%- endfor %}
    )
{%- endif %}
{%- endif %}
{%- endfor %}


API_SPECS: dict[str, ApiSpec] = {
{%- for m in methods %}
    "{{ m.name }}": ApiSpec("{{ m.name }}", "{{ m.go_name }}", ({% for arg in m.params %}("{{ arg.0 }}", "{{ arg.1 }}"), {% endfor %}), "{{ m.returns }}", {% if let Some(check) = m.error %}"{{ check.field }}"{% else %}None{% endif %}, {% if m.streaming %}True{% else %}False{% endif %}, api_pb2.{{ m.request }}, api_pb2.{{ m.response }}, {% if m.streaming %}None, None, None{% else %}_args_{{ m.name }}, _response_{{ m.name }}, _result_{{ m.name }}{% endif %}),
{%- endfor %}
}
"""Every API method by its client name."""
