"""Message classes built at first use, for the `_pb2` modules.

A `_pb2` module registers its file's descriptor at import and hands lookups of its message names to
`lazy_messages`: a plugin uses few of the contract's messages, and building every class at import
would cost each start milliseconds. The classes are those protoc's modules build, with the same
names, module and qualified names (nested types included)."""

from collections.abc import Callable
from typing import Any

from google.protobuf import message as _message
from google.protobuf import reflection as _reflection


def _build(descriptor: Any, module: str, prefix: str) -> Any:
    namespace: dict[str, Any] = {
        nested.name: _build(nested, module, f"{prefix}{descriptor.name}.") for nested in descriptor.nested_types
    }
    namespace.update(DESCRIPTOR=descriptor, __module__=module, __qualname__=prefix + descriptor.name)
    # The metaclass hands back the class a descriptor already has, so a race builds one class.
    return _reflection.GeneratedProtocolMessageType(descriptor.name, (_message.Message,), namespace)


def lazy_messages(module: dict[str, Any], file: Any) -> Callable[[str], Any]:
    """The `__getattr__` of the `_pb2` module whose globals are `module`, for `file`'s messages."""
    module_name = module["__name__"]

    def __getattr__(name: str) -> Any:
        descriptor = file.message_types_by_name.get(name)
        if descriptor is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        built = module[name] = _build(descriptor, module_name, "")
        return built

    return __getattr__
