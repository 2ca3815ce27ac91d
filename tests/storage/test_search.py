"""Searching the store on both backends: matching, filters, ranking, stories, index upkeep."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from store_support import DAY, FILLER, store
from store_support import text_record as record

from storage import pg_bulk
from storage.db import Database
from storage.derive import MAX_INDEXED_BODY_CHARS, with_derived
from storage.models import MetaEntry
from storage.ranking import SCORED_TITLE_CHARS
from storage.repository import ArticleRepository
from storage.search import (
    MAX_QUERY_TERMS,
    SCORED_TEXTS,
    TOKENIZER_META,
    Fts5Backend,
    SearchFilters,
    SearchHit,
    TsvectorBackend,
    _partitioned_ids,
    candidate_ids,
    index_scheme,
    rebuild_index,
    search,
)
from storage.stories import rebuild_stories
from storage.tokenizer import BAG, SEQUENCE, tokenize_query


async def find(database: Database, query: str, **kwargs: object) -> list[SearchHit]:
    filters = SearchFilters(
        **{k: v for k, v in kwargs.items() if k in {"category", "tag", "since", "until"}}  # type: ignore[arg-type]
    )
    paging = {k: v for k, v in kwargs.items() if k in {"limit", "offset"}}
    async with database.session() as session:
        return await search(session, query, filters, **paging)  # type: ignore[arg-type]


def keys(hits: list[SearchHit]) -> list[str]:
    return [hit.article.key for hit in hits]


async def test_short_words_names_and_codes_are_found(database: Database) -> None:
    await store(
        database,
        record(
            "bank",
            "苏州银行获准发行永续债",
            "苏州银行公告称，获准发行不超60亿元无固定期限资本债券。",
        ),
        record("moutai", "贵州茅台股价重回2000元", "白酒股走强，贵州茅台（600519）收涨4%。"),
        record("fiveg", "中国联通发布5G行业专网", "5G专网产品体系2.0发布，覆盖工业制造。"),
        record("ashare", "外资杀入A股", "北向资金净买入，A股三大指数集体走强。"),
        record("pig", "生猪价格环比上涨", "第48周生猪及猪肉价格环比上涨。"),
    )
    assert keys(await find(database, "银行")) == ["bank"]
    assert keys(await find(database, "600519")) == ["moutai"]
    assert keys(await find(database, "5G")) == ["fiveg"]
    assert keys(await find(database, "a股")) == ["ashare"]
    assert keys(await find(database, "猪")) == ["pig"]
    assert keys(await find(database, "茅台 2000")) == ["moutai"]
    assert await find(database, "茅台 5G") == []


async def test_a_query_finds_its_characters_together_not_apart(database: Database) -> None:
    await store(
        database,
        record("apart", "中国，人民生活", "央视记者，行长讲话。"),
        record("together", "中国人民银行", "央行行长讲话。"),
    )
    assert keys(await find(database, "国人")) == ["together"]
    assert keys(await find(database, "央行")) == ["together"]
    assert keys(await find(database, "人民")) == ["together", "apart"]


@pytest.mark.parametrize(
    "query",
    ['"', '"央行"', "央行*", "-央行", "(央行", "NEAR(央行 降准)", "央行 AND", "OR 央行",
     "title:央行", "央行\\", "'; DROP TABLE articles; --", "央行 & | ! <->", ":*"],
)  # fmt: skip
async def test_query_syntax_is_plain_text(database: Database, query: str) -> None:
    await store(database, record("pboc", "央行宣布降准", "央行决定下调存款准备金率。NEAR AND OR"))
    hits = await find(database, query)
    assert keys(hits) in (["pboc"], [])
    async with database.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM articles")) == 1


async def test_operator_words_match_as_words(database: Database) -> None:
    await store(
        database,
        record("near", "Near and far", 'He said "near" AND meant it: a*b - (c) OR d\\e.'),
        record("other", "央行宣布降准"),
    )
    assert keys(await find(database, "NEAR")) == ["near"]
    assert keys(await find(database, '"near" AND')) == ["near"]
    assert keys(await find(database, "a*b")) == ["near"]


async def test_filters_by_category_tag_and_dates(database: Database) -> None:
    await store(
        database,
        record("a", "央行降准一", category="emnews", tags=("东财滚动",), published=DAY),
        record(
            "b", "央行降准二", category="cailianshe", tags=("财联社新闻",),
            published=DAY - timedelta(days=3),
        ),
    )  # fmt: skip
    assert keys(await find(database, "央行", category="cailianshe")) == ["b"]
    assert keys(await find(database, "央行", tag="东财滚动")) == ["a"]
    assert keys(await find(database, "央行", since=DAY - timedelta(days=1))) == ["a"]
    assert keys(await find(database, "央行", until=DAY - timedelta(days=1))) == ["b"]
    assert await find(database, "央行", category="nowhere") == []


async def test_pages_follow_each_other_without_overlap(database: Database) -> None:
    await store(
        database,
        *(
            record(f"k{i}", f"央行公开市场操作第{i}期", f"{FILLER}央行开展逆回购操作{i}亿元。",
                   published=DAY - timedelta(hours=i))
            for i in range(7)
        ),
    )  # fmt: skip
    first = keys(await find(database, "央行", limit=3))
    second = keys(await find(database, "央行", limit=3, offset=3))
    third = keys(await find(database, "央行", limit=3, offset=6))
    assert len(first) == len(second) == 3 and len(third) == 1
    assert set(first) | set(second) | set(third) == {f"k{i}" for i in range(7)}


async def test_equally_relevant_articles_come_newest_first(database: Database) -> None:
    await store(
        database,
        record("old", "央行宣布降准", FILLER, published=DAY - timedelta(days=10)),
        record("new", "央行宣布降准", FILLER[::-1], published=DAY, category="cailianshe"),
    )
    hits = await find(database, "降准")
    assert keys(hits) == ["new", "old"]
    assert hits[0].score > hits[1].score


async def test_a_much_more_relevant_old_article_beats_a_weak_new_one(database: Database) -> None:
    await store(
        database,
        record(
            "about", "降准落地：央行降准释放长期资金",
            "央行决定降准。此次降准释放长期资金约一万亿元。降准体现稳健货币政策。",
            published=DAY - timedelta(days=20),
        ),
        record("mention", "本周市场回顾", FILLER * 5 + "另据消息，有机构提到降准。", published=DAY),
    )  # fmt: skip
    assert keys(await find(database, "降准")) == ["about", "mention"]


async def test_a_title_match_outranks_a_body_match(database: Database) -> None:
    await store(
        database,
        record("body", "市场综述", f"{FILLER}其中宁德时代涨幅居前。"),
        record("title", "宁德时代发布新电池", FILLER),
    )
    assert keys(await find(database, "宁德时代")) == ["title", "body"]


async def test_one_story_from_two_feeds_shows_once_naming_the_other(database: Database) -> None:
    body = FILLER + "央行研究局课题组发表文章，提出促进消费投资增长，实现经济平稳高质量运行。" * 3
    await store(
        database,
        record("NW1", "央行研究局课题组：促进消费投资增长", body, category="yangxingwangzhan"),
        record("1", "央行研究局课题组：促进消费投资增长", body, category="emnews"),
        record("other", "央行开展逆回购操作", FILLER),
    )
    hits = await find(database, "央行")
    assert len(hits) == 2
    story = next(hit for hit in hits if hit.article.key in {"NW1", "1"})
    assert story.other_sources in (("emnews",), ("yangxingwangzhan",))


async def test_the_index_follows_updates(database: Database) -> None:
    await store(database, record("k", "央行宣布降准"))
    await store(database, record("k", "央行宣布加息"))
    assert await find(database, "降准") == []
    assert keys(await find(database, "加息")) == ["k"]
    async with database.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM article_fts")) == 1


async def index_tokenizer(session: AsyncSession) -> str | None:
    entry = await session.get(MetaEntry, TOKENIZER_META)
    return entry.value if entry else None


async def test_the_store_records_its_tokenizer_and_reindex_rebuilds(database: Database) -> None:
    await store(database, record("a", "央行宣布降准"), record("b", "银行间市场利率下行"))
    async with database.session() as session, session.begin():
        assert await index_tokenizer(session) == index_scheme(session).id
        await session.execute(text("DELETE FROM article_fts"))
        await session.execute(text("UPDATE meta SET value = 'an older tokenizer 0'"))
    assert await find(database, "降准") == []
    async with database.session() as session, session.begin():
        assert await rebuild_index(session) == 2
        assert await rebuild_stories(session) == 2
    async with database.session() as session:
        assert await index_tokenizer(session) == index_scheme(session).id
    assert keys(await find(database, "降准")) == ["a"]
    assert keys(await find(database, "银行")) == ["b"]


async def test_nothing_to_search_finds_nothing(database: Database) -> None:
    await store(database, record("a", "央行宣布降准"))
    assert await find(database, "") == []
    assert await find(database, "！？。") == []
    assert await find(database, "央行", limit=0) == []


async def test_a_very_long_query_is_cut_not_refused(database: Database) -> None:
    news = "央行决定下调金融机构存款准备金率零点五个百分点，释放长期资金约一万亿元。"
    body = FILLER + news
    await store(database, record("a", "央行宣布降准", body), record("b", "央行宣布加息", FILLER))
    # its first terms come from what only "a" holds
    long_query = " ".join(news[i : i + 3] for i in range(len(news) - 3)) + FILLER * 30
    assert len(SEQUENCE.query(long_query)) > MAX_QUERY_TERMS
    assert len(BAG.query(long_query)) > MAX_QUERY_TERMS
    assert keys(await find(database, long_query)) == ["a"]


async def test_a_word_in_too_many_articles_ranks_the_newest_of_them_and_its_title_matches(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.search.MAX_CANDIDATES", 2)
    monkeypatch.setattr("storage.search.MAX_TITLE_CANDIDATES", 1)
    await store(
        database,
        record("old-title", "央行公开市场操作", FILLER, published=DAY - timedelta(days=9)),
        *(record(f"k{i}", f"市场观察第{i}期", f"{FILLER}央行第{i}期。",
                 published=DAY - timedelta(days=3 - i))
          for i in range(3)),
        record("other", "其他新闻", FILLER, category="other"),
    )  # fmt: skip
    assert keys(await find(database, "央行")) == ["old-title", "k2", "k1"]
    assert keys(await find(database, "央行", category="emnews")) == ["old-title", "k2", "k1"]
    assert await find(database, "央行", category="other") == []


RANGED_BODIES = {
    1: ("央行公开市场", "降准", "other"),
    2: ("新闻二", "降准", "emnews"),
    3: ("新闻三", "操作", "emnews"),
    4: ("新闻四", "央行", "other"),
    5: ("央行表态", "消息", "emnews"),
    6: ("新闻六", "央行", "emnews"),
    7: ("新闻七", "央行操作", "emnews"),
    8: ("新闻八", "央行公开操作", "emnews"),
}
"""Eight articles, ids 1 to 8, oldest first: (title, body, category)."""


async def store_ranged(database: Database) -> None:
    await store(
        database,
        *(record(f"k{n}", title, f"{FILLER}{body}。", category=category,
                 published=DAY - timedelta(days=9 - n))
          for n, (title, body, category) in RANGED_BODIES.items()),
    )  # fmt: skip


async def test_sqlite_reads_candidates_back_from_the_newest_in_ranges_sized_to_the_answer(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first range of the newest 2 ids (8 articles); each next one sized from the share that
    matched, at least as large as all read so far (7 times when none matched); past the newest
    4 only while under 2 matched."""
    monkeypatch.setattr("storage.search.FIRST_RANGE", 2)
    monkeypatch.setattr("storage.search.CANDIDATE_SPAN", 4)
    monkeypatch.setattr("storage.search.FEW_CANDIDATES", 2)
    monkeypatch.setattr("storage.search.MAX_CANDIDATES", 3)
    monkeypatch.setattr("storage.search.MAX_TITLE_CANDIDATES", 1)
    await store_ranged(sqlite_database)
    ranges: list[tuple[str, int, int]] = []

    def record_range(
        conn: object, cursor: object, statement: str, params: object, *_: object
    ) -> None:
        if isinstance(params, tuple) and "MATCH" in statement:
            stage = "title" if str(params[0]).startswith("title") else "body"
            ranges.append((stage, params[1], params[2]))

    event.listen(sqlite_database.engine.sync_engine, "before_cursor_execute", record_range)

    async def candidates(query: str, **filters: str) -> list[int]:
        ranges.clear()
        phrases = SEQUENCE.query(query)
        async with sqlite_database.session() as session:
            return await session.run_sync(
                candidate_ids, Fts5Backend(), phrases, SearchFilters(**filters)
            )

    # the newest three, then the newest title match of the next range (5, not 1)
    assert await candidates("央行") == [8, 7, 6, 5]
    assert ranges == [("body", 7, 9), ("body", 5, 7), ("title", 7, 9), ("title", 5, 7)]
    # two matches in the newest four are enough: 3 is not read
    assert await candidates("操作") == [8, 7]
    # one is not: on to the oldest
    assert await candidates("公开") == [8, 1]
    assert ranges == [("body", 7, 9), ("body", 5, 7), ("body", 0, 5)]
    assert await candidates("降准") == [2, 1]
    assert await candidates("央行", category="other") == [4, 1]
    assert await candidates("xyzzy") == []

    # one match in the newest two ids: the two still wanted are looked for in 2 × 2 × 1.5 ids
    monkeypatch.setattr("storage.search.CANDIDATE_SPAN", 8)
    assert await candidates("公开") == [8, 1]
    assert ranges == [("body", 7, 9), ("body", 1, 7)]
    # none in the newest two: the next range is 7 times what was read
    monkeypatch.setattr("storage.search.CANDIDATE_SPAN", 20)
    assert await candidates("降准") == [2, 1]
    assert ranges == [("body", 7, 9), ("body", 0, 7)]


