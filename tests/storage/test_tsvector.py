"""The index documents PostgreSQL stores are built by the ingest (`storage.tsvector`), and are
exactly what the server's own `to_tsvector` statement makes of the same tokens."""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.ingest.parser import parse_post
from storage import pg_bulk
from storage.db import Database
from storage.derive import index_tokens
from storage.records import body_text
from storage.tokenizer import BAG
from storage.tsvector import MAX_POSITION, document_vector, vector_text

SERVER_DOCUMENT = (
    "setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B')"
)


def places_of(vector: bytes, lexeme: str) -> list[str]:
    for entry in vector_text(vector).split(" "):
        word, _, places = entry.rpartition(":")
        if word == f"'{lexeme}'":
            return places.split(",")
    raise AssertionError(f"{lexeme} is not in the document")


def test_each_token_is_a_lexeme_at_its_place_the_body_after_the_title() -> None:
    vector = document_vector(["中国", "国人"], ["中国", "经济", "a股"])
    assert vector_text(vector) == "'a股':5B '中国':1A,3B '国人':2A '经济':4B"


def test_a_lexeme_keeps_255_places_of_one_text_and_256_in_all() -> None:
    assert len(places_of(document_vector([], ["股市"] * 300), "股市")) == 255
    both = places_of(document_vector(["股市"] * 200, ["股市"] * 100), "股市")
    assert len(both) == 256
    assert both[199:201] == ["200A", "201B"]


def test_places_past_16383_count_as_16383_and_end_the_lexeme() -> None:
    tokens = [*(f"u{n}" for n in range(MAX_POSITION - 3)), *["w0"] * 6]
    assert places_of(document_vector([], tokens), "w0") == ["16381B", "16382B", "16383B"]
    title = ["标题"] * 10
    both = places_of(document_vector(title, [*["x"] * MAX_POSITION, "标题", "标题"]), "标题")
    assert both == [f"{n}A" for n in range(1, 11)] + ["16383B"]


def test_an_empty_title_or_body_makes_a_document_of_the_other() -> None:
    assert vector_text(document_vector([], [])) == ""
    assert vector_text(document_vector(["新闻"], [])) == "'新闻':1A"
    assert vector_text(document_vector([], ["新闻"])) == "'新闻':1B"


EDGE_CASES = [
    ([], []),
    (["新闻"], []),
    ([], ["a", "b", "a"]),
    (["股市"] * 300, ["股市"] * 300),
    (["股市"] * 100, ["股市"] * 200),
    ([], [f"w{n % 7}" for n in range(MAX_POSITION + 500)]),
    (["标题"] * 10, [*["x"] * MAX_POSITION, "标题", "标题"]),
    ([f"t{n}" for n in range(MAX_POSITION + 2)], ["t1", "b"]),
]


@pytest.mark.postgres
async def test_the_server_makes_the_same_documents_of_the_same_tokens(
    postgres_database: Database, corpus_files: list[Path]
) -> None:
    cases = list(EDGE_CASES)
    for path in corpus_files:
        try:
            post = parse_post(
                path.read_text(encoding="utf-8"), path.name, tz=ZoneInfo("Asia/Shanghai")
            )
        except ValueError:
            continue
        cases.append(index_tokens(post.title, body_text(post.paragraphs, post.digest), BAG))
    async with postgres_database.session() as session, session.begin():
        conn = await pg_bulk.driver_connection(session)
        await conn.execute("CREATE TEMPORARY TABLE built (n bigint, document tsvector)")
        rows = [(n, document_vector(title, body)) for n, (title, body) in enumerate(cases)]
        await conn.copy_to_table(
            "built",
            source=io.BytesIO(pg_bulk.documents_copy(rows)),
            columns=("n", "document"),
            format="binary",
        )
        differ = [
            row["n"]
            for n, (title, body) in enumerate(cases)
            for row in [
                await conn.fetchrow(
                    f"SELECT n, document = {SERVER_DOCUMENT} AS same FROM built WHERE n = $1",
                    n,
                    " ".join(title),
                    " ".join(body),
                )
            ]
            if not row["same"]
        ]
    assert len(cases) > 150
    assert differ == []
