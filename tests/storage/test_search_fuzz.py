"""Any text typed into search is just text: it never raises and never trips the SQL."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import store
from store_support import text_record as record

from storage.db import Database
from storage.search import SearchFilters, search

SYNTAX = st.sampled_from(
    ['"', "'", "*", "-", "(", ")", ":", "\\", "^", "&", "|", "!", "<->", "NEAR", "AND", "OR",
     "NOT", "央行", "a股", "5G", " ", "\x00", "%", "_", ";", "--", "{", "}", "+"]
)  # fmt: skip
QUERIES = st.one_of(st.text(max_size=60), st.lists(SYNTAX, max_size=12).map("".join))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=QUERIES)
async def test_arbitrary_queries_never_raise(database: Database, query: str) -> None:
    await store(  # the same record every time: stored once, unchanged after
        database, record("pboc", "央行宣布降准", 'A股 5G NEAR "quoted" (paren) back\\slash 50%')
    )
    async with database.session() as session:
        hits = await search(session, query, SearchFilters(category="emnews"), limit=5)
    assert all(hit.article.key == "pboc" for hit in hits)
