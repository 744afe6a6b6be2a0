"""Protobuf messages of mattermost/plugin/v1/{{ stem }}.proto."""

from google.protobuf import descriptor_pool as _descriptor_pool
from google.protobuf import timestamp_pb2 as _timestamp_pb2  # noqa: F401  (registers timestamp.proto)
from google.protobuf.internal import builder as _builder
{% if !deps.is_empty() %}
{% for dep in deps -%}
from mattermost_plugin_api._pb import {{ dep }} as _{{ dep }}  # noqa: F401  (imported by this file)
{% endfor -%}
{% endif %}
DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(
{%- for line in descriptor %}
        b"{{ line }}"
{%- endfor %}
)
_globals = globals()
_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, _globals)
_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, "mattermost_plugin_api._pb.{{ stem }}_pb2", _globals)
