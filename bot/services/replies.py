"""What the services answer: plain values the renderers turn into Telegram HTML or terminal text."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from storage.records import Failure, TrendingTerm

ListKind = Literal["latest", "category", "tag", "search"]
if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ReplyT = TypeVar("ReplyT", bound="DataclassInstance")


def copied(model: type[ReplyT], source: object, /, **overrides: Any) -> ReplyT:
    """A reply model whose fields are read off `source`'s attributes of the same names (lists
    as tuples), except those given in `overrides`: a stored row as plain values."""
    values = {f.name: getattr(source, f.name) for f in fields(model) if f.name not in overrides}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return model(**values, **overrides)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asked and where: decides the language, the page size and admin rights."""

    user_id: int | None = None
    lang: Literal["zh", "en"] = "zh"
    in_group: bool = False
    is_admin: bool = False
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class ArticleItem:
    key: str
    title: str
    published_at: datetime
    category: str | None
    tags: tuple[str, ...]
    source: str | None
    text: str
    """The summary, or the query-biased snippet in search results."""
    highlights: tuple[tuple[int, int], ...] = ()
    """Half-open character spans of `text` to show in bold (search matches)."""
    share_url: str | None = None
    other_sources: tuple[str, ...] = ()
    flash: bool = False
    """A flash (快讯): the body only restates the title, so `text` is empty."""


@dataclass(frozen=True, slots=True)
class PageQuery:
    """Everything needed to fetch one page of a list again, for the ◀ ▶ buttons."""

    kind: ListKind
    offset: int = 0
    limit: int = 5
    category: str | None = None
    tag: str | None = None
    query: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleList:
    page: PageQuery
    items: tuple[ArticleItem, ...]
    total: int | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class ArticleDetail:
    item: ArticleItem


@dataclass(frozen=True, slots=True)
class CountEntry:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class CountList:
    kind: Literal["categories", "tags"]
    entries: tuple[CountEntry, ...]


@dataclass(frozen=True, slots=True)
class Trending:
    terms: tuple[TrendingTerm, ...]
    hours: int = 24


@dataclass(frozen=True, slots=True)
class Notice:
    """A one-line answer from the message catalog: usage hints, refusals, empty results."""

    message: str
    values: dict[str, object] = field(default_factory=dict)
    keyboard: Literal["none", "start"] = "none"


@dataclass(frozen=True, slots=True)
class Welcome:
    name: str
    bot_username: str | None = None


@dataclass(frozen=True, slots=True)
class Help:
    commands: tuple[str, ...]
    admin_commands: tuple[str, ...] = ()
    bot_username: str | None = None


@dataclass(frozen=True, slots=True)
class IngestSummary:
    added: int
    updated: int
    unchanged: int
    failures: tuple[Failure, ...] = ()
    not_modified: tuple[str, ...] = ()
    """Sources that answered "not modified" (HTTP 304): nothing was read, nothing is wrong."""
    gaps: tuple[str, ...] = ()
    """Sources whose read may have missed items between polls."""


@dataclass(frozen=True, slots=True)
class LastIngest:
    finished_at: datetime | None
    started_at: datetime
    summary: IngestSummary


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    stories: int
    categories: int
    tags: int
    last_ingest: LastIngest | None
    backend: str
    database_bytes: int | None
    uptime_seconds: float


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source row as `/sources` shows it."""

    id: int
    kind: str
    location: str
    name: str | None
    scheduled: bool
    interval_seconds: int
    tz: str | None
    last_run_at: datetime | None
    last_status: str | None
    last_error: str | None
    items_seen: int
    consecutive_failures: int
    next_run_at: datetime | None
    gap_count: int
    gap_warned_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceList:
    sources: tuple[SourceHealth, ...]


@dataclass(frozen=True, slots=True)
class SourcePreview:
    """What a trial read of a new source found; `saved_id` is None when nothing was saved."""

    location: str
    kind: str
    found: int
    titles: tuple[str, ...]
    failures: tuple[Failure, ...]
    saved_id: int | None
    tz: str | None = None


@dataclass(frozen=True, slots=True)
class InlineResult:
    item: ArticleItem


@dataclass(frozen=True, slots=True)
class InlinePage:
    results: tuple[InlineResult, ...]
    next_offset: str
    query: str


@dataclass(frozen=True, slots=True)
class PushItem:
    """One pushed headline; `article_id` ties the message back to its ledger row."""

    article_id: int
    title: str
    summary: str
    share_url: str | None
    category: str | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionItem:
    id: int
    chat_type: str
    title: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    schedule: str
    """The stored form (`Schedule.encode`)."""
    max_items: int
    paused: bool = False
    paused_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionList:
    items: tuple[SubscriptionItem, ...]


@dataclass(frozen=True, slots=True)
class Subscribed:
    item: SubscriptionItem
    resumed: int = 0
    """Paused subscriptions of the chat the same command resumed."""


@dataclass(frozen=True, slots=True)
class SubscribeMenu:
    """The schedule buttons, or once `schedule` is chosen the category buttons."""

    resumed: int = 0
    schedule: str | None = None
    categories: tuple[str, ...] = ()


Reply = (
    ArticleList
    | ArticleDetail
    | CountList
    | Trending
    | Notice
    | Welcome
    | Help
    | IngestSummary
    | Stats
    | SourceList
    | SourcePreview
    | SubscriptionList
    | Subscribed
    | SubscribeMenu
)


@dataclass(frozen=True, slots=True)
class Pressed:
    """A pressed button's answer: a toast (an alert when `alert`), maybe its message's new text."""

    toast: Notice | None = None
    alert: bool = False
    edit: Reply | None = None
