"""The plugin's settings, as the System Console stores them.

`AgentSettings` is the plugin's `settings_class`: the SDK matches each plugin.json setting key to a
field by comparing names without underscores and case (`OpenAIAPIKey` ↔ `openai_api_key`). The
number settings may arrive as JSON numbers or as text typed into the System Console, so their
fields accept both and the accessor methods below do the parsing, never raising: a bad value falls
back to the default rather than breaking every reply.
"""

from __future__ import annotations

import dataclasses

DEFAULT_SYSTEM_PROMPT = (
    "You are an AI assistant taking part in a Mattermost conversation. Each user message starts "
    "with the author's @username; several people, and sometimes another AI agent, may talk in the "
    "same thread. Answer the most recent message, using the rest of the thread as context. Be "
    "concise and direct, and format replies with Markdown that reads well in a chat. When a tool "
    "can give you facts you lack or carry out what was asked, call it instead of guessing, and say "
    "briefly what you found. If you are unsure or a tool fails, say so plainly."
)

DEFAULT_ITERATIONS = 10
MAX_ITERATIONS = 50
DEFAULT_THINKING_TOKENS = 2000
# Anthropic rejects thinking budgets under 1024 tokens.
MIN_THINKING_TOKENS = 1024
# A budget well past this would no longer fit in the output limit of the current models once the
# answer's own tokens are added (see providers.make_chat_model), so larger values are capped.
MAX_THINKING_TOKENS = 32000


@dataclasses.dataclass
class AgentSettings:
    """Plugin settings; the plugin.json key of each field is in its comment."""

    openai_api_key: str = ""  # OpenAIAPIKey
    openai_model: str = "gpt-4o-mini"  # OpenAIModel
    openai_base_url: str = ""  # OpenAIBaseURL: any OpenAI-compatible server, a local one included
    anthropic_api_key: str = ""  # AnthropicAPIKey
    anthropic_model: str = "claude-sonnet-4-5"  # AnthropicModel
    thinking_budget: int | str = DEFAULT_THINKING_TOKENS  # ThinkingBudget: tokens; 0 turns thinking off
    max_iterations: int | str = DEFAULT_ITERATIONS  # MaxIterations: model calls per reply
    mcp_servers: str = ""  # MCPServers: JSON text, parsed by mm_agent.tools
    system_prompt: str = ""  # SystemPrompt: "" means DEFAULT_SYSTEM_PROMPT

    def iterations(self) -> int:
        """The most model calls one reply may make: 1 to 50, 10 when the setting is not a number."""
        value = _parse_int(self.max_iterations)
        if value is None:
            return DEFAULT_ITERATIONS
        return max(1, min(MAX_ITERATIONS, value))

    def thinking_tokens(self) -> int:
        """The extended-thinking budget: 0 (off) or 1024 to 32000 tokens; 2000 when the setting
        is not a number or is negative."""
        value = _parse_int(self.thinking_budget)
        if value is None or value < 0:
            return DEFAULT_THINKING_TOKENS
        if value == 0:
            return 0
        return max(MIN_THINKING_TOKENS, min(MAX_THINKING_TOKENS, value))

    def prompt(self) -> str:
        """The system prompt: the configured one, or the default when it is blank."""
        return self.system_prompt.strip() or DEFAULT_SYSTEM_PROMPT


def _parse_int(value: object) -> int | None:
    """An integer from a JSON number or from text ("12", " 12 ", "12.0"); None when it is not one."""
    if isinstance(value, bool):  # JSON true/false is not a count
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None