@pytest.mark.postgres
async def test_postgresql_walks_the_newest_rows_before_asking_the_index(
    postgres_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first walk of the newest 2 ids (8 articles); then on, over twice the ids the share that
    matched promises, walked where that costs less than the index's lists, else read through
    the index; with none in the first walk, the ids that would hold the matches wanted at
    under one match in 2 read through the index; with too few in a range, the whole GIN index.
    Either way the candidates are the newest matches, as the index alone finds them."""
    monkeypatch.setattr("storage.search.FIRST_WALK", 2)
    monkeypatch.setattr("storage.search.WALKED_ROW_COST", 2)
    monkeypatch.setattr("storage.search.MAX_CANDIDATES", 3)
    monkeypatch.setattr("storage.search.MAX_TITLE_CANDIDATES", 1)
    await store_ranged(postgres_database)
    async with postgres_database.session() as session, session.begin():
        await ArticleRepository(session).merge_search_index()
    functions: list[str] = []

    def record_function(conn: object, cursor: object, statement: str, *args: object) -> None:
        functions.extend(re.findall(r"article_\w+_(?:walk|range|matches)", statement))

    event.listen(postgres_database.engine.sync_engine, "before_cursor_execute", record_function)

    async def candidates(query: str, **filters: str) -> tuple[list[int], list[str]]:
        functions.clear()
        phrases = BAG.query(query)
        async with postgres_database.session() as session:
            found = await session.run_sync(
                candidate_ids, TsvectorBackend(), phrases, SearchFilters(**filters)
            )
        called = list(functions)
        with monkeypatch.context() as index_only:
            index_only.setattr(TsvectorBackend, "walked", False)
            async with postgres_database.session() as session:
                assert found == await session.run_sync(
                    candidate_ids, TsvectorBackend(), phrases, SearchFilters(**filters)
                )
        return found, called

    walk, title_walk = "article_fts_walk", "article_title_walk"
    index, title_index = "article_fts_matches", "article_title_matches"
    range_, title_range = "article_fts_range", "article_title_range"
    # both of the newest two match: the next two ids are walked, and 6 is the third; no title
    # in 7 and 8 matches, so the index reads the two ids that would hold one at under one in
    # two, and finds the newest title match, 5
    assert await candidates("央行") == ([8, 7, 6, 5], [walk, walk, title_walk, title_range])
    assert await candidates("央行", category="emnews") == (
        [8, 7, 6, 5],
        [walk, walk, title_walk, title_range],
    )
    # the next two ids hold no match: the index finds 3 (and, three being as many as are
    # scored, looks for title matches: there are none, in the range or in the whole index)
    assert await candidates("操作") == (
        [8, 7, 3],
        [walk, walk, index, title_walk, title_range, title_index],
    )
    # one in two: walking the four ids that promise the other two (at 2 a row) costs more than
    # the index reading the matches of eight articles at that share (4)
    assert await candidates("公开") == ([8, 1], [walk, index])
    # none of the newest two match: the six ids that would hold three at under one in two
    # are read through the index, and where they hold fewer the whole index is asked
    assert await candidates("降准") == ([2, 1], [walk, range_, index])
    assert await candidates("央行", category="other") == ([4, 1], [walk, range_, index])
    assert await candidates("xyzzy") == ([], [walk, range_, index])
    # a walk cheap enough goes on, and one that reaches the oldest article has seen every match
    monkeypatch.setattr("storage.search.WALKED_ROW_COST", 1)
    assert await candidates("公开") == ([8, 1], [walk, walk])
    # a walk dearer than the index's lists: the promised range is read through the index, and
    # where it holds too few, the whole index is asked
    monkeypatch.setattr("storage.search.WALKED_ROW_COST", 100)
    assert await candidates("央行") == ([8, 7, 6, 5], [walk, range_, title_walk, title_range])
    assert await candidates("央行", category="emnews") == (
        [8, 7, 6, 5],
        [walk, range_, title_walk, title_range],
    )
    assert await candidates("操作") == (
        [8, 7, 3],
        [walk, range_, index, title_walk, title_range, title_index],
    )
    monkeypatch.setattr("storage.search.MAX_TITLE_CANDIDATES", 3)
    assert await candidates("新闻") == ([8, 7, 6], [walk, range_, title_walk, title_range])
    # while documents this process wrote wait in the index's pending list, the planner would
    # filter a range row by row: the whole index is asked instead, until they are merged
    await store(postgres_database, record("k9", "新闻九", f"{FILLER}新闻。"))
    assert pg_bulk.unmerged_documents() == 1
    assert await candidates("新闻") == ([9, 8, 7], [walk, index, title_walk, title_index])
    assert await candidates("降准") == ([2, 1], [walk, index])
    async with postgres_database.session() as session, session.begin():
        await ArticleRepository(session).merge_search_index()
    assert pg_bulk.unmerged_documents() == 0
    assert await candidates("新闻") == ([9, 8, 7], [walk, range_, title_walk, title_range])
    monkeypatch.setattr("storage.search.FIRST_WALK", 10)
    assert await candidates("操作") == ([8, 7, 3], [walk, title_walk])


@pytest.mark.postgres
async def test_postgresql_leaves_out_a_prefix_another_query_term_holds(
    postgres_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone Han character is a prefix (`'股':*`), whose lookup reads the index entries of
    every pair it starts: where another term of the query holds it (`A股` is `a`, `a股` and
    `股`), it is left out, and the same articles are found."""
    await store(
        postgres_database,
        record("k1", "新闻一", f"{FILLER}外资买入A股"),
        record("k2", "新闻二", f"{FILLER}A股走强，猪价上涨。"),
        record("k3", "新闻三", f"{FILLER}A 股票"),
        record("k4", "新闻四", f"{FILLER}中A股指数。"),
        record("k5", "新闻五", f"{FILLER}生猪出栏，央行表态。"),
        record("k6", "新闻六", f"{FILLER}央行表态。"),
    )
    async with postgres_database.session() as session, session.begin():
        await ArticleRepository(session).merge_search_index()
    sent: list[str] = []

    def record_query(
        conn: object,
        clauseelement: object,
        multiparams: object,
        params: dict[str, object],
        execution_options: object,
    ) -> None:
        sent.extend(str(value) for name, value in params.items() if name == "match")

    event.listen(postgres_database.engine.sync_engine, "before_execute", record_query)
    monkeypatch.setattr(TsvectorBackend, "walked", False)

    async def candidates(query: str, *, every_term: bool = False) -> list[int]:
        sent.clear()
        phrases = [(t,) for t in tokenize_query(query)] if every_term else BAG.query(query)
        async with postgres_database.session() as session:
            return await session.run_sync(
                candidate_ids, TsvectorBackend(), phrases, SearchFilters()
            )

    # 股 ends k1's text (kept alone) and starts a pair in k2; k3's `a` and 股 are apart
    assert await candidates("A股", every_term=True) == await candidates("A股") == [4, 2, 1]
    assert sent == ["('a') & ('a股')"]
    assert await candidates("中A股", every_term=True) == await candidates("中A股") == [4]
    assert sent == ["('中a') & ('a') & ('a股')"]
    # a prefix no other term holds is looked up
    assert await candidates("猪 央行") == [5]
    assert sent == ["('猪':*) & ('央行')"]
    assert await candidates("股") == [4, 3, 2, 1]
    assert sent == ["('股':*)"]


async def test_a_huge_article_is_indexed_by_its_start(database: Database) -> None:
    rng = random.Random(4)
    noise = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(MAX_INDEXED_BODY_CHARS * 4))
    await store(database, record("huge", "超长文章", "开头写着韶关。" + noise + "结尾写着潍柴。"))
    assert keys(await find(database, "韶关")) == ["huge"]
    assert await find(database, "潍柴") == []


