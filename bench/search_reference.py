"""The former one-statement search, kept as the benchmarks' reference for `storage.search`:
bm25 (SQLite FTS5, title weighted `TITLE_WEIGHT` times the body) or `ts_rank_cd` (PostgreSQL)
over the newest `BM25_CANDIDATES` matches of an unfiltered query (all of a filtered one),
blended with recency as `storage.search` blends its own relevance."""

from __future__ import annotations

from typing import Any

from storage.ranking import RECENCY_HALF_LIFE_DAYS, RECENCY_WEIGHT
from storage.search import (
    NEWEST,
    Fts5Backend,
    Phrases,
    SearchBackend,
    SearchFilters,
    _filter_sql,
    _fts5_expression,
    _tsquery,
)

TITLE_WEIGHT = 3.0
BM25_CANDIDATES = 2000


def match_sql(
    backend: SearchBackend, phrases: Phrases, newest: int | None
) -> tuple[str, dict[str, Any]]:
    """SQL yielding `(id, relevance)` of the articles holding every phrase (of the `newest`
    such articles by id, when given), and its params."""
    if isinstance(backend, Fts5Backend):
        sql = (
            f"SELECT rowid AS id, -bm25(article_fts, {TITLE_WEIGHT}, 1.0) AS relevance"
            " FROM article_fts WHERE article_fts MATCH :match"
        )
        if newest is not None:
            sql += f" ORDER BY rowid DESC LIMIT {int(newest)}"
        return sql, {"match": _fts5_expression(phrases)}
    sql = (
        "SELECT c.article_id AS id,"
        " ts_rank_cd(f.document, CAST(:match AS tsquery), 1) AS relevance"
        " FROM article_fts_matches(CAST(:match AS tsquery), :newest) c"
        " JOIN article_fts f ON f.article_id = c.article_id"
    )
    return sql, {"match": _tsquery(phrases), "newest": newest}


def age_days(backend: SearchBackend) -> str:
    """SQL for the age in days of article `a` when the newest article was published."""
    if isinstance(backend, Fts5Backend):
        return f"(julianday({NEWEST}) - julianday(a.published_at))"
    return f"(EXTRACT(EPOCH FROM ({NEWEST} - a.published_at)) / 86400.0)"


def search_sql(
    backend: SearchBackend,
    phrases: Phrases,
    filters: SearchFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[str, dict[str, Any]]:
    """`(id, score, story_size)` of each story's best, best first."""
    unfiltered = not (filters.category or filters.tag or filters.since or filters.until)
    match, params = match_sql(backend, phrases, BM25_CANDIDATES if unfiltered else None)
    where = _filter_sql(backend, filters, params)
    params.update(
        recency_weight=RECENCY_WEIGHT,
        half_life=RECENCY_HALF_LIFE_DAYS,
        limit=limit,
        offset=offset,
    )
    sql = (
        "WITH hits AS ("
        " SELECT a.id, COALESCE(a.story_id, a.id) AS story,"
        f" m.relevance * (1 + :recency_weight / (1 + {age_days(backend)} / :half_life)) AS score"
        f" FROM ({match}) m JOIN articles a ON a.id = m.id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + "), best AS ("
        " SELECT id, story, score,"
        " ROW_NUMBER() OVER (PARTITION BY story ORDER BY score DESC, id DESC) AS place"
        " FROM hits)"
        " SELECT id, score, (SELECT count(*) FROM articles s WHERE s.story_id = best.story)"
        " AS story_size FROM best WHERE place = 1"
        " ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset"
    )
    return sql, params
