"""Full-text search over stored articles: one index per backend behind one interface.

SQLite keeps our pre-segmented tokens in the FTS5 table `article_fts(title, body)` (rowid =
article id). PostgreSQL keeps a `tsvector` per article in `article_fts(article_id, document)`,
title tokens at weight A and body tokens at weight B, from our space-joined tokens through the
`simple` configuration (its parser keeps a run of letters and digits whole, so it only splits on
our spaces). Each backend has its `IndexScheme` of `storage.tokenizer` (SQLite the text as a
token sequence, PostgreSQL a bag of characters and bigrams), for documents and queries alike.

A query is a list of phrases, AND-ed; they always reach the engine quoted (`"…"` in FTS5, `'…'`
lexemes in a bound tsquery), so operator words and characters in user text are plain text.

A search runs in two stages, so its cost follows the answer rather than the store:

1. Candidates, through the index: the newest `MAX_CANDIDATES` articles holding every phrase,
   and when there are that many, the newest `MAX_TITLE_CANDIDATES` holding every phrase in the
   title (FTS5's column filter `title : (…)`; on PostgreSQL the GIN index over the title
   lexemes of migration 0009), so a title match is never left out by the recency cut. Filters
   (category, tag, dates) apply before the cut. On SQLite they are read back from the newest
   article in ranges sized to the answer (`FIRST_RANGE`, see there): past the newest
   `CANDIDATE_SPAN` only while fewer than `FEW_CANDIDATES` matched, and title matches never.
   On PostgreSQL the newest rows are walked
   first (`FIRST_WALK`, see there), and the GIN index finds the matches of a rarer query.
2. Scores, in Python over those candidates only (`storage.ranking`): no per-phrase count over
   the whole index (bm25's idf) is needed. Relevance comes from where the phrases stand (title
   first, then the lead) and how often they recur, and is blended with recency::

    score = relevance × (1 + RECENCY_WEIGHT / (1 + age_days / RECENCY_HALF_LIFE_DAYS))

where `age_days` is the age of the article when the newest article in the store was published
(so a store that stops growing does not age). Between equally relevant articles the newer wins;
the boost is at most `1 + RECENCY_WEIGHT` (a fresh article) and halves its excess after
`RECENCY_HALF_LIFE_DAYS`, so an article more than `1 + RECENCY_WEIGHT` times as relevant always
beats a newer one.

Each story (see `storage.dedup`) shows once: its best-scoring candidate, naming the other feeds.
The former one-statement ranking (bm25 / `ts_rank_cd`) is `bench/search_reference.py`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage import pg_bulk
from storage.derive import index_text
from storage.models import Article, MetaEntry
from storage.ranking import (
    SCORED_BODY_TOKENS,
    SCORED_TITLE_CHARS,
    ScoredText,
    query_needles,
    recency,
    relevance,
)
from storage.records import ArticleView, body_text
from storage.scan import article_batches
from storage.tokenizer import BAG, SEQUENCE, IndexScheme, is_prefix_term, sequence_text
from storage.views import article_views, other_sources

log = logging.getLogger(__name__)

# A longer query is cut to its first phrases: still all AND-ed, so results only widen a little.
MAX_QUERY_TERMS = 32
# A query scores at most this many of its newest matches, plus this many newest title matches.
MAX_CANDIDATES = 150
MAX_TITLE_CANDIDATES = 50
# FTS5 reads matches newest first (ORDER BY rowid DESC) without stopping at a lower rowid
# bound, so a phrase of common characters that few articles hold was looked for in the whole
# index (at 1M posts: 35 ms for its newest matches, 48 ms more for its title matches). Read
# oldest first within a range of ids, it stops at the range's end, but reads every match in the
# range, and a phrase of common characters (央行 is "央 行") costs every id whose text holds its
# characters. So candidates are read in ranges back from the newest article, each sized to the
# answer: the newest `FIRST_RANGE` ids, then as many ids as the share that matched so far says
# hold the matches still wanted (`RANGE_MARGIN` times as many), and never fewer than were read
# so far (`EMPTY_RANGE_GROWTH` times as many when none matched yet), so that a rare phrase
# takes few steps: each costs about 0.3 ms more than the ids it reads. Past the newest
# `CANDIDATE_SPAN` ids, only a query that found fewer than `FEW_CANDIDATES` reads on, to the
# oldest article, and a title match never: a search then costs the same at 1M posts as at 100k,
# unless it finds almost nothing. (Fixed ranges of 1,000, 10,000 and 100,000 ids read ~700
# matches of a common word for its newest 150, and 10,000 ids for its 50 title matches.)
FIRST_RANGE = 256
RANGE_MARGIN = 1.5
EMPTY_RANGE_GROWTH = 8
CANDIDATE_SPAN = 100_000
FEW_CANDIDATES = 20
# PostgreSQL's GIN index hands back every match before the newest are picked: at 1M posts a
# common word (中国, 690,000 matches) took 250 ms, about 0.36 µs a match, most of it reading each
# match's row. Testing each of the newest rows instead (migration 0011's walks) costs about 6 µs
# a row (10 for titles), and finds the newest matches of a common word in a few hundred rows.
# So the newest `FIRST_WALK` ids are walked; from the share of them that matched, the ids still
# to read are estimated, twice over. They are walked, or read through the index (migration 0012:
# the index's lists of every match AND-ed with the range, about 0.15 µs an entry, and only the
# range's matches read from the table), whichever costs less: the lists hold every match in the
# partitions the range spans (migration 0014) once per lexeme of the query (a prefix's several
# lists `PREFIX_LEXEMES`), at `WALKED_ROW_COST` entries a walked row. For a query none of the
# newest rows holds, the index reads the ids that would hold its matches at under one in
# `FIRST_WALK`; a range that holds too few has the whole index asked.
FIRST_WALK = 256
WALKED_ROW_COST = 48
PREFIX_LEXEMES = 4
SCORED_TEXTS_KEPT = 2048
TOKENIZER_META = "search.tokenizer"
NEWEST = "(SELECT max(published_at) FROM articles)"


@dataclass(frozen=True, slots=True)
class SearchHit:
    article: ArticleView
    score: float
    other_sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchFilters:
    category: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One article's index entry: its title and body tokens, each joined by spaces."""

    article_id: int
    title: str
    body: str