def scored_titles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The titles search turns into token text to score, as it does, on either backend."""
    titles: list[str] = []
    for backend in (Fts5Backend, TsvectorBackend):
        original = backend.scored_tokens

        def recording(self: object, title: str, body: str, original=original) -> tuple[str, str]:
            titles.append(title)
            return original(self, title, body)  # type: ignore[arg-type]

        monkeypatch.setattr(backend, "scored_tokens", recording)
    return titles


async def test_a_huge_title_is_scored_by_its_start(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fuzz found searches slowed by a 50,000-character title: every search meeting it
    re-tokenized it whole. Scoring reads its start; the article is still found."""
    scored = scored_titles(monkeypatch)
    await store(database, record("long", "韶关" + "长" * 50_000, "正文写着韶关的消息。"))
    assert keys(await find(database, "韶关")) == ["long"]
    assert scored and max(map(len, scored)) <= 2 * SCORED_TITLE_CHARS


async def test_migration_0009_indexes_the_titles_of_a_stored_index(database: Database) -> None:
    from alembic import command

    from storage.db import _alembic_config

    await store(
        database,
        record("title", "央行宣布降准", FILLER, published=DAY - timedelta(days=30)),
        record("body", "市场综述", f"{FILLER}央行决定下调存款准备金率。"),
    )
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0008"))
    await database.upgrade()
    assert keys(await find(database, "央行")) == ["title", "body"]


