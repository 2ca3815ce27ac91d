"""Shared set-up of the store, search and ingest tests: records, posts and the demo viewers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.ingest.parser import parse_post
from bot.ingest.pipeline import to_record
from bot.services.replies import Viewer
from storage.db import Database
from storage.records import ArticleRecord
from storage.repository import ArticleRepository

BASE = datetime(2022, 4, 20, 6, 0, tzinfo=UTC)
DAY = datetime(2023, 5, 10, 9, 30, tzinfo=UTC)
FILLER = "市场人士普遍认为后续走势仍有待观察，投资者需关注政策变化与资金流向。"
DEMO_DIR = Path(__file__).resolve().parent.parent / "bot" / "demo"
PRIVATE = Viewer(user_id=1, lang="zh")
GROUP = Viewer(user_id=1, lang="zh", in_group=True)


def record(
    n: int, *, category: str = "kejiribao", tags: tuple[str, ...] = ("科技日报新闻",)
) -> ArticleRecord:
    return ArticleRecord(
        key=f"2022042000000000{n:02d}",
        title=f"第{n}条新闻",
        published_at=BASE + timedelta(hours=n),
        category=category,
        tags=tags,
        source="科技日报",
        digest=None,
        paragraphs=[(f"正文第{n}段。", False), ("小标题", True)],
        summary=f"正文第{n}段。",
        summary_version=1,
        share_url=f"http://example.org/share?infoCode={n}",
        file=f"2022-04-20-{n}.md",
        content_hash=f"hash-{n}",
    )


async def upsert(database: Database, records: list[ArticleRecord]) -> list[str]:
    async with database.session() as session, session.begin():
        outcomes = await ArticleRepository(session).upsert_many(records)
    return [o.status for o in outcomes]


def text_record(
    key: str,
    title: str,
    body: str = FILLER,
    *,
    published: datetime = DAY,
    category: str = "emnews",
    tags: tuple[str, ...] = ("东财滚动",),
    source: str | None = None,
) -> ArticleRecord:
    return ArticleRecord(
        key=key,
        title=title,
        published_at=published,
        category=category,
        tags=tags,
        source=source,
        digest=None,
        paragraphs=[(paragraph, False) for paragraph in body.split("\n")],
        summary=body[:40],
        summary_version=1,
        share_url=None,
        file=None,
        content_hash=hashlib.sha256(f"{title}|{body}|{published}".encode()).hexdigest(),
    )


async def store(database: Database, *records: ArticleRecord) -> None:
    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many(list(records))


GOOD_POST = """---
layout: post
title: "测试新闻：{title}"
date: 2023-05-0{day} 09:30:00 +0800
categories: testnews
tags: 测试新闻
---
<p>{title}是一条为测试而写的新闻。它有两句话。</p>
<p>第二段说明更多细节，数字是3.5%。</p><p class="em_media">（文章来源：测试日报）</p>

<http://example.org/html_News/NewsShare.html?infoCode=NW20230501000000000{day}>

[返回测试新闻](//example.org/testnews/)｜[返回首页](//example.org/)
"""


def write_good_posts(folder: Path, count: int = 3) -> list[Path]:
    paths = []
    for day in range(1, count + 1):
        path = folder / f"2023-05-0{day}-NW20230501000000000{day}.md"
        path.write_text(GOOD_POST.format(title=f"好消息{day}", day=day), encoding="utf-8")
        paths.append(path)
    return paths


def good_posts(folder: Path, count: int) -> list[str]:
    """`count` distinct good posts; returns their keys."""
    keys = []
    for number in range(1, count + 1):
        key = f"NW2023050{number % 9 + 1}{number:011d}"
        text = GOOD_POST.format(title=f"好消息{number}", day=number % 9 + 1).replace(
            "NW202305010000000000" + str(number % 9 + 1), key
        )
        (folder / f"2023-05-0{number % 9 + 1}-{key}.md").write_text(text, encoding="utf-8")
        keys.append(key)
    return keys


def records_of(folder: Path) -> list[ArticleRecord]:
    return [
        to_record(parse_post(path.read_text("utf-8"), path.name, tz=ZoneInfo("Asia/Shanghai")))
        for path in sorted(folder.glob("*.md"))
    ]
