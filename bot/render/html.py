"""Reply models → Telegram HTML messages, with every piece of text escaped.

A message holds at most 4,096 characters (counted in UTF-16 code units over the HTML
itself, which is never shorter than the text Telegram counts); longer answers are split
between items, never inside one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from bot.i18n import Lang, text
from bot.push.commands import SCHEDULE_BUTTONS
from bot.push.schedule import Schedule
from bot.push.transport import CHANNEL, FORBIDDEN_PREFIX
from bot.render import keyboards as kb
from bot.render.keyboards import Button, CallbackStore, Keyboard
from bot.services.replies import (
    ArticleDetail,
    ArticleItem,
    ArticleList,
    CountList,
    Help,
    IngestSummary,
    InlineResult,
    Notice,
    PageQuery,
    PushItem,
    Reply,
    SourceHealth,
    SourceList,
    SourcePreview,
    Stats,
    Subscribed,
    SubscribeMenu,
    SubscriptionItem,
    SubscriptionList,
    Trending,
    Welcome,
)
from storage.records import Failure

MAX_MESSAGE = 4096
TITLE_CHARS = 300
LIST_TEXT_CHARS = 160
GROUP_TEXT_CHARS = 80
DETAIL_TEXT_CHARS = 1500
COUNT_BUTTONS = 20
FAILURES_SHOWN = 10
TAGS_SHOWN = 12
SOURCES_SHOWN = 10
SHOW_LINKABLE = re.compile(r"[A-Za-z0-9_]{1,58}")
PUSH_LINE = 90
PUSH_URL_CHARS = 1000
PUSH_HASHTAGS = 5
HASHTAG_CHARS = 40
MENU_CATEGORIES = 8
_SENTENCE_END = "。！？!?；;\n"


@dataclass(frozen=True, slots=True)
class Message:
    html: str
    keyboard: Keyboard | None = None


@dataclass(frozen=True, slots=True)
class InlineArticle:
    id: str
    title: str
    description: str
    html: str
    url: str | None


@dataclass(frozen=True, slots=True)
class RenderContext:
    lang: Lang
    tz: tzinfo
    callbacks: CallbackStore
    in_group: bool = False


def telegram_length(html: str) -> int:
    return len(html.encode("utf-16-le")) // 2


def t(ctx: RenderContext, key: str, /, **values: object) -> str:
    """A catalog message, escaped for HTML (text, never an attribute: quotes stay)."""
    return escape(text(ctx.lang, key, **values), quote=False)


def clip(value: str, limit: int) -> str:
    """Plain text cut to `limit` characters; for HTML use `clip_html`."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


_HTML_TOKEN = re.compile(r"<[^<>]*>|&#?\w+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")


def _tag_step(token: str, stack: list[str]) -> None:
    """Follow one tag token on the stack of open tags."""
    name = _TAG_NAME.match(token)
    if name is None:
        return
    if token.startswith("</"):
        if stack and stack[-1] == name.group(1).lower():
            stack.pop()
    elif not token.endswith("/>"):
        stack.append(name.group(1).lower())


def _closing(stack: Sequence[str]) -> str:
    return "".join(f"</{name}>" for name in reversed(stack))


def clip_html(markup: str, limit: int) -> str:
    """`markup` cut to at most `limit` UTF-16 units (Telegram's count) with "…": never inside
    a tag or an entity, and every tag still open is closed."""
    if telegram_length(markup) <= limit:
        return markup
    out: list[str] = []
    stack: list[str] = []
    used = 0
    budget = limit - 1  # the ellipsis
    for match in _HTML_TOKEN.finditer(markup):
        token = match.group(0)
        after = list(stack)
        if token.startswith("<") and len(token) > 1:
            _tag_step(token, after)
        size = telegram_length(token)
        if used + size + telegram_length(_closing(after)) > budget:
            if after == stack and not token.startswith(("&", "<")):
                room = budget - used - telegram_length(_closing(stack))
                part = token.encode("utf-16-le")[: max(0, room) * 2].decode("utf-16-le", "ignore")
                out.append(part.rstrip())
            break
        out.append(token)
        used += size
        stack = after
    return "".join(out) + "…" + _closing(stack)


def balanced(markup: str) -> bool:
    """Whether every tag opened in `markup` is closed in it."""
    stack: list[str] = []
    for match in _HTML_TOKEN.finditer(markup):
        token = match.group(0)
        if token.startswith("<") and len(token) > 1:
            if token.startswith("</") and (not stack or _TAG_NAME.match(token) is None):
                return False
            _tag_step(token, stack)
    return not stack


