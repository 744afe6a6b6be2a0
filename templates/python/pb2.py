"""Protobuf messages of mattermost/plugin/v1/{{ stem }}.proto (each class built at first use)."""

from google.protobuf import descriptor_pool as _descriptor_pool
from google.protobuf import timestamp_pb2 as _timestamp_pb2  # noqa: F401  (registers timestamp.proto)

{% for dep in deps -%}
from mattermost_plugin_api._pb import {{ dep }} as _{{ dep }}  # noqa: F401  (imported by this file)
{% endfor -%}
from mattermost_plugin_api._pb._messages import lazy_messages as _lazy_messages

DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(
{%- for line in descriptor %}
        b"{{ line }}"
{%- endfor %}
)
__getattr__ = _lazy_messages(globals(), DESCRIPTOR)
