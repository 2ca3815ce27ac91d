"""Relevance on the real corpus, ingested once per backend through the ingest pipeline."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REPO
from relevance_queries import JUDGED_QUERIES, JudgedQuery
from sqlalchemy import select, text

from bot.cli.main import main
from storage.db import Database
from storage.derive import STOP_WORDS
from storage.models import Article
from storage.search import index_row, index_scheme, search
from storage.trending import trending_terms

in_module_loop = pytest.mark.asyncio(loop_scope="module")


def _bench_relevance() -> object:
    spec = importlib.util.spec_from_file_location(
        "bench_relevance", REPO / "bench" / "relevance.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHAOGUAN = "NW202204202349852762"


async def _story_of(db: Database) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(select(Article.key, Article.story_id))
        return {key: story_id or 0 for key, story_id in rows}


def recall_and_reciprocal_rank(
    judged: JudgedQuery, shown: list[int], story_of: dict[str, int]
) -> tuple[float, float]:
    """Story-level recall@10 and reciprocal rank; a no-answer query scores 1 only when empty."""
    relevant = {story_of[key] for key in judged.relevant}
    if not relevant:
        return (1.0, 1.0) if not shown else (0.0, 0.0)
    recall = len(relevant & set(shown[:10])) / len(relevant)
    rank = next((i for i, story in enumerate(shown, start=1) if story in relevant), None)
    return recall, 1 / rank if rank else 0.0


@in_module_loop
async def test_judged_queries_reach_the_targets(corpus_db: Database) -> None:
    story_of = await _story_of(corpus_db)
    recalls, reciprocal_ranks, misses = [], [], []
    async with corpus_db.session() as session:
        for judged in JUDGED_QUERIES:
            hits = await search(session, judged.query, limit=10)
            shown = [story_of[hit.article.key] for hit in hits]
            recall, rr = recall_and_reciprocal_rank(judged, shown, story_of)
            recalls.append(recall)
            reciprocal_ranks.append(rr)
            if recall < 1 or rr < 1:
                misses.append((judged.query, recall, rr, [h.article.key for h in hits]))
    mean_recall = sum(recalls) / len(recalls)
    mrr = sum(reciprocal_ranks) / len(reciprocal_ranks)
    print(f"\n{corpus_db.dialect}: recall@10={mean_recall:.3f} MRR={mrr:.3f} misses={misses}")
    assert len(JUDGED_QUERIES) >= 25
    assert mean_recall >= 0.95, misses
    assert mrr >= 0.9, misses


@in_module_loop
async def test_graded_judgments_reach_ndcg_target(corpus_db: Database) -> None:
    """bench/relevance.py's 47 graded queries, at full size on this backend."""
    bench = _bench_relevance()
    result = await bench.evaluate(corpus_db)  # type: ignore[attr-defined]
    print(f"\n{corpus_db.dialect}: {result}")
    assert result["queries"] >= 40
    assert result["ndcg@5"] >= bench.TARGET, result  # type: ignore[attr-defined]


@in_module_loop
async def test_a_title_that_opens_with_the_query_outranks_body_mentions(
    corpus_db: Database,
) -> None:
    """The research paper of 央行研究局 ranks above articles with 央行 only in their body."""
    async with corpus_db.session() as session:
        hits = await search(session, "央行", limit=10)
    keys = [hit.article.key for hit in hits]
    paper = next(i for i, k in enumerate(keys) if k.endswith("202205302396506117"))
    body_only = keys.index("202112082207151155")
    assert paper < body_only
    assert all("央行" in hit.article.title for hit in hits[:body_only])
    assert all("央行" not in hit.article.title for hit in hits[body_only:])
    shown = hits[paper]
    assert len(shown.other_sources) == 1


@in_module_loop
async def test_shaoguan_comes_first(corpus_db: Database) -> None:
    async with corpus_db.session() as session:
        hits = await search(session, "韶关")
    assert hits[0].article.key == SHAOGUAN


@in_module_loop
async def test_the_two_feed_copies_come_back_once(corpus_db: Database) -> None:
    async with corpus_db.session() as session:
        hits = await search(session, "雪球 信托", limit=50)
    copies = [h for h in hits if h.article.key.endswith("202201072239307540")]
    assert len(copies) == 1
    assert len(copies[0].other_sources) == 1


GENERIC_WORDS = {"公司", "市场", "中国", "显示", "提供"}


@in_module_loop
async def test_trending_on_the_corpus_names_bursts_of_several_stories(
    corpus_db: Database,
) -> None:
    """With a fixed now: the month before 2022-06-15 against the seven months before it (the
    corpus's December 2021). Generic words are as common there, so they fall out."""
    now = datetime(2022, 6, 15, tzinfo=UTC)
    async with corpus_db.session() as session:
        terms = await trending_terms(session, hours=24 * 30, limit=10, now=now)
        month = list(
            await session.execute(
                select(Article.story_id, Article.title, Article.summary).where(
                    Article.published_at > now - timedelta(days=30),
                    Article.published_at <= now,
                )
            )
        )
        assert await trending_terms(session, hours=24, now=datetime(2021, 12, 9, tzinfo=UTC)) == []
    assert len(terms) >= 5
    assert not GENERIC_WORDS & {t.term for t in terms}
    for term in terms:
        assert len(term.term) >= 2 and term.term not in STOP_WORDS
        stories = {story for story, title, summary in month if term.term in title + summary}
        assert term.count >= 2 and len(stories) >= term.count
    assert [t.score for t in terms if t.sources > 1] == sorted(
        (t.score for t in terms if t.sources > 1), reverse=True
    )


def test_the_cli_prints_store_articles_with_score_and_snippet(
    corpus_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    url = corpus_db.engine.url.render_as_string(hide_password=False)
    if corpus_db.dialect != "sqlite":
        pytest.skip("the CLI opens its own connection; the PostgreSQL store lives in a schema")
    assert main(["search", "韶关", "--json", "--database-url", url]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results[0]["key"] == SHAOGUAN
    assert {"title", "published_at", "category", "tags", "score", "snippet"} <= set(results[0])
    assert "韶关" in results[0]["snippet"]

    assert main(["search", "韶关", "--category", "emnews", "--json", "--database-url", url]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert (
        main(["trending", "--hours", "720", "--limit", "3", "--json", "--database-url", url]) == 0
    )
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["search", "韶关", "--limit", "0", "--database-url", url]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["search", "韶关", "--since", "last week", "--database-url", url])
    assert exit_.value.code == 2
    capsys.readouterr()
    assert main(["reindex", "--database-url", url]) == 0
    assert "indexed" in capsys.readouterr().out
    assert main(["search", "韶关", "--json", "--database-url", url]) == 0
    assert json.loads(capsys.readouterr().out)[0]["key"] == SHAOGUAN


@in_module_loop
async def test_the_engines_keep_every_token_whole(corpus_db: Database) -> None:
    """Neither FTS5's `ascii` tokenizer nor PostgreSQL's parser re-cuts what we indexed."""
    async with corpus_db.session() as session:
        expected: set[str] = set()
        for article in await session.scalars(select(Article)):
            row = index_row(article, index_scheme(session))
            expected.update(row.title.split(), row.body.split())
        if corpus_db.dialect == "sqlite":
            await session.execute(
                text("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, article_fts, row)")
            )
            stored = set(await session.scalars(text("SELECT term FROM temp.vocab")))
        else:
            stored = set(
                await session.scalars(
                    text("SELECT DISTINCT unnest(tsvector_to_array(document)) FROM article_fts")
                )
            )
    assert stored == expected
