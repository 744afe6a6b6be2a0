"""Protobuf messages of mattermost/plugin/v1/{{ stem }}.proto.

The file's descriptor is registered at import; each message class is built the first time it is
used (module `__getattr__`), since a plugin uses few of the contract's messages and building them
all would cost every start milliseconds. The classes are those protoc's modules build, with the
same names, module and qualified names.
"""

from typing import Any

from google.protobuf import descriptor_pool as _descriptor_pool
from google.protobuf import message as _message
from google.protobuf import reflection as _reflection
from google.protobuf import timestamp_pb2 as _timestamp_pb2  # noqa: F401  (registers timestamp.proto)
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


def _build(descriptor: Any, prefix: str) -> Any:
    namespace: dict[str, Any] = {
        nested.name: _build(nested, f"{prefix}{descriptor.name}.") for nested in descriptor.nested_types
    }
    namespace.update(DESCRIPTOR=descriptor, __module__=__name__, __qualname__=prefix + descriptor.name)
    # The metaclass hands back the class a descriptor already has, so a race builds one class.
    return _reflection.GeneratedProtocolMessageType(descriptor.name, (_message.Message,), namespace)


def __getattr__(name: str) -> Any:
    descriptor = DESCRIPTOR.message_types_by_name.get(name)
    if descriptor is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()[name] = _build(descriptor, "")
    return built
