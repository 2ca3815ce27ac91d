"""Walk every stored article in id order, a batch at a time, for whole-store rebuilds."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Article


async def article_batches(session: AsyncSession, batch_size: int) -> AsyncIterator[list[Article]]:
    """Each batch is expunged once the caller is done with it, so memory stays flat on a
    store of any size; flush anything the caller changed before asking for the next one."""
    after = 0
    while True:
        batch = list(
            await session.scalars(
                select(Article).where(Article.id > after).order_by(Article.id).limit(batch_size)
            )
        )
        if not batch:
            return
        yield batch
        after = batch[-1].id
        session.expunge_all()
