"""make_chat_model: model types and parameters, the thinking constraints, NotConfigured messages.
The models are only constructed; nothing is sent."""

from __future__ import annotations

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from mm_agent.providers import (
    PROVIDER_NAMES,
    NotConfigured,
    Provider,
    bot_identity,
    make_chat_model,
    provider_for_username,
)
from mm_agent.settings import AgentSettings

OPENAI_KEY = "sk-test-openai-0123456789"
ANTHROPIC_KEY = "sk-ant-test-0123456789"


def test_openai_model_parameters() -> None:
    model = make_chat_model(Provider.OPENAI, AgentSettings(openai_api_key=OPENAI_KEY, openai_model="gpt-test"))
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-test"
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == OPENAI_KEY  # type: ignore[union-attr]
    assert model.openai_api_base is None
    assert model.streaming is True
    assert model.max_retries == 0
    assert model.max_tokens == 4096
    assert model.request_timeout is not None
    assert OPENAI_KEY not in repr(model)


def test_openai_compatible_server_needs_no_key() -> None:
    settings = AgentSettings(openai_base_url=" http://127.0.0.1:11434/v1 ", openai_model="llama3")
    model = make_chat_model(Provider.OPENAI, settings, max_tokens=512)
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:11434/v1"
    assert model.model_name == "llama3"
    assert model.max_tokens == 512


def test_blank_model_name_falls_back_to_the_default() -> None:
    model = make_chat_model(Provider.OPENAI, AgentSettings(openai_api_key=OPENAI_KEY, openai_model=" "))
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"


def test_anthropic_with_thinking_raises_max_tokens_and_sets_no_temperature() -> None:
    settings = AgentSettings(anthropic_api_key=ANTHROPIC_KEY, anthropic_model="claude-test", thinking_budget="3000")
    model = make_chat_model(Provider.ANTHROPIC, settings, max_tokens=2048)
    assert isinstance(model, ChatAnthropic)
    assert model.model == "claude-test"
    assert model.anthropic_api_key.get_secret_value() == ANTHROPIC_KEY
    assert model.thinking == {"type": "enabled", "budget_tokens": 3000}
    assert model.max_tokens is not None and model.max_tokens > 3000
    assert model.max_tokens == 3000 + 2048  # the whole answer allowance on top of the budget
    assert model.temperature in (None, 1)
    assert model.streaming is True
    assert model.max_retries == 0
    assert model.default_request_timeout is not None
    assert ANTHROPIC_KEY not in repr(model)


def test_anthropic_small_max_tokens_still_leaves_room_for_an_answer() -> None:
    settings = AgentSettings(anthropic_api_key=ANTHROPIC_KEY, thinking_budget=1024)
    model = make_chat_model(Provider.ANTHROPIC, settings, max_tokens=10)
    assert isinstance(model, ChatAnthropic)
    assert model.max_tokens is not None and model.max_tokens >= 1024 + 1024


def test_anthropic_without_thinking() -> None:
    settings = AgentSettings(anthropic_api_key=ANTHROPIC_KEY, thinking_budget="0")
    model = make_chat_model(Provider.ANTHROPIC, settings)
    assert isinstance(model, ChatAnthropic)
    assert model.thinking is None
    assert model.max_tokens == 4096
    assert model.model == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    ("provider", "settings", "setting"),
    [
        (Provider.OPENAI, AgentSettings(anthropic_api_key=ANTHROPIC_KEY), "OpenAIAPIKey"),
        (Provider.OPENAI, AgentSettings(openai_api_key="  "), "OpenAIAPIKey"),
        (Provider.OPENAI, AgentSettings(openai_api_key=OPENAI_KEY, openai_base_url="localhost:8080"), "OpenAIBaseURL"),
        (Provider.ANTHROPIC, AgentSettings(openai_api_key=OPENAI_KEY), "AnthropicAPIKey"),
    ],
)
def test_not_configured_names_the_setting_and_where_to_set_it(
    provider: Provider, settings: AgentSettings, setting: str
) -> None:
    with pytest.raises(NotConfigured) as caught:
        make_chat_model(provider, settings)
    message = str(caught.value)
    assert f"`{setting}`" in message
    assert "System Console > Plugins > " in message
    assert bot_identity(provider).display_name in message
    assert OPENAI_KEY not in message and ANTHROPIC_KEY not in message


def test_bot_identities() -> None:
    assert tuple(bot_identity(Provider.OPENAI)) == ("openai-agent", "OpenAI agent")
    username, display_name = bot_identity(Provider.ANTHROPIC)
    assert (username, display_name) == ("claude-agent", "Claude agent")
    assert set(PROVIDER_NAMES) == set(Provider)
    assert all(identity.description for identity in PROVIDER_NAMES.values())
    assert provider_for_username("@Claude-Agent") is Provider.ANTHROPIC
    assert provider_for_username("someone") is None
