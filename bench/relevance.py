"""Graded relevance of `/search` on the corpus: nDCG@5 per backend, against bm25 in the same run.

    .venv/bin/python bench/relevance.py [--backend sqlite|postgresql|both]

The judgments below were made by reading the corpus posts (../shared/corpus/finews) that hold
each query's text: 2 = the query is the article's subject (it is in the title, or the lead is
about it), 1 = the article mentions it, 0 (left out) = it does not, or only as part of another
word. Keys are article keys; two feeds' copies of one story count as one story (its best grade).

Each backend's store is built from the corpus through the ingest pipeline, then every query runs
through `storage.search.search` (ours: candidates, then the score of `storage.ranking`) and
through `search_reference.search_sql` (the former one-statement bm25 / `ts_rank_cd` ranking) as
the baseline.
nDCG@5 uses gain 2^grade - 1 and the ideal order of the judged stories.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.search_reference import search_sql  # noqa: E402
from bot.ingest.pipeline import ingest  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Article  # noqa: E402
from storage.search import SearchFilters, backend_for, search  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "finews"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CUTOFF = 5
TARGET = 0.9

# query -> {article key: grade}; kind in KINDS
JUDGMENTS: dict[str, dict[str, int]] = {
    # names of places, people, companies
    "韶关": {"NW202204202349852762": 2},
    "冈拉克": {"202112082206891482": 2, "202112082206960440": 2},
    "马斯克": {"202112082207111929": 2},
    "郭明錤": {"202112082207073610": 2, "202205312398034850": 1},
    "段永平": {"202112082206934693": 2},
    "海伦司": {"202112082206747356": 2, "202112082206826055": 2},
    "欧菲光": {
        "202112082206779752": 2,
        "202112082206796814": 2,
        "202112082206805832": 1,
        "202112082206950487": 1,
    },
    "中国铝业": {"202112082207059752": 2, "202112082207063824": 2, "202112082207090389": 2},
    "港交所": {"202112082206736819": 2, "202112082206808923": 2, "202112082206896686": 1},
    "沙县小吃": {"202112082207166310": 2},
    "潍柴动力": {"NW202202112274017262": 2},
    "蔚来": {"202205262391921712": 2},
    "特斯拉": {
        "202112082206718253": 2,
        "202112082206885586": 1,
        "202112082206890958": 1,
        "202112082206891339": 1,
    },
    "高盛": {
        "202112082206793370": 2,
        "202112082206896791": 2,
        "202112082206934992": 2,
        "202112082206949211": 2,
    },
    "阿里巴巴": {
        "202112082206794293": 2,
        "202112082206885694": 2,
        "202112082206885586": 1,
        "NW202205292395438077": 1,
        "202205302396671645": 1,
    },
    "腾讯": {
        "202112082206727327": 2,
        "202112082206885586": 1,
        "NW202205292395438077": 1,
        "202205302396671645": 1,
    },
    "长城汽车": {
        "202112082206864571": 2,
        "202112082206876726": 2,
        "202112082207152228": 2,
        "202112082206891293": 1,
    },
    "比亚迪": {
        "202112082206891293": 2,
        "202112082206885586": 2,
        "202112082206885694": 2,
        "202112082206885192": 1,
        "202112082206805832": 1,
        "202112082206864571": 1,
        "202112082207058923": 1,
    },
    "英特尔": {"202112082206897139": 2, "202112082207152228": 1},
    "拼多多": {"202112082206934693": 2, "202205302396671645": 1},
    # stock codes
    "600519": {"202112082206736335": 2},
    "09988.HK": {"202112082206794293": 2},
    "00388": {"202112082206736819": 2},
    "1579.HK": {"202112082206807620": 2},
    # one- and two-character words
    "央行": {
        "202112082206907291": 2,
        "202112082207158876": 2,
        "202205302396506117": 2,
        "202205302396671291": 2,
        "202112082207151155": 1,
    },
    "降准": {"202112082207151155": 2, "NW202205292395438077": 1},
    "银行": {
        "202112082206882458": 2,
        "202112082206891068": 2,
        "202112082207159489": 2,
        "202112082206921532": 1,
        "202201072239307540": 1,
        "NW202205252390829633": 1,
        "NW202205292395438077": 1,
        "202205302396506117": 1,
    },
    "生猪": {
        "202112082206736549": 2,
        "202112082207159912": 2,
        "202112082207154789": 2,
        "202112082207123189": 1,
    },
    "纯碱": {"202112082206765596": 2, "202112082207123189": 2},
    "猪": {
        "202112082206736549": 2,
        "202112082207159912": 2,
        "202112082207154789": 2,
        "202112082206884365": 1,
        "202112082207123189": 1,
    },
    "镓": {"202112082207063824": 2},
    "锂电": {
        "202112082206769714": 2,
        "202112082207031593": 2,
        "202112082207058923": 2,
        "202112082206945215": 2,
        "202112082206935918": 1,
    },
    "军工": {
        "202112082206907056": 2,
        "202112082206934582": 2,
        "202112082206935918": 2,
        "202112082206945215": 2,
    },
    "白酒": {
        "202112082206736335": 2,
        "202112082206935918": 2,
        "202112082206836078": 2,
        "202112082206907056": 1,
    },
    # Latin letters and digits with Chinese
    "5G": {
        "202112082206756112": 2,
        "202112082207157777": 2,
        "202112082206768417": 1,
        "202112082206935178": 1,
        "NW202204202349852762": 1,
        "202205302396506117": 1,
    },
    "Shibor": {"202112082206782366": 2},
    "WTI原油": {"202112082207158283": 2},
    # words and several words (AND-ed)
    "北向资金": {
        "202112082206742097": 2,
        "202112082206757673": 2,
        "202112082206761079": 2,
        "202112082206777086": 2,
        "202112082207020388": 2,
        "202112082207122266": 2,
    },
    "离岸人民币": {
        "202112082206672930": 2,
        "202112082206781916": 2,
        "202112082206799679": 2,
        "202112082206934582": 2,
    },
    "苹果 概念股": {
        "202112082206805832": 2,
        "202112082206885586": 2,
        "202112082206885694": 2,
        "202112082207127271": 2,
        "202205312398034850": 1,
    },
    "债务上限": {
        "202112082206735022": 2,
        "202112082206736198": 2,
        "202112082206882385": 2,
        "202112082207157132": 2,
    },
    "元宇宙": {
        "202112082206950487": 2,
        "202112082207025439": 2,
        "202112082207073610": 2,
        "202112082206885586": 1,
    },
    "南向资金": {"202112082207150622": 2},
    "数据中心": {
        "202112082206756112": 2,
        "202112082206768417": 2,
        "NW202204202349852762": 1,
        "202205302396506117": 1,
        "202205312398034850": 1,
    },
    "半导体 法案": {"202112082206896571": 2, "202112082206936037": 2},
    "人民币 美元": {
        "202112082206672930": 2,
        "202112082206748961": 2,
        "202112082206781916": 2,
        "202112082206799679": 2,
        "202112082206778173": 2,
    },
    "美联储": {
        "202112082206891482": 2,
        "202112082206960440": 2,
        "202112082207156684": 2,
        "202112082206808923": 1,
        "202112082206882458": 1,
        "202112082206949211": 1,
    },
}


def dcg(grades: list[int]) -> float:
    return sum((2**grade - 1) / math.log2(place + 2) for place, grade in enumerate(grades))


def ndcg(shown: list[int], judged: dict[int, int], cutoff: int = CUTOFF) -> float:
    """nDCG@cutoff of the stories shown, given each judged story's grade."""
    ideal = dcg(sorted(judged.values(), reverse=True)[:cutoff])
    if ideal == 0:
        return 1.0 if not shown else 0.0
    return dcg([judged.get(story, 0) for story in shown[:cutoff]]) / ideal


