"""Near-duplicate stories: SimHash fingerprints, their bands, and stories over the real corpus."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sqlalchemy import select

from bot.ingest.parser import parse_post
from bot.ingest.pipeline import ingest
from bot.settings import load_settings
from storage.db import Database
from storage.dedup import (
    BANDS,
    MAX_DISTANCE,
    _shingles,
    bands,
    distance,
    fingerprint,
    to_signed,
    to_unsigned,
)
from storage.models import Article
from storage.records import ArticleRecord
from storage.repository import ArticleRepository

STORY = (
    "资管新规刚刚迈入落地元年，去年在资管圈风靡了一年的雪球结构产品就再次迎来强监管。"
    "部分涉及衍生品业务的信托公司收到监管窗口指导，暂停涉及雪球类券商收益凭证产品的发行。"
    "上海某头部券商已经紧急下发通知，信托公司暂停发行雪球类信托计划产品，从即日起暂停代销。"
    "北京一家大型券商的衍生品部从业人员也称，周三确实听到了风声，没有完全确定消息是否确切。"
    "对于此次监管，有业内人士点评称，今年是资管新规落地元年，本质上还是打破刚性兑付。"
    "之前有信托把雪球产品当成类固收、理财替代来宣传，但实际上雪球并非保本产品，随着市场下跌"
    "随时有敲入风险。回顾监管的动态，此次叫停信托公司雪球类产品的发行也似乎有迹可循。"
    "记者从业内获悉，去年九月份，上海地区监管部门窗口指导了辖区的信托公司，要求停止向自然人"
    "销售雪球产品。该人士还称，监管未来可能还是倾向于控制零售客户购买雪球的情况。"
)
OTHER = (
    "国家统计局今天公布数据，十一月份全国居民消费价格同比上涨百分之二点三，环比下降。"
    "其中城市上涨二点三，农村上涨二点二；食品价格上涨，非食品价格上涨，服务价格持平。"
)


def test_the_same_text_has_the_same_fingerprint_whatever_the_markup() -> None:
    assert fingerprint(STORY) == fingerprint(STORY)
    assert fingerprint(STORY) == fingerprint(STORY.replace("，", ", ").replace("。", "\n"))


def test_a_lightly_edited_copy_is_near_and_another_article_is_far() -> None:
    edited = STORY.replace("上海某头部券商", "沪上某大型券商") + "（文章来源：券商中国）"
    assert distance(fingerprint(STORY), fingerprint(edited)) <= MAX_DISTANCE
    assert distance(fingerprint(STORY), fingerprint(OTHER)) > 3 * MAX_DISTANCE


def test_empty_and_tiny_texts_still_get_a_fingerprint() -> None:
    assert fingerprint("") == 0
    assert fingerprint("涨") == fingerprint("涨")


@given(st.integers(0, (1 << 64) - 1))
def test_fingerprints_survive_the_signed_column(fingerprint: int) -> None:
    signed = to_signed(fingerprint)
    assert -(1 << 63) <= signed < 1 << 63
    assert to_unsigned(signed) == fingerprint
    assert bands(signed) == bands(fingerprint)


@given(st.integers(0, (1 << 64) - 1), st.sets(st.integers(0, 63), max_size=MAX_DISTANCE))
def test_near_fingerprints_always_share_a_band(fingerprint: int, flipped: set[int]) -> None:
    """The pigeonhole promise the band lookup rests on."""
    other = fingerprint
    for bit in flipped:
        other ^= 1 << bit
    assert distance(fingerprint, other) == len(flipped)
    assert any(a == b for a, b in zip(bands(fingerprint), bands(other), strict=True))
    assert len(bands(fingerprint)) == BANDS


def _headline(title: str) -> str:
    return re.sub(r"[\W_]+", "", title)


async def test_the_corpus_groups_copies_into_stories_and_nothing_else(
    database: Database, corpus_dir: Path
) -> None:
    report = await ingest(database, [str(corpus_dir)], settings=load_settings())
    assert report.added > 100
    async with database.session() as session:
        rows = (await session.execute(select(Article.key, Article.title, Article.story_id))).all()
        latest = await ArticleRepository(session).latest(limit=1000)
    stories: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for key, title, story_id in rows:
        stories[story_id].append((key, title))
    by_key = {key: story_id for key, _, story_id in rows}

    assert by_key["202201072239307540"] == by_key["NW202201072239307540"]
    merged = [members for members in stories.values() if len(members) > 1]
    assert merged, "the corpus has copies of one story in two feeds"
    for members in merged:
        assert len({_headline(title) for _, title in members}) == 1, members
    assert len(stories) == len({_headline(title) for _, title, _ in rows})

    shown = [a.key for a in latest]
    assert len(shown) == len(stories)
    assert not {"202201072239307540", "NW202201072239307540"} <= set(shown)


def _record(key: str, title: str, body: str, feed: str) -> ArticleRecord:
    return ArticleRecord(
        key=key,
        title=title,
        published_at=datetime(2023, 5, 1, 9, 30, tzinfo=UTC),
        category=feed,
        tags=(),
        source=None,
        digest=None,
        paragraphs=[(body, False)],
        summary="",
        summary_version=0,
        share_url=None,
        file=None,
        content_hash=hashlib.sha256(f"{title}{body}".encode()).hexdigest(),
    )


async def _stories(database: Database) -> dict[str, int | None]:
    async with database.session() as session:
        return {k: s for k, s in await session.execute(select(Article.key, Article.story_id))}


async def test_copies_join_one_story_and_an_update_moves_nothing(database: Database) -> None:
    first = _record("a", "雪球产品再迎强监管", STORY, "emnews")
    copy = _record("b", "雪球产品再迎强监管", STORY + "（文章来源：券商中国）", "quanshangzhongguo")
    other = _record("c", "居民消费价格上涨", OTHER, "emnews")
    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many([first])
    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many([copy, other])
    stories = await _stories(database)
    assert stories["a"] == stories["b"] != stories["c"]

    rewritten = _record("a", "雪球产品再迎强监管", OTHER, "emnews")
    async with database.session() as session, session.begin():
        outcomes = await ArticleRepository(session).upsert_many([rewritten])
    assert [o.status for o in outcomes] == ["updated"]
    assert await _stories(database) == stories


# --- the reference: the first implementation, whose fingerprints the store holds -------------


def _ref_mix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def reference_shingle_hashes(text: str) -> NDArray[np.uint64]:
    normalized = unicodedata.normalize("NFKC", text).lower()
    chars = re.sub(r"[\W_]+", "", normalized)
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size == 0:
        return np.zeros(0, dtype=np.uint64)
    width = min(4, codes.size)
    count = codes.size - width + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        hashes = hashes * np.uint64(0x100000001B3) + codes[offset : offset + count]
    return np.unique(hashes)


def reference_fingerprint(text: str) -> int:
    hashes = _ref_mix(reference_shingle_hashes(text))
    if hashes.size == 0:
        return 0
    bins = (hashes >> np.uint64(58)).astype(np.intp)
    minima = np.full(64, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(minima, bins, hashes & np.uint64((1 << 58) - 1))
    filled = np.flatnonzero(minima != np.iinfo(np.uint64).max)
    source = filled[np.searchsorted(filled, np.arange(64)) % filled.size]
    bits = (_ref_mix(minima[source] ^ np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(
        np.uint8
    )
    return int(np.packbits(bits, bitorder="little").view("<u8")[0])


def _assert_reference_fingerprint(text: str) -> None:
    assert fingerprint(text) == reference_fingerprint(text), text
    distinct = np.unique(_shingles(text))
    assert np.array_equal(distinct, reference_shingle_hashes(text)), text
    assert distinct.dtype == np.uint64


def test_the_whole_corpus_keeps_its_reference_fingerprints(corpus_files: list[Path]) -> None:
    """Stored fingerprints and bands were made by the reference: they must come out bit for bit."""
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        post = parse_post(text, path.name, tz=ZoneInfo("Asia/Shanghai"))
        body = "\n".join(p.text for p in post.paragraphs)
        for piece in (text, f"{post.title}\n{body}", post.title):
            _assert_reference_fingerprint(piece)


def test_short_texts_keep_their_reference_fingerprints() -> None:
    for text in ("", "。", "_", "a", "ab", "abc", "abcd", "涨", "A股", "Ａ１", STORY[:5], OTHER):
        _assert_reference_fingerprint(text)


_TEXT_PIECES = st.sampled_from(
    [*"资管新规雪球产品ab5Ｇ１，。_ \n", STORY[:40], "x" * 70, "\U00020000"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_TEXT_PIECES, st.text(max_size=8)), max_size=60).map("".join))
def test_any_text_keeps_its_reference_fingerprint(text: str) -> None:
    _assert_reference_fingerprint(text)
