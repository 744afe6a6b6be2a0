"""The provider-agnostic core of the AI agent example: settings, chat models, thread history,
retries and the agentic loop. Nothing here talks to Mattermost; the plugin wires it in."""

from .history import ThreadPost, estimate_tokens, thread_to_messages
from .loop import AgentEvents, AgentResult, run_agent
from .providers import PROVIDER_NAMES, BotIdentity, NotConfigured, Provider, bot_identity, make_chat_model
from .retry import GaveUp, RetryPolicy, is_transient, with_retries
from .settings import DEFAULT_SYSTEM_PROMPT, AgentSettings

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "PROVIDER_NAMES",
    "AgentEvents",
    "AgentResult",
    "AgentSettings",
    "BotIdentity",
    "GaveUp",
    "NotConfigured",
    "Provider",
    "RetryPolicy",
    "ThreadPost",
    "bot_identity",
    "estimate_tokens",
    "is_transient",
    "make_chat_model",
    "run_agent",
    "thread_to_messages",
    "with_retries",
]
