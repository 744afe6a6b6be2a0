from __future__ import annotations

import dataclasses
{%- if uses_datetime %}
import datetime
{%- endif %}
{%- if uses_any %}
from typing import Any
{%- endif %}
{% if uses_models %}
from mattermost_plugin_api import models
{%- endif %}
from mattermost_plugin_api._pb import {{ pb_module }}
{%- if !conversions.is_empty() %}
from mattermost_plugin_api.models._convert import {{ conversions|join(", ") }}
{%- endif %}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class {{ name }}:
    """{{ doc }}"""
{% for field in fields %}
    {{ field.name }}: {{ field.annotation }} = {{ field.default }}
{%- endfor %}

    @classmethod
    def from_proto(cls, m: {{ pb_module }}.{{ name }}) -> {{ name }}:
{%- if fields.is_empty() %}
        return cls()
{%- else %}
{#- Every field is set straight through its slot: a frozen dataclass's __init__ goes through
    object.__setattr__ by name, which costs about three times as much per conversion. #}
        o = object.__new__(cls)
{%- for field in fields %}
        _set_{{ field.name }}(o, {{ field.from_proto }})
{%- endfor %}
        return o
{%- endif %}

    def to_proto(self) -> {{ pb_module }}.{{ name }}:
{%- if fields.is_empty() %}
        return {{ pb_module }}.{{ name }}()
{%- else %}
        return {{ pb_module }}.{{ name }}(
{%- for field in fields %}
            {{ field.name }}={{ field.to_proto }},
{%- endfor %}
        )


{% for field in fields -%}
_set_{{ field.name }} = {{ name }}.__dict__["{{ field.name }}"].__set__
{% endfor %}
{%- endif %}
