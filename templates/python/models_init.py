"""Frozen dataclasses for every model message, with lossless proto conversion.

Timestamps convert to timezone-aware datetimes (microsecond precision). Each class is defined in
its own module, imported the first time it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mattermost_plugin_api.models._convert import (
{%- for conversion in conversions %}
    {{ conversion }},
{%- endfor %}
)

if TYPE_CHECKING:
{%- for model in by_module %}
{%- if model.wrap %}
    from mattermost_plugin_api.models.{{ model.module }} import (
        {{ model.name }} as {{ model.name }},
    )
{%- else %}
    from mattermost_plugin_api.models.{{ model.module }} import {{ model.name }} as {{ model.name }}
{%- endif %}
{%- endfor %}

    MODELS: tuple[type[Any], ...]
    """Every model class, in contract order."""

# Class name -> its module, in contract order.
_MODULES: dict[str, str] = {
{%- for model in classes %}
    "{{ model.name }}": "{{ model.module }}",
{%- endfor %}
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "MODELS":
            value = tuple(__getattr__(n) for n in _MODULES)
        elif name in _MODULES:
            value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES, "MODELS"})


__all__ = [
{%- for name in all %}
    "{{ name }}",
{%- endfor %}
]
