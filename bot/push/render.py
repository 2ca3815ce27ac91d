"""Pushed messages as Telegram HTML: one headline, or a digest split at Telegram's limit."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import Lang

MESSAGE_LIMIT = 4096
ONE_LINE = 90
TITLE_LIMIT = 300
URL_LIMIT = 1000
MAX_HASHTAGS = 5
_SENTENCE_END = "。！？!?；;\n"


@dataclass(frozen=True, slots=True)
class PushItem:
    article_id: int
    title: str
    summary: str
    share_url: str | None
    category: str | None
    tags: tuple[str, ...] = ()


def one_line(summary: str, limit: int = ONE_LINE) -> str:
    """The summary's first sentence, cut with an ellipsis when it is still too long."""
    text = " ".join(summary.split())
    for index, char in enumerate(text):
        if char in _SENTENCE_END:
            text = text[: index + 1]
            break
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _link(item: PushItem, lang: Lang) -> str:
    if not item.share_url or len(item.share_url) > URL_LIMIT:
        return ""
    label = "原文" if lang == "zh" else "Read"
    return f' <a href="{html.escape(item.share_url, quote=True)}">{label}</a>'


def _hashtags(item: PushItem) -> str:
    names = ([item.category] if item.category else []) + list(item.tags)
    words = [word for word in ("".join(name.split())[:40] for name in names) if word]
    return " ".join("#" + html.escape(word) for word in words[:MAX_HASHTAGS])


def _title(item: PushItem) -> str:
    return html.escape(
        one_line(item.title, TITLE_LIMIT) if len(item.title) > TITLE_LIMIT else item.title
    )


def render_headline(item: PushItem, lang: Lang) -> str:
    """Bold title, the one-line summary, the hashtags and the link; always under the limit."""
    lines = [f"<b>{_title(item)}</b>"]
    summary = one_line(item.summary)
    if summary:
        lines.append(html.escape(summary))
    tail = (_hashtags(item) + _link(item, lang)).strip()
    if tail:
        lines.append(tail)
    return "\n".join(lines)


def _digest_entry(number: int, item: PushItem, lang: Lang) -> str:
    entry = f"{number}. <b>{_title(item)}</b>{_link(item, lang)}"
    summary = one_line(item.summary)
    return entry + (f"\n{html.escape(summary)}" if summary else "")


def render_digest(
    items: Sequence[PushItem], lang: Lang, heading: str, limit: int = MESSAGE_LIMIT
) -> list[tuple[str, list[int]]]:
    """Messages of whole entries, each at most `limit` long, with the articles each carries."""
    head = f"<b>{html.escape(heading)}</b>"
    messages: list[tuple[str, list[int]]] = []
    text = head
    carried: list[int] = []
    for number, item in enumerate(items, start=1):
        entry = _digest_entry(number, item, lang)
        if carried and len(text) + 2 + len(entry) > limit:
            messages.append((text, carried))
            text, carried = head, []
        text += "\n\n" + entry
        carried.append(item.article_id)
    if carried:
        messages.append((text, carried))
    return messages
