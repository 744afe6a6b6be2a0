"""AgentSettings: defaults, number settings given as numbers or text, bad values, the prompt."""

from __future__ import annotations

import dataclasses

import pytest

from mattermost_plugin.plugin import settings_from
from mm_agent.settings import DEFAULT_SYSTEM_PROMPT, AgentSettings


def test_defaults() -> None:
    s = AgentSettings()
    assert (s.openai_model, s.anthropic_model) == ("gpt-4o-mini", "claude-sonnet-4-5")
    assert s.iterations() == 10
    assert s.thinking_tokens() == 2000
    assert s.prompt() == DEFAULT_SYSTEM_PROMPT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ("5", 5),
        (" 7 ", 7),
        ("12.0", 12),
        (1, 1),
        (50, 50),
        (0, 1),
        (-3, 1),
        ("999", 50),
        ("", 10),
        ("ten", 10),
        ("2.5", 10),
        (True, 10),
        (None, 10),
    ],
)
def test_iterations_parse_and_clamp(value: object, expected: int) -> None:
    assert AgentSettings(max_iterations=value).iterations() == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        ("0", 0),
        (4000, 4000),
        ("4000", 4000),
        ("1,500", 1500),
        (1024, 1024),
        (500, 1024),
        ("1", 1024),
        (10**9, 32000),
        (-1, 2000),
        ("lots", 2000),
        ("", 2000),
        (False, 2000),
    ],
)
def test_thinking_tokens_are_off_or_at_least_the_minimum(value: object, expected: int) -> None:
    assert AgentSettings(thinking_budget=value).thinking_tokens() == expected  # type: ignore[arg-type]


def test_prompt_falls_back_to_the_default_when_blank() -> None:
    assert AgentSettings(system_prompt="  \n ").prompt() == DEFAULT_SYSTEM_PROMPT
    assert AgentSettings(system_prompt="  Be terse.  ").prompt() == "Be terse."


def test_plugin_json_keys_map_to_fields_through_the_sdk() -> None:
    configuration = {
        "OpenAIAPIKey": "k1",
        "OpenAIModel": "gpt-test",
        "OpenAIBaseURL": "http://127.0.0.1:9/v1",
        "AnthropicAPIKey": "k2",
        "AnthropicModel": "claude-test",
        "ThinkingBudget": "3000",  # text from the System Console
        "MaxIterations": 4,  # a JSON number
        "MCPServers": "{}",
        "SystemPrompt": "Hi",
    }
    s = settings_from(AgentSettings, configuration)
    assert dataclasses.asdict(s) == {
        "openai_api_key": "k1",
        "openai_model": "gpt-test",
        "openai_base_url": "http://127.0.0.1:9/v1",
        "anthropic_api_key": "k2",
        "anthropic_model": "claude-test",
        "thinking_budget": "3000",
        "max_iterations": 4,
        "mcp_servers": "{}",
        "system_prompt": "Hi",
    }
    assert (s.thinking_tokens(), s.iterations()) == (3000, 4)
