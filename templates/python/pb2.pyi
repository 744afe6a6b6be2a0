{%- if !abc.is_empty() -%}
from collections.abc import {{ abc|join(", ") }}

{% endif -%}
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
{%- if uses_timestamp %}
from google.protobuf import timestamp_pb2 as _timestamp_pb2
{%- endif %}
{%- if uses_containers %}
from google.protobuf.internal import containers as _containers
{%- endif %}
{% if !deps.is_empty() %}
{%- for dep in deps %}
from mattermost_plugin_api._pb import {{ dep }} as _{{ dep }}
{%- endfor %}
{% endif %}
DESCRIPTOR: _descriptor.FileDescriptor
{%- for message in messages %}


class {{ message.name }}(_message.Message):
{%- for field in message.fields %}
    {{ field.name }}: {{ field.attr }}
{%- endfor %}
{%- if message.fields.is_empty() %}
    def __init__(self) -> None: ...
{%- else %}
    def __init__(
        self,
        *,
{%- for field in message.fields %}
        {{ field.name }}: {{ field.param }} = ...,
{%- endfor %}
    ) -> None: ...
{%- endif %}
{%- endfor %}