async def evaluate(db: Database) -> dict[str, Any]:
    async with db.session() as session:
        story_of = {
            key: story or 0
            for key, story in await session.execute(select(Article.key, Article.story_id))
        }
        id_story = {
            id_: story or id_
            for id_, story in await session.execute(select(Article.id, Article.story_id))
        }
        backend = backend_for(session)
        ours: dict[str, float] = {}
        bm25: dict[str, float] = {}
        for query, grades in JUDGMENTS.items():
            judged: dict[int, int] = {}
            for key, grade in grades.items():
                story = story_of[key]
                judged[story] = max(grade, judged.get(story, 0))
            hits = await search(session, query, limit=CUTOFF)
            ours[query] = ndcg([story_of[hit.article.key] for hit in hits], judged)
            sql, params = search_sql(
                backend, backend.scheme.query(query), SearchFilters(), limit=CUTOFF, offset=0
            )
            rows = (await session.execute(text(sql), params)).all()
            bm25[query] = ndcg([id_story[row.id] for row in rows], judged)
    return {
        "ndcg@5": round(sum(ours.values()) / len(ours), 4),
        "bm25_ndcg@5": round(sum(bm25.values()) / len(bm25), 4),
        "queries": len(ours),
        "below_0.8": {q: round(v, 3) for q, v in ours.items() if v < 0.8},
    }


async def corpus_store(backend: str, folder: Path) -> tuple[Database, str | None]:
    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{folder / 'relevance.db'}")
        schema = None
    else:
        import asyncpg  # type: ignore[import-untyped]

        schema = f"relevance_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.close()
        db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    await db.upgrade()
    report = await ingest(db, [str(CORPUS)], settings=load_settings())
    if report.failed:
        raise RuntimeError(f"corpus ingest failed: {report.failed}")
    return db, schema


async def run_backend(backend: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        db, schema = await corpus_store(backend, Path(folder))
        try:
            return await evaluate(db)
        finally:
            await db.dispose()
            if schema:
                import asyncpg

                conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                await conn.close()


async def run(backends: list[str]) -> dict[str, Any]:
    return {backend: await run_backend(backend) for backend in backends}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(json.dumps(asyncio.run(run(backends)), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
