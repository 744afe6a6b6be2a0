"""A Mattermost thread as chat-model messages: the thread is the agent's memory.

The bot's own posts become assistant turns; everyone else's (people and the other AI agent) become
user turns that start with the author's @username, so the model can tell the participants apart.
The oldest posts give way first when the thread outgrows the token budget.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

# Rough per-message cost of the role and framing around each message's text.
MESSAGE_OVERHEAD_TOKENS = 4
# What the newest user message keeps at least, even when the system prompt alone fills the budget.
MIN_NEWEST_TOKENS = 64
TRUNCATION_MARK = " …[message truncated]"
OMITTED_NOTE = "[Earlier messages in this thread were left out to fit the context.]"
# Some providers want the conversation to open with a user turn; this one stands in when the
# first kept post is the bot's own.
OPENING_NOTE = "[The thread continues from your post below.]"


@dataclasses.dataclass(frozen=True)
class ThreadPost:
    """One post of a thread, reduced to what the agent needs."""

    id: str
    user_id: str
    username: str
    message: str
    create_at: int  # milliseconds since the epoch, as Mattermost stores it


def estimate_tokens(text: str) -> int:
    """A cheap, provider-independent token estimate: about four ASCII characters per token, and a
    token for every other character (CJK text, emoji), which errs on the generous side."""
    ascii_chars = sum(1 for c in text if c < "\x80")
    return (ascii_chars + 3) // 4 + (len(text) - ascii_chars)


def thread_to_messages(
    posts: Sequence[ThreadPost],
    *,
    bot_user_id: str,
    system_prompt: str,
    budget_tokens: int = 8000,
    other_bot_ids: Collection[str] = (),
    bot_username: str = "",
) -> list[BaseMessage]:
    """Chat messages for the model from a thread's posts.

    The system prompt comes first; the posts follow in `create_at` order. Posts by `bot_user_id`
    become `AIMessage`s; all others become `HumanMessage`s headed "@username: ", and posts by
    `other_bot_ids` are marked as another AI agent's. Mentions of this bot are removed from the
    text (its username is `bot_username`, or else taken from its own posts); posts left empty are
    skipped. When the estimate exceeds `budget_tokens`, the oldest posts are dropped first; the
    system prompt and the newest user message always stay, the latter cut short if it alone does
    not fit.
    """
    ordered = sorted(posts, key=lambda p: p.create_at)  # stable: equal times keep the given order
    name = bot_username.lstrip("@") or next(
        (p.username for p in ordered if p.user_id == bot_user_id and p.username), ""
    )
    others = set(other_bot_ids)

    turns: list[BaseMessage] = []
    for post in ordered:
        if post.user_id == bot_user_id:
            text = post.message.strip()
            if text:
                turns.append(AIMessage(content=text))
            continue
        text = strip_mention(post.message, name).strip() if name else post.message.strip()
        if not text:
            continue
        author = f"@{post.username or post.user_id}"
        if post.user_id in others:
            author += " (another AI agent)"
        turns.append(HumanMessage(content=f"{author}: {text}"))

    system = SystemMessage(content=system_prompt)
    return [system, *_fit(turns, budget_tokens - _cost(system))]


def strip_mention(text: str, username: str) -> str:
    """`text` without @-mentions of `username`. A leading mention takes the punctuation after it
    along ("@bot: hi" → "hi"); one inside a sentence leaves the words around it joined by a space."""
    name = re.escape(username.lstrip("@"))
    # A username may contain letters, digits, ".", "-" and "_"; a "." after it ends the sentence.
    mention = rf"@{name}(?![\w-]|\.[\w-])"
    text = re.sub(rf"^\s*{mention}[\s,:;]*", "", text, flags=re.IGNORECASE)
    return re.sub(rf"[ \t]*{mention}", "", text, flags=re.IGNORECASE)


def _cost(message: BaseMessage) -> int:
    return estimate_tokens(message.text) + MESSAGE_OVERHEAD_TOKENS


def _fit(turns: list[BaseMessage], budget: int) -> list[BaseMessage]:
    """The newest turns that fit in `budget`, always including the newest user turn."""
    if not turns:
        return turns
    newest_user = max((i for i, t in enumerate(turns) if isinstance(t, HumanMessage)), default=None)
    if newest_user is None:  # only the bot's own posts: keep the newest that fit
        newest_user = len(turns) - 1
    kept = {newest_user}
    anchor = turns[newest_user]
    room = budget - _cost(anchor)
    if room < 0:
        anchor = _truncated(anchor, max(budget - MESSAGE_OVERHEAD_TOKENS, MIN_NEWEST_TOKENS))
        room = 0
    # Walk back from the newest turn and stop at the first that does not fit, so what is kept is
    # an unbroken stretch of the conversation.
    for i in range(len(turns) - 1, -1, -1):
        if i == newest_user:
            continue
        cost = _cost(turns[i])
        if cost > room:
            break
        kept.add(i)
        room -= cost
    result = [anchor if i == newest_user else turns[i] for i in sorted(kept)]

    dropped = min(kept) > 0
    note = OMITTED_NOTE if dropped else OPENING_NOTE if isinstance(result[0], AIMessage) else None
    if note is not None:
        note_cost = estimate_tokens(note) + MESSAGE_OVERHEAD_TOKENS
        # Make room for the note by letting go of the oldest turns other than the newest user one.
        while note_cost > room and len(result) > 1 and result[0] is not anchor:
            room += _cost(result.pop(0))
        if note_cost <= room or isinstance(result[0], AIMessage):
            result.insert(0, HumanMessage(content=note))
    return result


def _truncated(message: BaseMessage, tokens: int) -> BaseMessage:
    """`message` with its text cut to about `tokens` tokens, the cut marked."""
    text = message.text
    limit = max(tokens - estimate_tokens(TRUNCATION_MARK), 1)
    kept: list[str] = []
    used = 0.0
    for c in text:
        used += 0.25 if c < "\x80" else 1.0
        if used > limit:
            break
        kept.append(c)
    return message.model_copy(update={"content": "".join(kept).rstrip() + TRUNCATION_MARK})
