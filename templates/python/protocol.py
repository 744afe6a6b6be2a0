"""The protocol between a plugin and its host: the go-plugin handshake, the environment a host gives
a plugin process, gRPC metadata keys, service names and sizes. The Rust crate's `protocol` module
carries the same names and values; hosts and SDKs read them from here instead of repeating them."""

from __future__ import annotations

from typing import Final

__all__ = [
{%- for name in names %}
    "{{ name }}",
{%- endfor %}
]
{% for k in constants %}
{{ k.name }}: {{ k.annotation }} = {{ k.literal }}
"""{% for line in k.doc %}{% if !loop.first %}
{% endif %}{{ line }}{% endfor %}"""
{% endfor %}
