"""Go string enums as `str` enums. Each member is the very string the server uses, so it is
accepted wherever a field or an argument is a plain `str` (`models.Channel(type=ChannelType.OPEN)`),
and a value read back compares equal to its member (`channel.type == ChannelType.OPEN`)."""

from __future__ import annotations

from enum import Enum

__all__ = [
{%- for e in enums %}
    "{{ e.name }}",
{%- endfor %}
]
{% for e in enums %}

class {{ e.name }}(str, Enum):
    """Go: `{{ e.package }}.{{ e.name }}`."""
{% for m in e.members %}
    {{ m.name }} = {{ m.literal }}  # {{ m.go }}
{%- endfor %}

    def __str__(self) -> str:
        return str(self.value)
{% endfor %}
