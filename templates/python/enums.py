"""Go string enums as `str` enums: Go string types with their constants (`ChannelType`), and the
untyped constants that list the values of a plain `string` field (`PostType` for `Post.type`).
Each member is the very string the server uses, so it is accepted wherever a field or an argument
is a plain `str` (`models.Channel(type=ChannelType.OPEN)`, `models.Post(type=PostType.ME)`), and a
value read back compares equal to its member (`channel.type == ChannelType.OPEN`). The sets are
open: the server may send values no member names."""

from __future__ import annotations

from enum import Enum

__all__ = [
{%- for e in enums %}
    "{{ e.name }}",
{%- endfor %}
]
{% for e in enums %}

class {{ e.name }}(str, Enum):
    """Go: {{ e.origin }}."""
{% for m in e.members %}
    {{ m.name }} = {{ m.literal }}  # {{ m.go }}
{%- endfor %}

    def __str__(self) -> str:
        return str(self.value)
{% endfor %}