async def test_candidates_are_read_once_and_scored_again_when_they_change(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searches share their candidates' token text (reading and tokenizing it was most of a
    search's time on PostgreSQL); an updated article is scored on its new text."""
    tokenized = scored_titles(monkeypatch)
    central_bank = ("央行宣布降准", f"{FILLER}央行宣布降准。")
    market = ("市场综述", f"{FILLER}分析人士谈降准。")
    await store(database, record("x", *central_bank), record("y", *market))
    for _ in range(2):
        assert keys(await find(database, "降准")) == ["x", "y"]
        assert len(tokenized) == 2  # the second search reads no candidate again
    await store(database, record("x", *market), record("y", *central_bank))
    assert keys(await find(database, "降准")) == ["y", "x"]
    assert len(tokenized) == 4


async def test_what_a_writer_scored_is_kept_as_the_store_would_read_it(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records that carry their scored text (the bot's ingest) are searched without reading or
    tokenizing it again, and score exactly as when it is read from the store."""
    async with database.session() as session:
        scheme = index_scheme(session)
    digest_only = replace(
        record("digest", "央行降准的摘要", ""), paragraphs=[], digest="央行降准０．５个百分点。"
    )
    records = [
        record("long", "央行" + "长" * 400, "正文" + "央行降准。" * 600),
        record("mixed", "ＡＢＣ银行与5G央行", "A股：央行 降准\n小标题\n第二段说央行。"),
        digest_only,
        record("plain", "市场综述", f"{FILLER}央行宣布降准。"),
    ]
    scored = [with_derived(r, scheme, scored=True) for r in records]
    SCORED_TEXTS._texts.clear()
    tokenized = scored_titles(monkeypatch)
    await store(database, *scored)
    kept = dict(SCORED_TEXTS._texts)
    assert len(kept) == len(records)
    warm = [(hit.article.key, hit.score) for hit in await find(database, "央行")]
    assert len(warm) == len(records) and tokenized == []

    SCORED_TEXTS._texts.clear()
    cold = [(hit.article.key, hit.score) for hit in await find(database, "央行")]
    assert len(tokenized) == len(records)
    assert cold == warm
    assert dict(SCORED_TEXTS._texts) == kept


def test_a_range_read_through_the_index_is_priced_by_the_partitions_it_spans() -> None:
    """Migration 0014's partitions bound what a read of the newest ids opens: at 1M posts a
    prefix's lists cover the newest partition's 16,961 ids, not the store's million."""
    assert _partitioned_ids(994_265, 999_745, 1_000_000) == 1_000_001 - 15 * 65_536
    assert _partitioned_ids(65_000, 66_000, 100_000) == 100_001  # p0 and p1
    assert _partitioned_ids(70_000, 80_000, 100_000) == 100_001 - 65_536
    assert _partitioned_ids(0, 10, 10) == 11
