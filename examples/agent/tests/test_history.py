"""thread_to_messages: roles, names, the other bot, ordering, mention stripping, trimming."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from mm_agent.history import (
    MESSAGE_OVERHEAD_TOKENS,
    OMITTED_NOTE,
    OPENING_NOTE,
    TRUNCATION_MARK,
    ThreadPost,
    estimate_tokens,
    strip_mention,
    thread_to_messages,
)

BOT = "bot-id"
OTHER_BOT = "other-bot-id"
PROMPT = "You are a test assistant."


def post(n: int, user_id: str, username: str, message: str) -> ThreadPost:
    return ThreadPost(id=f"p{n}", user_id=user_id, username=username, message=message, create_at=1000 + n)


def shape(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(type(m).__name__, m.text) for m in messages]


def test_roles_names_and_the_other_bot() -> None:
    posts = [
        post(1, "u1", "alice", "@openai-agent what is 2+2?"),
        post(2, BOT, "openai-agent", "4"),
        post(3, OTHER_BOT, "claude-agent", "I agree, 4."),
        post(4, "u2", "bob", "thanks both"),
    ]
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, other_bot_ids=[OTHER_BOT])
    assert shape(messages) == [
        ("SystemMessage", PROMPT),
        ("HumanMessage", "@alice: what is 2+2?"),
        ("AIMessage", "4"),
        ("HumanMessage", "@claude-agent (another AI agent): I agree, 4."),
        ("HumanMessage", "@bob: thanks both"),
    ]


def test_posts_are_ordered_by_creation_and_empty_ones_skipped() -> None:
    posts = [
        post(3, "u1", "alice", "third"),
        post(1, "u1", "alice", "first"),
        post(2, "u2", "bob", "   "),
        post(4, "u2", "bob", "@openai-agent"),  # nothing left once the mention goes
    ]
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, bot_username="openai-agent")
    assert shape(messages)[1:] == [("HumanMessage", "@alice: first"), ("HumanMessage", "@alice: third")]


def test_the_bot_username_is_learned_from_its_own_posts() -> None:
    posts = [post(1, BOT, "openai-agent", "Hi!"), post(2, "u1", "alice", "@openai-agent, again please")]
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT)
    assert messages[-1].text == "@alice: again please"


def test_mention_stripping() -> None:
    assert strip_mention("@bot: do this", "bot") == "do this"
    assert strip_mention("  @Bot hello", "bot") == "hello"
    assert strip_mention("ask @bot about it", "bot") == "ask about it"
    assert strip_mention("thanks @bot.", "bot") == "thanks."
    assert strip_mention("@bot2 and @bot.dev are others", "bot") == "@bot2 and @bot.dev are others"
    assert strip_mention("mail bot@bot.com", "bot") == "mail bot@bot.com"
    assert strip_mention("@claude-agent what do you think?", "openai-agent") == "@claude-agent what do you think?"


def test_everything_fits_in_a_large_budget() -> None:
    posts = [post(i, "u1", "alice", f"message {i}") for i in range(20)]
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, budget_tokens=100_000)
    assert len(messages) == 21
    assert not any(m.text in (OMITTED_NOTE, OPENING_NOTE) for m in messages)


def _total(messages: list[BaseMessage]) -> int:
    return sum(estimate_tokens(m.text) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def test_trimming_drops_the_oldest_and_keeps_the_newest() -> None:
    posts = []
    for i in range(0, 40, 2):
        posts.append(post(i, "u1", "alice", f"question {i} " + "words " * 20))
        posts.append(post(i + 1, BOT, "openai-agent", f"answer {i} " + "words " * 20))
    posts.append(post(100, "u1", "alice", "the newest question"))
    budget = 300
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, budget_tokens=budget)
    assert isinstance(messages[0], SystemMessage) and messages[0].text == PROMPT
    assert messages[1].text == OMITTED_NOTE and isinstance(messages[1], HumanMessage)
    assert messages[-1].text == "@alice: the newest question"
    assert _total(messages) <= budget
    assert len(messages) < len(posts)
    # What is kept is the most recent unbroken stretch of the thread.
    kept = [m.text for m in messages[2:-1]]
    assert kept[-1].startswith("answer 38")
    everything = [m.text for m in thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, budget_tokens=10**6)]
    start = everything.index(kept[0])
    assert everything[start : start + len(kept)] == kept


def test_the_newest_user_message_stays_even_when_the_bot_spoke_after_it() -> None:
    posts = [
        post(1, "u1", "alice", "old " * 400),
        post(2, "u1", "alice", "the question"),
        post(3, BOT, "openai-agent", "a long partial answer " * 100),
    ]
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, budget_tokens=60)
    texts = [m.text for m in messages]
    assert "@alice: the question" in texts
    assert all("old old" not in t for t in texts)


def test_an_oversized_newest_message_is_truncated() -> None:
    posts = [post(1, "u1", "alice", "earlier"), post(2, "u1", "alice", "x" * 10_000)]
    budget = 200
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT, budget_tokens=budget)
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage]
    assert messages[1].text.startswith("@alice: xxx")
    assert messages[1].text.endswith(TRUNCATION_MARK)
    assert _total(messages) <= budget


def test_a_thread_opened_by_the_bot_starts_with_a_user_turn() -> None:
    posts = [post(1, BOT, "openai-agent", "Daily summary: all good."), post(2, "u1", "alice", "@openai-agent why?")]
    messages = thread_to_messages(posts, bot_user_id=BOT, system_prompt=PROMPT)
    assert shape(messages) == [
        ("SystemMessage", PROMPT),
        ("HumanMessage", OPENING_NOTE),
        ("AIMessage", "Daily summary: all good."),
        ("HumanMessage", "@alice: why?"),
    ]


def test_an_empty_thread_gives_the_system_prompt_only() -> None:
    assert shape(thread_to_messages([], bot_user_id=BOT, system_prompt=PROMPT)) == [("SystemMessage", PROMPT)]


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("日本語") == 3  # non-ASCII counts a token per character
    long = "word " * 1000
    assert 1000 <= estimate_tokens(long) <= 1500


def test_usernames_fall_back_to_the_user_id() -> None:
    messages = thread_to_messages([post(1, "u9", "", "hello")], bot_user_id=BOT, system_prompt=PROMPT)
    assert messages[-1] == HumanMessage(content="@u9: hello")
    assert not isinstance(messages[-1], AIMessage)


def test_the_newest_message_keeps_a_readable_start_even_with_no_budget_left() -> None:
    long_prompt = "rule " * 500
    messages = thread_to_messages(
        [post(1, "u1", "alice", "please summarise " + "y" * 5000)],
        bot_user_id=BOT,
        system_prompt=long_prompt,
        budget_tokens=100,
    )
    assert messages[0].text == long_prompt  # the system prompt is never cut
    assert messages[1].text.startswith("@alice: please summarise yyy")
    assert messages[1].text.endswith(TRUNCATION_MARK)
