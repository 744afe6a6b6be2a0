"""Every client method documents the whole Go signature, its minimum server version and what it
raises (docstrings were once cut at the first `[`, mid-signature, for every `[]T` parameter)."""

from __future__ import annotations

import inspect

from mattermost_plugin_api import AsyncPluginAPI, PluginAPI


def _methods(cls: type) -> list[tuple[str, str]]:
    return [
        (name, inspect.getdoc(fn) or "")
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in {"close"}
    ]


def test_docstrings_carry_the_whole_go_signature() -> None:
    for cls in (PluginAPI, AsyncPluginAPI):
        methods = _methods(cls)
        assert len(methods) > 250
        for name, doc in methods:
            first = doc.splitlines()[0] if doc else ""
            assert first.startswith("Go: "), (cls.__name__, name, doc)
            signature = first.removeprefix("Go: ")
            assert signature.count("(") == signature.count(")"), (name, signature)
            assert signature.count("[") == signature.count("]"), (name, signature)
            assert "Raises:" in doc and "TransportError" in doc, (name, doc)


def test_initialisms_stay_whole_in_names() -> None:
    names = {name for name, _ in _methods(PluginAPI)}
    assert {"create_oauth_app", "get_users_by_ids", "kv_set_with_options"} <= names
    assert not [n for n in names if "_o_auth" in n or "_i_ds" in n]
    parameters = inspect.signature(PluginAPI.get_users_by_ids).parameters
    assert "user_ids" in parameters
