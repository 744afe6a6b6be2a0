"""Chat models for the two bots: one backed by OpenAI (or any OpenAI-compatible server), one by
Anthropic's Claude.

The models are built with their SDKs' own retries turned off, since `mm_agent.retry` retries each
model call as a whole and tells the thread while it waits; and with timeouts, so a stalled
connection surfaces as a retryable error instead of a reply that never finishes.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

import openai
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from .settings import AgentSettings

# Seconds to wait for a connection, and for each read of a response (a streamed one included).
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 120.0
# Output tokens left for the answer itself on top of an extended-thinking budget.
ANSWER_HEADROOM_TOKENS = 1024
# Sent when an OpenAI-compatible server at OpenAIBaseURL needs no key: the client library insists on
# one, and local servers ignore it.
PLACEHOLDER_API_KEY = "unused"

# Where admins find the settings; keep the last part equal to the plugin's name in plugin.json.
SETTINGS_LOCATION = "System Console > Plugins > AI Agent"


class Provider(str, enum.Enum):
    """A model provider; each has its own bot."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class BotIdentity(NamedTuple):
    """How a provider's bot appears in Mattermost; unpacks as (username, display_name)."""

    username: str
    display_name: str

    @property
    def description(self) -> str:
        """The bot's profile description."""
        return f"{self.display_name}: an AI assistant. Mention it in a channel or send it a direct message."


PROVIDER_NAMES: Mapping[Provider, BotIdentity] = MappingProxyType(
    {
        Provider.OPENAI: BotIdentity(username="openai-agent", display_name="OpenAI agent"),
        Provider.ANTHROPIC: BotIdentity(username="claude-agent", display_name="Claude agent"),
    }
)


def bot_identity(provider: Provider) -> BotIdentity:
    """The username and display name (and `.description`) of `provider`'s bot."""
    return PROVIDER_NAMES[provider]


def provider_for_username(username: str) -> Provider | None:
    """The provider whose bot has `username` (without "@", any case), or None."""
    wanted = username.lstrip("@").lower()
    for provider, identity in PROVIDER_NAMES.items():
        if identity.username == wanted:
            return provider
    return None


class NotConfigured(Exception):
    """A provider cannot be used until an admin fills in a setting. `str(error)` is a message meant
    for the thread: it names the setting and where to find it, and never includes a secret."""


def make_chat_model(provider: Provider, settings: AgentSettings, *, max_tokens: int = 4096) -> BaseChatModel:
    """A streaming chat model for `provider`, configured from `settings`.

    `max_tokens` bounds the answer; with Anthropic's extended thinking on, the thinking budget is
    added on top (the provider counts thinking against the same limit). Raises `NotConfigured`
    when a required setting is missing or malformed. Makes no network request.
    """
    if provider is Provider.OPENAI:
        return _openai(settings, max_tokens)
    if provider is Provider.ANTHROPIC:
        return _anthropic(settings, max_tokens)
    raise ValueError(f"unknown provider {provider!r}")


def _openai(settings: AgentSettings, max_tokens: int) -> BaseChatModel:
    name = PROVIDER_NAMES[Provider.OPENAI].display_name
    base_url = settings.openai_base_url.strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        raise NotConfigured(
            f"The {name} can't reach its model: **OpenAI Base URL** (`OpenAIBaseURL`) must start with "
            f"http:// or https://. An admin can fix it in {SETTINGS_LOCATION}."
        )
    api_key = settings.openai_api_key.strip()
    if not api_key:
        if not base_url:
            raise NotConfigured(
                f"The {name} isn't set up yet: an admin needs to fill in **OpenAI API Key** "
                f"(`OpenAIAPIKey`) in {SETTINGS_LOCATION}."
            )
        api_key = PLACEHOLDER_API_KEY
    model = settings.openai_model.strip() or _default(AgentSettings, "openai_model")
    return ChatOpenAI(
        model=model,
        api_key=SecretStr(api_key),
        base_url=base_url or None,
        streaming=True,
        max_retries=0,
        timeout=openai.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT),
        max_completion_tokens=max_tokens,  # the field's alias, which type checkers see
    )


def _anthropic(settings: AgentSettings, max_tokens: int) -> BaseChatModel:
    name = PROVIDER_NAMES[Provider.ANTHROPIC].display_name
    api_key = settings.anthropic_api_key.strip()
    if not api_key:
        raise NotConfigured(
            f"The {name} isn't set up yet: an admin needs to fill in **Anthropic API Key** "
            f"(`AnthropicAPIKey`) in {SETTINGS_LOCATION}."
        )
    model = settings.anthropic_model.strip() or _default(AgentSettings, "anthropic_model")
    budget = settings.thinking_tokens()
    if budget > 0:
        # With thinking on, the provider requires max_tokens above the budget (thinking counts
        # against it) and accepts no temperature other than the default, so none is set.
        return ChatAnthropic(
            # Fields are passed by their aliases (model_name, max_tokens_to_sample, stop), the
            # names type checkers see.
            model_name=model,
            api_key=SecretStr(api_key),
            max_tokens_to_sample=budget + max(max_tokens, ANSWER_HEADROOM_TOKENS),
            thinking={"type": "enabled", "budget_tokens": budget},
            stop=None,
            streaming=True,
            max_retries=0,
            timeout=REQUEST_TIMEOUT,
        )
    return ChatAnthropic(
        model_name=model,
        api_key=SecretStr(api_key),
        max_tokens_to_sample=max_tokens,
        stop=None,
        streaming=True,
        max_retries=0,
        timeout=REQUEST_TIMEOUT,
    )


def _default(cls: type[AgentSettings], field: str) -> str:
    value = next(f.default for f in dataclasses.fields(cls) if f.name == field)
    assert isinstance(value, str)
    return value
