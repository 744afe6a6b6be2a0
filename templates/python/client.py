{%- macro doc(m) -%}
Go: {{ m.doc.signature }}
{%- if let Some(version) = m.doc.min_version %}

        Minimum server version: {{ version }}.
{%- endif %}

        Raises:
{%- for line in m.doc.raises %}
            {{ line }}
{%- endfor %}
{%- endmacro -%}

{%- macro outcome(m) -%}
{%- if let Some(check) = m.error %}
        if response.HasField("{{ check.field }}"):
            raise errors.{{ check.convert }}("{{ m.rpc }}", response.{{ check.field }})
{%- endif %}
{%- if m.results.len() == 1 %}
        return {{ m.results[0] }}
{%- else if m.results.len() > 1 %}
        return (
{%- for result in m.results %}
            {{ result }},
{%- endfor %}
        )
{%- endif %}
{%- endmacro -%}

"""`PluginAPI`: the server's API for a plugin, one method per Go method."""

from __future__ import annotations
{%- if uses_datetime || !abc.is_empty() || uses_any %}
{% if uses_datetime %}
import datetime
{%- endif %}
{%- if !abc.is_empty() %}
from collections.abc import {{ abc|join(", ") }}
{%- endif %}
{%- if uses_any %}
from typing import Any
{%- endif %}
{%- endif %}

from mattermost_plugin_api import errors, models
from mattermost_plugin_api._client_base import (
{%- for name in base %}
    {{ name }},
{%- endfor %}
)
from mattermost_plugin_api._pb import api_pb2
from mattermost_plugin_api.models import (
{%- for conversion in conversions %}
    {{ conversion }},
{%- endfor %}
)

__all__ = ["MAX_CHUNK", "TOKEN_METADATA", "AsyncPluginAPI", "PluginAPI", "channel_options"]

# Keep the helpers referenced: not every contract uses every conversion.
_CONVERSIONS = ({{ conversions|join(", ") }})
{%- for flavour in flavours %}
{%- if flavour.aio %}


class AsyncPluginAPI(AsyncPluginAPIBase):
    """asyncio client of the host's `PluginAPI` service: the methods of `PluginAPI`, awaited."""
{%- else %}


class PluginAPI(PluginAPIBase):
    """Synchronous client of the host's `PluginAPI` service.

    `target` is what the host passes in `MM_PLUGIN_API_ADDR` (`unix:///path` or `host:port`).
    """
{%- endif %}
{%- for m in methods %}
{%- match m.shape %}
{%- when ClientShape::Unary %}

    {% if flavour.aio %}async {% endif %}def {{ m.name }}(self
        {%- if !m.args.is_empty() %}, *{% endif %}
        {%- for arg in m.args %}, {{ arg.name }}: {{ arg.annotation }}{% if let Some(default) = arg.default %} = {{ default }}{% endif %}{% endfor -%}
    ) -> {{ m.returns }}:
        """{% call doc(m) %}{% endcall %}"""
        {% if m.reads_response() %}response = {% endif %}{% if flavour.aio %}await {% endif %}self._call("{{ m.rpc }}", api_pb2.{{ m.request }}(
        {%- for arg in m.args %}{% if !loop.first %}, {% endif %}{{ arg.name }}={{ arg.to_proto }}{% endfor -%}
        ), api_pb2.{{ m.response }})
{%- call outcome(m) %}{% endcall %}
{%- when ClientShape::Upload { param, chunk_field } %}

    {% if flavour.aio %}async {% endif %}def {{ m.name }}(self, *, {% for arg in m.args %}{{ arg.name }}: {{ arg.annotation }}, {% endfor -%}
        {{ param }}: Iterable[bytes]{% if flavour.aio %} | AsyncIterable[bytes]{% endif %}) -> {{ m.returns }}:
        """{% call doc(m) %}{% endcall %}

        `{{ param }}` streams to the host in chunks of at most 64 KiB.
        """

        {% if flavour.aio %}async def frames() -> AsyncIterator{% else %}def frames() -> Iterator{% endif %}[api_pb2.{{ m.request }}]:
            yield api_pb2.{{ m.request }}({% for arg in m.args %}{% if !loop.first %}, {% endif %}{{ arg.name }}={{ arg.to_proto }}{% endfor %})
            {% if flavour.aio %}async for piece in achunks{% else %}for piece in chunks{% endif %}({{ param }}):
                yield api_pb2.{{ m.request }}({{ chunk_field }}=piece)

        response = {% if flavour.aio %}await {% endif %}self._call_stream("{{ m.rpc }}", frames(), api_pb2.{{ m.request }}, api_pb2.{{ m.response }})
{%- call outcome(m) %}{% endcall %}
{%- when ClientShape::PluginHttp %}

    {% if flavour.aio %}async {% endif %}def {{ m.name }}(self, *, frames: {% if flavour.aio %}AsyncIterator{% else %}Iterable{% endif %}[api_pb2.{{ m.request }}]) -> {% if flavour.aio %}AsyncIterator{% else %}Iterator{% endif %}[api_pb2.{{ m.response }}]:
        """{% call doc(m) %}{% endcall %}

        Plugin-to-plugin HTTP: request head and body frames in, response frames out.
        """
        return self._call_bidi("{{ m.rpc }}", {% if flavour.aio %}frames{% else %}iter(frames){% endif %}, api_pb2.{{ m.request }}, api_pb2.{{ m.response }})
{%- endmatch %}
{%- endfor %}
{%- endfor %}