def index_row(article: Article, scheme: IndexScheme) -> IndexRow:
    body = body_text(article.paragraphs, article.digest)
    return IndexRow(article.id, *index_text(article.title, body, scheme))


def _index_params(rows: Sequence[IndexRow]) -> list[dict[str, Any]]:
    return [{"id": r.article_id, "title": r.title, "body": r.body} for r in rows]


Phrases = Sequence[tuple[str, ...]]
IdRange = tuple[int, int] | None
"""Article ids from the first up to but not including the second."""


class SearchBackend(Protocol):
    scheme: IndexScheme
    windowed: bool
    """Whether candidates are read in ranges of ids (`FIRST_RANGE`; `match_ids` with a `span`, its
    matches in no order)."""
    walked: bool
    """Whether the newest rows are walked for candidates first (`FIRST_WALK`; `match_ids` with
    a `span` tests the span's rows newest first and takes its `newest`, or `indexed` reads
    them through the index), then the index."""

    async def write(
        self, session: AsyncSession, rows: Sequence[IndexRow], *, new: bool = False
    ) -> None:
        """Index these articles (at least one), replacing their entries (`new`: none yet)."""
        ...

    def match_ids(
        self,
        phrases: Phrases,
        *,
        title: bool,
        newest: int | None,
        name: str,
        span: IdRange = None,
        indexed: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """SQL yielding the `id` of the articles holding every phrase (in the title, when
        `title`; of the `newest` such articles by id, when given; with ids in the `span`, when
        given, walked or, when `indexed`, read through the index), and its params named after
        `name`."""
        ...

    def scored_text(self) -> tuple[str, str, str]:
        """SQL joined to `articles a` (a FROM clause addition), and the expressions of the
        title and the body start that `scored_tokens` turns into token text."""
        ...

    def scored_tokens(self, title: str, body: str) -> tuple[str, str]: ...

    def time_param(self, value: datetime) -> Any: ...

    age_days: str
    """SQL of `a.published_at`'s age in days (a float) when the newest article was published:
    the engine's date arithmetic, as turning two timestamps a candidate into Python datetimes
    took half the SQL time of scoring."""


def _fts5_expression(phrases: Phrases) -> str:
    return " AND ".join('"' + " ".join(phrase).replace('"', '""') + '"' for phrase in phrases)


class Fts5Backend:
    scheme = SEQUENCE
    windowed = True
    walked = False
    age_days = f"julianday({NEWEST}) - julianday(a.published_at)"

    async def write(
        self, session: AsyncSession, rows: Sequence[IndexRow], *, new: bool = False
    ) -> None:
        if not new:
            ids = [{"id": r.article_id} for r in rows]
            await session.execute(text("DELETE FROM article_fts WHERE rowid = :id"), ids)
        await session.execute(
            text("INSERT INTO article_fts (rowid, title, body) VALUES (:id, :title, :body)"),
            _index_params(rows),
        )

    def match_ids(
        self,
        phrases: Phrases,
        *,
        title: bool,
        newest: int | None,
        name: str,
        span: IdRange = None,
        indexed: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        expression = _fts5_expression(phrases)
        if title:
            expression = f"title : ({expression})"
        sql = f"SELECT rowid AS id FROM article_fts WHERE article_fts MATCH :{name}"
        params: dict[str, Any] = {name: expression}
        if span is not None:
            sql += f" AND rowid >= :{name}_from AND rowid < :{name}_to"
            params[f"{name}_from"], params[f"{name}_to"] = span
        if newest is not None:
            sql += f" ORDER BY rowid DESC LIMIT {int(newest)}"
        return sql, params

    def scored_text(self) -> tuple[str, str, str]:
        # the index holds the token text: read its start, no JSON to decode
        chars = 2 * SCORED_BODY_TOKENS
        return (
            " JOIN article_fts f ON f.rowid = a.id",
            f"substr(f.title, 1, {2 * SCORED_TITLE_CHARS})",
            f"substr(f.body, 1, {chars})",
        )

    def scored_tokens(self, title: str, body: str) -> tuple[str, str]:
        return title, body

    def time_param(self, value: datetime) -> Any:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _pg_lexeme(token: str) -> str:
    """A quoted lexeme; a single Han character as a prefix, since `BAG` holds it in the
    bigram it starts (see `storage.tokenizer.tokenize_lean_document`)."""
    lexeme = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    return lexeme + ":*" if is_prefix_term(token) else lexeme


def _tsquery(phrases: Phrases) -> str:
    return " & ".join("(" + " <-> ".join(map(_pg_lexeme, phrase)) + ")" for phrase in phrases)


class TsvectorBackend:
    scheme = BAG
    windowed = False
    walked = True
    age_days = f"CAST(EXTRACT(EPOCH FROM {NEWEST} - a.published_at) AS float8) / 86400"

    async def write(
        self, session: AsyncSession, rows: Sequence[IndexRow], *, new: bool = False
    ) -> None:
        await pg_bulk.cover_ids(session, max(r.article_id for r in rows))
        await session.execute(
            text(
                "INSERT INTO article_fts (article_id, document) VALUES (:id,"
                " setweight(to_tsvector('simple', :title), 'A')"
                " || setweight(to_tsvector('simple', :body), 'B'))"
                " ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            _index_params(rows),
        )

    def match_ids(
        self,
        phrases: Phrases,
        *,
        title: bool,
        newest: int | None,
        name: str,
        span: IdRange = None,
        indexed: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {name: _tsquery(phrases), f"{name}_n": newest}
        if span is None:
            function = "article_title_matches" if title else "article_fts_matches"
            sql = f"SELECT article_id AS id FROM {function}(CAST(:{name} AS tsquery), :{name}_n)"
            return sql, params
        function = f"article_{'title' if title else 'fts'}_{'range' if indexed else 'walk'}"
        params[f"{name}_from"], params[f"{name}_to"] = span
        sql = (
            f"SELECT article_id AS id FROM {function}(CAST(:{name} AS tsquery),"
            f" :{name}_from, :{name}_to, :{name}_n)"
        )
        return sql, params

    def scored_text(self) -> tuple[str, str, str]:
        # the bag index has no order: read the start of the body itself
        return (
            "",
            f"left(a.title, {SCORED_TITLE_CHARS})",
            "COALESCE((SELECT left(string_agg(j.value ->> 0, E'\\n' ORDER BY j.n),"
            f" {SCORED_BODY_TOKENS}) FROM json_array_elements(CAST(a.paragraphs AS json))"
            f" WITH ORDINALITY j(value, n)), left(a.digest, {SCORED_BODY_TOKENS}), '')",
        )

    def scored_tokens(self, title: str, body: str) -> tuple[str, str]:
        return sequence_text(title), sequence_text(body)

    def time_param(self, value: datetime) -> Any:
        return value.astimezone(UTC)


def backend_for(session: AsyncSession | Session) -> SearchBackend:
    return backend_of_dialect(session.get_bind().dialect.name)


def backend_of_dialect(name: str) -> SearchBackend:
    return Fts5Backend() if name == "sqlite" else TsvectorBackend()


async def write_index(session: AsyncSession, rows: Sequence[IndexRow], *, new: bool) -> None:
    """(Re)index these articles (`new`: never indexed before)."""
    if not rows:
        return
    await backend_for(session).write(session, rows, new=new)
    await _record_tokenizer(session)


def index_scheme(session: AsyncSession | Session) -> IndexScheme:
    """The index scheme of the session's backend."""
    return backend_for(session).scheme


async def _record_tokenizer(session: AsyncSession, *, rebuilt: bool = False) -> None:
    """Name the index scheme in the store on first indexing or a rebuild; warn on a mismatch."""
    current = index_scheme(session).id
    entry = await session.get(MetaEntry, TOKENIZER_META)
    if entry is None:
        session.add(MetaEntry(name=TOKENIZER_META, value=current))
    elif rebuilt:
        entry.value = current
    elif entry.value != current:
        log.warning(
            "the index was built by %s, not %s: run `newsbot reindex`", entry.value, current
        )


async def rebuild_index(session: AsyncSession, batch_size: int = 500) -> int:
    """Drop and rebuild the whole index with the current tokenizer; returns articles indexed."""
    backend = backend_for(session)
    await session.execute(text("DELETE FROM article_fts"))  # both backends name it so
    done = 0
    async for batch in article_batches(session, batch_size):
        await backend.write(session, [index_row(a, backend.scheme) for a in batch])
        done += len(batch)
    if session.get_bind().dialect.name == "postgresql":
        await pg_bulk.clean_pending_lists(session)
    await _record_tokenizer(session, rebuilt=True)
    return done


async def search(
    session: AsyncSession,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 10,
    offset: int = 0,
) -> list[SearchHit]:
    """`search_articles` in an async session."""
    return await session.run_sync(search_articles, query, filters, limit=limit, offset=offset)


def _filter_sql(
    backend: SearchBackend, filters: SearchFilters, params: dict[str, Any]
) -> list[str]:
    where = []
    if filters.category:
        where.append("a.category_id = (SELECT id FROM categories WHERE slug = :category)")
        params["category"] = filters.category
    if filters.tag:
        where.append(
            "EXISTS (SELECT 1 FROM article_tags t JOIN tags g ON g.id = t.tag_id"
            " WHERE t.article_id = a.id AND g.name = :tag)"
        )
        params["tag"] = filters.tag
    if filters.since:
        where.append("a.published_at >= :since")
        params["since"] = backend.time_param(filters.since)
    if filters.until:
        where.append("a.published_at < :until")
        params["until"] = backend.time_param(filters.until)
    return where


def candidates_sql(
    backend: SearchBackend,
    phrases: Phrases,
    filters: SearchFilters,
    *,
    title: bool,
    span: IdRange = None,
    newest: int | None = None,
    indexed: bool = False,
) -> tuple[str, dict[str, Any]]:
    """Stage 1: the ids of the `newest` (default `MAX_CANDIDATES`, or `MAX_TITLE_CANDIDATES`
    when `title`) newest matches (title matches, when `title`), within the filters; in a `span`
    range of ids, its newest of a `walked` backend (`indexed`: through the index), and all its
    matches in no order of another."""
    params: dict[str, Any] = {}
    where = _filter_sql(backend, filters, params)
    if newest is None:
        newest = MAX_TITLE_CANDIDATES if title else MAX_CANDIDATES
    name = "title_match" if title else "match"
    cut_here = span is None or backend.walked
    cut = newest if cut_here and not where else None
    sql, named = backend.match_ids(
        phrases, title=title, newest=cut, name=name, span=span, indexed=indexed
    )
    if where:
        sql = (
            f"SELECT a.id FROM ({sql}) m JOIN articles a ON a.id = m.id WHERE {' AND '.join(where)}"
        )
        if cut_here:
            sql += f" ORDER BY a.id DESC LIMIT {int(newest)}"
    return sql, {**params, **named}


def _newest_matches(
    session: Session,
    backend: SearchBackend,
    phrases: Phrases,
    filters: SearchFilters,
    *,
    title: bool,
    newest: int,
) -> list[int]:
    """The newest matches (`candidates_sql`), newest first; on a `windowed` backend read range
    by range back from the `newest` article id (`FIRST_RANGE`), on a `walked` one walked
    first (`FIRST_WALK`)."""
    connection = session.connection()
    if backend.walked:
        walked = _walked_matches(session, backend, phrases, filters, title=title, newest=newest)
        if walked is not None:
            return walked
    if not backend.windowed:
        sql, params = candidates_sql(backend, phrases, filters, title=title)
        return [int(id_) for id_ in connection.execute(text(sql), params).scalars()]
    wanted = MAX_TITLE_CANDIDATES if title else MAX_CANDIDATES
    span_start = max(newest + 1 - CANDIDATE_SPAN, 0)

    def read(start: int, end: int) -> list[int]:
        sql, params = candidates_sql(backend, phrases, filters, title=title, span=(start, end))
        return sorted(connection.execute(text(sql), params).scalars().all(), reverse=True)

    found: list[int] = []
    end, size = newest + 1, FIRST_RANGE
    while True:
        start = max(end - size, span_start)
        found += read(start, end)
        if len(found) >= wanted or start == 0:
            break
        if start == span_start:
            if not title and len(found) < FEW_CANDIDATES:
                found += read(0, start)
            break
        done = newest + 1 - start
        if found:
            promised = (wanted - len(found)) * done / len(found) * RANGE_MARGIN
            size = max(math.ceil(promised), done)
        else:
            size = (EMPTY_RANGE_GROWTH - 1) * done
        end = start
    return [int(id_) for id_ in found[:wanted]]


def _walked_matches(
    session: Session,
    backend: SearchBackend,
    phrases: Phrases,
    filters: SearchFilters,
    *,
    title: bool,
    newest: int,
) -> list[int] | None:
    """The newest matches found by walking back from the `newest` article id (`FIRST_WALK`),
    then walking on or reading a range through the index, newest first; None when the whole
    index is to be asked: none of the newest rows matched, or the range held too few."""
    connection = session.connection()
    wanted = MAX_TITLE_CANDIDATES if title else MAX_CANDIDATES

    def walk(start: int, end: int, count: int, *, indexed: bool = False) -> list[int]:
        sql, params = candidates_sql(
            backend, phrases, filters, title=title, span=(start, end), newest=count, indexed=indexed
        )
        return [int(id_) for id_ in connection.execute(text(sql), params).scalars()]

    first = max(newest + 1 - FIRST_WALK, 0)
    found = walk(first, newest + 1, wanted)
    if len(found) >= wanted or first == 0:
        return found
    if found:
        share = len(found) / (newest + 1 - first)
        rest = math.ceil((wanted - len(found)) / share)
        lexemes = sum(
            PREFIX_LEXEMES if is_prefix_term(t) else 1 for phrase in phrases for t in phrase
        )
        # twice the rows the share promises: a walk stops at its count, so the margin costs
        # nothing where matches are as dense as they were, and a range through the index
        # costs little more
        start = max(first - 2 * rest, 0)
        listed = _partitioned_ids(start, first, newest)
        indexed = rest * WALKED_ROW_COST > share * listed * lexemes
    else:
        # fewer than one in `FIRST_WALK` match: the index reads the ids that would hold the
        # matches wanted at that share (an empty list of a rare word ends the read at once);
        # at 1M posts `钱新先` (11,132 matches, none among the newest 256) took 30-75 ms from
        # the whole index
        start, indexed = max(first - wanted * FIRST_WALK, 0), True
    if indexed and (start == 0 or pg_bulk.unmerged_documents()):
        # the range would be the whole store, the primary key's bitmap wasted; or a long
        # pending list would have the range filtered row by row (`unmerged_documents`)
        return None
    found += walk(start, first, wanted - len(found), indexed=indexed)
    return found if len(found) >= wanted or start == 0 else None


def _partitioned_ids(start: int, end: int, newest: int) -> int:
    """How many ids the index's lists cover for a read of ids `start` to `end`: those of the
    partitions it spans (`pg_bulk.PARTITION_IDS`), up to the `newest`."""
    low = start // pg_bulk.PARTITION_IDS * pg_bulk.PARTITION_IDS
    high = -(-end // pg_bulk.PARTITION_IDS) * pg_bulk.PARTITION_IDS
    return min(high, newest + 1) - low


def candidate_ids(
    session: Session, backend: SearchBackend, phrases: Phrases, filters: SearchFilters
) -> list[int]:
    """The newest matches, and the newest title matches when the first were cut short (else
    every title match is among them already)."""
    newest = session.connection().execute(text("SELECT max(id) FROM articles")).scalar()
    if newest is None:
        return []
    ids = _newest_matches(session, backend, phrases, filters, title=False, newest=int(newest))
    if len(ids) >= MAX_CANDIDATES:
        titles = _newest_matches(session, backend, phrases, filters, title=True, newest=int(newest))
        ids = list(dict.fromkeys([*ids, *titles]))
    return ids


@dataclass(frozen=True, slots=True)
class _Scored:
    id: int
    story: int
    score: float


class _ScoredTexts:
    """The token text of the candidates scored lately, by index scheme, article id and content
    hash: most searches share the newest matches, and reading and tokenizing ~185 candidates'
    text took ~45 ms of each search at 100k posts on PostgreSQL (21 ms of SQL decoding
    paragraphs, 27 ms of tokenizing on the event loop). A changed article has another hash.
    About 8 KB each."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._texts: OrderedDict[tuple[str, int, str], ScoredText] = OrderedDict()
        self._lock = threading.Lock()  # reads run in several threads on SQLite

    def get(self, key: tuple[str, int, str]) -> ScoredText | None:
        with self._lock:
            found = self._texts.get(key)
            if found is not None:
                self._texts.move_to_end(key)
            return found

    def put(self, key: tuple[str, int, str], texts: ScoredText) -> None:
        with self._lock:
            self._texts[key] = texts
            while len(self._texts) > self.kept:
                self._texts.popitem(last=False)


SCORED_TEXTS = _ScoredTexts(SCORED_TEXTS_KEPT)


def keep_scored_texts(
    scheme: IndexScheme, written: Sequence[tuple[int, str, tuple[str, str]]]
) -> None:
    """Keep the scored text (`storage.derive.scored_text`) of articles just written, as
    `(id, content hash, text)`: while the bot ingests, the newest matches of a common word are
    the articles it is writing, and reading and tokenizing each on its first search took
    about 0.2 ms (a search whose candidates were all new: 59 ms against 16 on PostgreSQL at
    136k posts). The key holds the content hash, so the text is right for any article that
    has that id and hash, whether or not its write commits."""
    for id_, hash_, (title, body) in written:
        SCORED_TEXTS.put((scheme.id, id_, hash_), ScoredText.of(title, body))


def _candidate_texts(
    session: Session, backend: SearchBackend, keys: Sequence[tuple[str, int, str]]
) -> dict[int, ScoredText]:
    """Each candidate's title and body start as token text, read only for those not kept."""
    texts = {key[1]: found for key in keys if (found := SCORED_TEXTS.get(key)) is not None}
    missing = {key[1]: key for key in keys if key[1] not in texts}
    if missing:
        joined, title, body = backend.scored_text()
        statement = text(
            f"SELECT a.id, {title} AS title, {body} AS body FROM articles a{joined}"
            " WHERE a.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for row in session.connection().execute(statement, {"ids": list(missing)}):
            texts[row.id] = ScoredText.of(*backend.scored_tokens(row.title, row.body))
            SCORED_TEXTS.put(missing[row.id], texts[row.id])
    return texts


def _score_candidates(
    session: Session, backend: SearchBackend, query: str, ids: Sequence[int]
) -> list[_Scored]:
    """Stage 2: each candidate's score (see `storage.ranking`), from its title and the start of
    its body."""
    needles = query_needles(query, MAX_QUERY_TERMS)
    statement = text(
        "SELECT a.id, a.story_id, a.content_hash,"
        f" {backend.age_days} AS age FROM articles a WHERE a.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    rows = session.connection().execute(statement, {"ids": list(ids)}).all()
    scheme = backend.scheme.id
    texts = _candidate_texts(session, backend, [(scheme, id_, hash_) for id_, _, hash_, _ in rows])
    return [
        _Scored(id_, story or id_, relevance(needles, texts[id_]) * recency(age))
        for id_, story, _, age in rows
        if id_ in texts
    ]


def search_articles(
    session: Session,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 10,
    offset: int = 0,
) -> list[SearchHit]:
    """The best-scoring candidate of each matching story, best first (see the module doc)."""
    backend = backend_for(session)
    phrases = backend.scheme.query(query)[:MAX_QUERY_TERMS]
    if not phrases or limit <= 0:
        return []
    ids = candidate_ids(session, backend, phrases, filters or SearchFilters())
    if not ids:
        return []
    best: dict[int, _Scored] = {}
    for hit in _score_candidates(session, backend, query, ids):
        held = best.get(hit.story)
        if held is None or (hit.score, hit.id) > (held.score, held.id):
            best[hit.story] = hit
    ranked = sorted(best.values(), key=lambda h: (h.score, h.id), reverse=True)
    page = ranked[max(offset, 0) : max(offset, 0) + limit]
    if not page:
        return []
    articles = {a.id: a for a in article_views(session, [h.id for h in page])}
    shown = [articles[h.id] for h in page if h.id in articles]
    others = other_sources(session, shown)
    return [
        SearchHit(articles[h.id], h.score, others.get(h.id, ())) for h in page if h.id in articles
    ]