def split_block(block: str, limit: int = MAX_MESSAGE) -> list[str]:
    """An oversized block as pieces that each fit: at line ends when every line's markup is
    whole (lists, sources), else the block clipped with `clip_html`."""
    lines = block.split("\n")
    if len(lines) < 2 or not all(balanced(line) for line in lines):
        return [clip_html(block, limit)]
    pieces: list[str] = []
    current = ""
    for line in lines:
        if telegram_length(line) > limit:
            line = clip_html(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if current and telegram_length(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def marked(value: str, spans: Sequence[tuple[int, int]], limit: int) -> str:
    """`value` cut to `limit` characters, escaped, with the spans in bold."""
    clipped = clip(value, limit)
    visible = len(clipped) if clipped == value else len(clipped) - 1
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(end, visible)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out: list[str] = []
    cursor = 0
    for start, end in merged:
        out.append(escape(clipped[cursor:start]))
        out.append(f"<b>{escape(clipped[start:end])}</b>")
        cursor = end
    out.append(escape(clipped[cursor:]))
    return "".join(out)


def _sources_shown(sources: Sequence[str]) -> str:
    shown = "、".join(clip(source, 40) for source in sources[:SOURCES_SHOWN])
    return shown + ("、…" if len(sources) > SOURCES_SHOWN else "")


def hashtag(name: str) -> str:
    return "#" + "_".join(name.split())


def show_command(key: str) -> str:
    """`/show_KEY`, one tap in Telegram, when the key can be part of a command name."""
    return f"/show_{key}" if SHOW_LINKABLE.fullmatch(key) else f"/show {key}"


def link(url: str, label: str) -> str:
    return f'<a href="{escape(url, quote=True)}">{label}</a>'


def item_meta(item: ArticleItem, ctx: RenderContext) -> str:
    when = item.published_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
    names = ([item.category] if item.category else []) + [
        tag for tag in item.tags if tag != item.category
    ][:TAGS_SHOWN]
    flash = [t(ctx, "flash")] if item.flash else []
    return " ".join([*flash, escape(when), *(escape(hashtag(name)) for name in names)])


def render_item(item: ArticleItem, ctx: RenderContext, *, number: int | None = None) -> str:
    limit = GROUP_TEXT_CHARS if ctx.in_group else LIST_TEXT_CHARS
    title = escape(clip(item.title, TITLE_CHARS))
    lines = [f"<b>{number}. {title}</b>" if number is not None else f"<b>{title}</b>"]
    if item.text:
        lines.append(marked(item.text, item.highlights, limit))
    lines.append(item_meta(item, ctx))
    tail = []
    if item.share_url:
        tail.append(link(item.share_url, t(ctx, "read_more")))
    if not ctx.in_group:
        tail.append(t(ctx, "show_hint", command=show_command(item.key)))
    if item.other_sources:
        tail.append(t(ctx, "also_in", sources=_sources_shown(item.other_sources)))
    if tail:
        lines.append(" · ".join(tail))
    return "\n".join(lines)


def pack(header: str, blocks: Sequence[str], keyboard: Keyboard | None = None) -> list[Message]:
    """Join blocks into as few messages as fit, splitting only between blocks."""
    messages: list[str] = []
    current = header
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if telegram_length(candidate) <= MAX_MESSAGE:
            current = candidate
            continue
        if current:
            messages.append(current)
        if telegram_length(block) <= MAX_MESSAGE:
            current = block
        else:
            *whole, current = split_block(block)
            messages.extend(whole)
    if current or not messages:
        messages.append(current)
    return [
        Message(html, keyboard if i == len(messages) - 1 else None)
        for i, html in enumerate(messages)
    ]


def list_header(reply: ArticleList, ctx: RenderContext) -> str:
    page = reply.page
    if page.kind == "search":
        key = "title_search_tag" if page.tag else "title_search"
        title = t(ctx, key, query=clip(page.query or "", 60), tag=page.tag)
    elif page.kind == "category":
        title = t(ctx, "title_category", category=page.category)
    elif page.kind == "tag":
        title = t(ctx, "title_tag", tag=hashtag(page.tag or "").lstrip("#"))
    else:
        title = t(ctx, "title_latest")
    first, last = page.offset + 1, page.offset + len(reply.items)
    key = "page_range" if reply.total is not None else "page_range_open"
    where = t(ctx, key, first=first, last=last, total=reply.total)
    return f"<b>{title}</b>\n{where}"


def list_keyboard(reply: ArticleList, ctx: RenderContext) -> Keyboard | None:
    page = reply.page
    row: list[Button] = []
    if page.offset > 0:
        back = replace(page, offset=max(0, page.offset - page.limit))
        row.append(kb.page_button(t_plain(ctx, "button_prev"), back, ctx.callbacks))
    if reply.has_more:
        forward = replace(page, offset=page.offset + page.limit)
        row.append(kb.page_button(t_plain(ctx, "button_next"), forward, ctx.callbacks))
    return Keyboard((tuple(row),)) if row else None


def t_plain(ctx: RenderContext, key: str, /, **values: object) -> str:
    """Button labels are plain text, not HTML."""
    return text(ctx.lang, key, **values)


def render_list(reply: ArticleList, ctx: RenderContext) -> list[Message]:
    blocks = [
        render_item(item, ctx, number=reply.page.offset + i + 1)
        for i, item in enumerate(reply.items)
    ]
    return pack(list_header(reply, ctx), blocks, list_keyboard(reply, ctx))


def render_detail(reply: ArticleDetail, ctx: RenderContext) -> list[Message]:
    item = reply.item
    lines = [f"<b>{escape(clip(item.title, TITLE_CHARS))}</b>", item_meta(item, ctx)]
    if item.source:
        lines.append(t(ctx, "source_line", source=item.source))
    if item.text:
        lines += ["", marked(item.text, item.highlights, DETAIL_TEXT_CHARS)]
    if item.other_sources:
        lines += ["", t(ctx, "also_in", sources=_sources_shown(item.other_sources))]
    keyboard = None
    if item.share_url:
        lines += ["", link(item.share_url, t(ctx, "read_more"))]
        keyboard = Keyboard(((Button(t_plain(ctx, "button_open"), url=item.share_url),),))
    return pack("", ["\n".join(lines)], keyboard)


def _grid(buttons: Sequence[Button], width: int) -> Keyboard | None:
    rows = tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
    return Keyboard(rows) if rows else None


def render_counts(reply: CountList, ctx: RenderContext) -> list[Message]:
    if not reply.entries:
        return [Message(t(ctx, f"empty_{reply.kind}"))]
    header = f"<b>{t(ctx, f'title_{reply.kind}')}</b>"
    lines = [
        f"{escape(hashtag(entry.name))} — {t(ctx, 'count_articles', count=entry.count)}"
        for entry in reply.entries
    ]
    make = kb.category_button if reply.kind == "categories" else kb.tag_button
    buttons = [
        make(clip(entry.name, 30), entry.name, ctx.callbacks)
        for entry in reply.entries[:COUNT_BUTTONS]
    ]
    return pack(header, ["\n".join(lines)], _grid(buttons, 2))


def render_trending(reply: Trending, ctx: RenderContext) -> list[Message]:
    if not reply.terms:
        return [Message(t(ctx, "empty_trending"))]
    lines = []
    for i, term in enumerate(reply.terms, 1):
        key = "trending_item" if term.example_title else "trending_stories"
        detail = t(ctx, key, count=term.count, title=clip(term.example_title or "", 40))
        show = f" {escape(show_command(term.example_key))}" if term.example_key else ""
        lines.append(f"{i}. <b>{escape(term.term)}</b> — {detail}{show}")
    buttons = [
        kb.page_button(
            clip(term.term, 20), PageQuery("search", limit=5, query=term.term), ctx.callbacks
        )
        for term in reply.terms
    ]
    return pack(f"<b>{t(ctx, 'title_trending')}</b>", ["\n".join(lines)], _grid(buttons, 3))


def start_keyboard(ctx: RenderContext) -> Keyboard:
    menus: tuple[kb.MenuName, ...] = ("latest", "categories", "tags", "trending")
    buttons = tuple(kb.menu_button(t_plain(ctx, f"button_{name}"), name) for name in menus)
    search = Button(t_plain(ctx, "button_search_inline"), switch_inline_query_current_chat="")
    return Keyboard((buttons[:2], buttons[2:], (search,)))


def render_welcome(reply: Welcome, ctx: RenderContext) -> list[Message]:
    html = f"{t(ctx, 'welcome', name=reply.name)}\n{t(ctx, 'welcome_hint')}"
    return [Message(html, start_keyboard(ctx))]


def render_help(reply: Help, ctx: RenderContext) -> list[Message]:
    lines = [f"<b>{t(ctx, 'help_title')}</b>"]
    lines += [f"/{name} — {t(ctx, f'cmd_{name}')}" for name in reply.commands]
    if reply.admin_commands:
        lines += ["", f"<b>{t(ctx, 'help_admin_title')}</b>"]
        lines += [f"/{name} — {t(ctx, f'cmd_{name}')}" for name in reply.admin_commands]
    if reply.bot_username:
        lines += ["", t(ctx, "help_inline", bot=reply.bot_username)]
    return [Message("\n".join(lines))]


def render_notice(reply: Notice, ctx: RenderContext) -> list[Message]:
    keyboard = start_keyboard(ctx) if reply.keyboard == "start" else None
    return [Message(t(ctx, reply.message, **reply.values), keyboard)]


def _tally(summary: IngestSummary) -> dict[str, int]:
    return {
        "added": summary.added,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "failed": len(summary.failures),
    }


def _failure_line(failure: Failure, ctx: RenderContext) -> str:
    source, error = clip(failure.source, 120), clip(failure.error, 200)
    return "• " + t(ctx, "ingest_failure", source=source, error=error)


def render_ingest(reply: IngestSummary, ctx: RenderContext) -> list[Message]:
    head = t(ctx, "ingest_done", **_tally(reply))
    lines = [_failure_line(f, ctx) for f in reply.failures[:FAILURES_SHOWN]]
    if len(reply.failures) > FAILURES_SHOWN:
        lines.append("…")
    lines += ["• " + t(ctx, "ingest_not_modified", source=clip(s, 120)) for s in reply.not_modified]
    lines += [t(ctx, "ingest_gap", source=clip(s, 120)) for s in reply.gaps]
    return pack(head, ["\n".join(lines)] if lines else [])


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def human_duration(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def render_stats(reply: Stats, ctx: RenderContext) -> list[Message]:
    lines = [f"<b>{t(ctx, 'title_stats')}</b>"]
    for name in ("articles", "stories", "categories", "tags"):
        lines.append(t(ctx, f"stats_{name}", count=getattr(reply, name)))
    last = reply.last_ingest
    if last is None:
        lines.append(t(ctx, "stats_no_ingest"))
    else:
        when = (last.finished_at or last.started_at).astimezone(ctx.tz)
        stamp = when.strftime("%Y-%m-%d %H:%M")
        lines.append(t(ctx, "stats_last_ingest", when=stamp, **_tally(last.summary)))
    lines.append(
        t(ctx, "stats_database", backend=reply.backend, size=human_size(reply.database_bytes))
    )
    lines.append(t(ctx, "stats_uptime", uptime=human_duration(reply.uptime_seconds)))
    return [Message("\n".join(lines))]


def human_interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_source(source: SourceHealth, ctx: RenderContext) -> str:
    def when(moment: datetime | None) -> str:
        return moment.astimezone(ctx.tz).strftime("%m-%d %H:%M") if moment else "–"

    status = t(ctx, f"source_status_{source.last_status or 'never'}")
    label = escape(clip(source.name, 60)) + " " if source.name else ""
    lines = [
        f"<b>#{source.id}</b> {label}<code>{escape(clip(source.location, 200))}</code>",
        t(
            ctx,
            "source_health",
            kind=source.kind + (f", tz={source.tz}" if source.tz else ""),
            when=when(source.last_run_at),
            status=status,
            items=source.items_seen,
        ),
        t(
            ctx,
            "source_schedule",
            interval=human_interval(source.interval_seconds),
            when=when(source.next_run_at),
        ),
    ]
    if source.consecutive_failures > 1:
        lines.append(t(ctx, "source_backoff", count=source.consecutive_failures))
    if source.last_error:
        lines.append(t(ctx, "source_error", error=clip(source.last_error, 200)))
    if source.gap_count:
        lines.append(t(ctx, "source_gap", count=source.gap_count, when=when(source.gap_warned_at)))
    return "\n".join(lines)


def source_buttons(sources: Sequence[SourceHealth], ctx: RenderContext) -> Keyboard:
    return Keyboard(
        tuple(
            (
                Button(t(ctx, "source_button_run", id=s.id), callback_data=f"src:run:{s.id}"),
                Button(t(ctx, "source_button_remove", id=s.id), callback_data=f"src:rm:{s.id}"),
            )
            for s in sources
        )
    )


def render_source_list(reply: SourceList, ctx: RenderContext) -> list[Message]:
    if not reply.sources:
        return [Message(t(ctx, "sources_none"))]
    messages = pack(
        f"<b>{t(ctx, 'title_sources')}</b>", [render_source(s, ctx) for s in reply.sources]
    )
    # Buttons go under the message that lists their source; Telegram allows 100 per message.
    shown: list[Message] = []
    for message in messages:
        listed = [s for s in reply.sources if f"<b>#{s.id}</b> " in message.html]
        shown.append(replace(message, keyboard=source_buttons(listed[:50], ctx)))
    return shown


def render_preview(reply: SourcePreview, ctx: RenderContext) -> list[Message]:
    head = t(
        ctx,
        "preview_found",
        location=clip(reply.location, 200),
        kind=reply.kind,
        count=reply.found,
    )
    blocks = ["\n".join("• " + escape(clip(title, 100)) for title in reply.titles)]
    if reply.failures:
        problems = [t(ctx, "preview_problems", count=len(reply.failures))]
        problems += [_failure_line(f, ctx) for f in reply.failures[:3]]
        blocks.append("\n".join(problems))
    saved = "preview_saved" if reply.saved_id is not None else "preview_not_saved"
    blocks.append(t(ctx, saved, id=reply.saved_id))
    return pack(head, [block for block in blocks if block])


def one_line(summary: str, limit: int = PUSH_LINE) -> str:
    """The first sentence, clipped when it is still too long."""
    line = " ".join(summary.split())
    end = next((i for i, char in enumerate(line) if char in _SENTENCE_END), len(line))
    return clip(line[: end + 1], limit)


def _push_title(item: PushItem) -> str:
    return escape(
        one_line(item.title, TITLE_CHARS) if len(item.title) > TITLE_CHARS else item.title
    )


def _push_link(item: PushItem, lang: Lang) -> str:
    if not item.share_url or len(item.share_url) > PUSH_URL_CHARS:
        return ""
    return " " + link(item.share_url, escape(text(lang, "push_link")))


def _push_hashtags(item: PushItem) -> str:
    names = ([item.category] if item.category else []) + list(item.tags)
    tags = [tag for tag in (hashtag(name)[: HASHTAG_CHARS + 1] for name in names) if tag != "#"]
    return " ".join(escape(tag) for tag in tags[:PUSH_HASHTAGS])


def render_headline(item: PushItem, lang: Lang) -> str:
    """A pushed headline: bold title, one line of summary, hashtags and link; always fits."""
    lines = [f"<b>{_push_title(item)}</b>"]
    if summary := one_line(item.summary):
        lines.append(escape(summary))
    if tail := (_push_hashtags(item) + _push_link(item, lang)).strip():
        lines.append(tail)
    return "\n".join(lines)


def render_digest(
    items: Sequence[PushItem], lang: Lang, heading: str, limit: int = MAX_MESSAGE
) -> list[tuple[str, list[int]]]:
    """A digest as messages of whole entries under `limit`, with the articles each carries."""
    head = f"<b>{escape(heading)}</b>"
    messages: list[tuple[str, list[int]]] = []
    for number, item in enumerate(items, start=1):
        entry = f"{number}. <b>{_push_title(item)}</b>{_push_link(item, lang)}"
        if summary := one_line(item.summary):
            entry += f"\n{escape(summary)}"
        if messages and telegram_length(messages[-1][0] + entry) + 2 <= limit:
            messages[-1] = (f"{messages[-1][0]}\n\n{entry}", [*messages[-1][1], item.article_id])
        else:
            messages.append((f"{head}\n\n{entry}", [item.article_id]))
    return messages


_REASONS = {
    "blocked by the user": "pause_blocked",
    "removed from the chat": "pause_removed",
    "left the chat": "pause_left",
    "not allowed to send messages": "pause_muted",
    "not allowed to post in the channel": "pause_cannot_post",
}


def describe_reason(reason: str | None, lang: Lang) -> str:
    """A stored pause reason in the reader's language; Telegram's own wording stays as it came."""
    if reason in _REASONS:
        return text(lang, _REASONS[reason])
    if reason and reason.startswith(FORBIDDEN_PREFIX):
        return text(lang, "pause_forbidden", detail=reason.removeprefix(FORBIDDEN_PREFIX))
    return reason or ""


def describe(sub: SubscriptionItem, lang: Lang) -> str:
    """One subscription as plain text: what it matches, when it pushes, whether it is paused."""
    parts = []
    if sub.categories:
        parts.append(text(lang, "summary_categories", value=", ".join(sub.categories)))
    if sub.tags:
        parts.append(text(lang, "summary_tags", value=" ".join("#" + tag for tag in sub.tags)))
    if sub.include:
        parts.append(text(lang, "summary_include", value="、".join(sub.include)))
    if sub.exclude:
        parts.append(text(lang, "summary_exclude", value="、".join(sub.exclude)))
    parts = parts or [text(lang, "summary_all")]
    schedule = Schedule.decode(sub.schedule)
    if schedule.kind == "interval":
        parts.append(text(lang, "schedule_interval", minutes=schedule.minutes))
    elif schedule.kind == "daily" and schedule.at is not None:
        parts.append(text(lang, "schedule_daily", at=f"{schedule.at:%H:%M}"))
    else:
        parts.append(text(lang, "schedule_immediate"))
    parts.append(text(lang, "summary_max", value=sub.max_items))
    if sub.paused:
        parts.append(text(lang, "paused", reason=describe_reason(sub.paused_reason, lang)))
    title = [sub.title] if sub.chat_type == CHANNEL and sub.title else []
    return " · ".join(title + parts)


def _resumed(count: int, ctx: RenderContext) -> str:
    return t(ctx, "resumed", count=count) + "\n" if count else ""


def render_subscriptions(reply: SubscriptionList, ctx: RenderContext) -> list[Message]:
    if not reply.items:
        return [Message(t(ctx, "no_subscriptions"))]
    lines = [t(ctx, "subscriptions_title")]
    lines += [escape(f"{sub.id}. {describe(sub, ctx.lang)}", quote=False) for sub in reply.items]
    rows = tuple(
        (Button(t_plain(ctx, "button_remove", id=sub.id), f"push:rm:{sub.id}"),)
        for sub in reply.items
    )
    return [Message("\n".join(lines), Keyboard(rows))]


def render_subscribed(reply: Subscribed, ctx: RenderContext) -> list[Message]:
    summary = t(ctx, "subscribed", id=reply.item.id, summary=describe(reply.item, ctx.lang))
    return [Message(_resumed(reply.resumed, ctx) + summary)]


def render_subscribe_menu(reply: SubscribeMenu, ctx: RenderContext) -> list[Message]:
    if reply.schedule is None:
        row = tuple(
            Button(t_plain(ctx, label), f"push:new:{code}") for code, label, _ in SCHEDULE_BUTTONS
        )
        html = _resumed(reply.resumed, ctx) + t(ctx, "subscribe_choose_schedule")
        return [Message(html, Keyboard((row,)))]
    code = f"push:new:{reply.schedule}"
    rows = [(Button(t_plain(ctx, "button_all"), f"{code}:*"),)]
    for slug in reply.categories[:MENU_CATEGORIES]:
        if len(f"{code}:{slug}".encode()) <= kb.MAX_CALLBACK_BYTES:
            rows.append((Button(f"#{slug}", f"{code}:{slug}"),))
    return [Message(t(ctx, "subscribe_choose_category"), Keyboard(tuple(rows)))]


_RENDERERS: dict[type[Any], Callable[[Any, RenderContext], list[Message]]] = {
    ArticleList: render_list,
    ArticleDetail: render_detail,
    CountList: render_counts,
    Trending: render_trending,
    Welcome: render_welcome,
    Help: render_help,
    Notice: render_notice,
    IngestSummary: render_ingest,
    Stats: render_stats,
    SourceList: render_source_list,
    SourcePreview: render_preview,
    SubscriptionList: render_subscriptions,
    Subscribed: render_subscribed,
    SubscribeMenu: render_subscribe_menu,
}


def render(reply: Reply, ctx: RenderContext) -> list[Message]:
    """Every reply model as one or more Telegram HTML messages."""
    renderer = _RENDERERS.get(type(reply))
    if renderer is None:
        raise TypeError(f"no renderer for {type(reply).__name__}")
    return renderer(reply, ctx)


def render_inline(result: InlineResult, ctx: RenderContext) -> InlineArticle:
    """An inline-mode result: a plain title and description, the item as the message."""
    item = result.item
    return InlineArticle(
        id=item.key[:64],
        title=clip(item.title, 100) or item.key,
        description=clip(item.text, 120),
        html=clip_html(render_item(item, ctx), MAX_MESSAGE),
        url=item.share_url,
    )
