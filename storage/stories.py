"""Story ids for written articles: each new article joins the story of its nearest earlier
near-duplicate (see `storage.dedup` for the fingerprint and its bands), else starts its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dedup import BANDS, MAX_DISTANCE, bands, distance, to_signed
from storage.dedup import fingerprint as text_fingerprint
from storage.models import Article, article_bands
from storage.records import body_text
from storage.scan import article_batches


@dataclass(frozen=True, slots=True)
class _Fingerprinted:
    id: int
    story_id: int
    fingerprint: int


class _BandIndex:
    """Fingerprints in memory, looked up by band like `article_bands` in the store."""

    def __init__(self) -> None:
        self._by_band: dict[tuple[int, int], list[_Fingerprinted]] = defaultdict(list)

    def add(self, item: _Fingerprinted) -> None:
        for key in enumerate(bands(item.fingerprint)):
            self._by_band[key].append(item)

    def sharing_a_band(self, fingerprint: int) -> list[_Fingerprinted]:
        found = {}
        for key in enumerate(bands(fingerprint)):
            for item in self._by_band.get(key, ()):
                found[item.id] = item
        return list(found.values())


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """An article just written: `story_id` is its current story (None when new)."""

    id: int
    fingerprint: int
    story_id: int | None
    first_seen: bool


async def place_in_stories(
    session: AsyncSession, articles: Sequence[StoryCandidate]
) -> dict[int, int]:
    """The story id of each article, and their bands written.

    Only an article fingerprinted for the first time can join a story, so updating a post never
    moves it, nor the articles that joined its story.
    """
    stories = await assign_stories(session, articles)
    if articles:
        await session.execute(insert(article_bands), band_rows(articles))
    return stories


async def assign_stories(
    session: AsyncSession, articles: Sequence[StoryCandidate]
) -> dict[int, int]:
    """`place_in_stories` without writing the new band rows (the old ones of these articles are
    gone): a writer that inserts the articles after placing them writes `band_rows` itself."""
    if not articles:
        return {}
    seen_before = [a.id for a in articles if not a.first_seen]
    if seen_before:
        await session.execute(
            delete(article_bands).where(article_bands.c.article_id.in_(seen_before))
        )
    known = _BandIndex()
    for stored in await _stored_neighbours(session, articles):
        known.add(stored)
    stories: dict[int, int] = {}
    for article in sorted(articles, key=lambda a: a.id):
        story = article.story_id or article.id
        if article.first_seen and story == article.id:
            story = (
                _nearest(article.id, article.fingerprint, known.sharing_a_band(article.fingerprint))
                or story
            )
        stories[article.id] = story
        known.add(_Fingerprinted(article.id, story, article.fingerprint))
    return stories


def band_rows(articles: Sequence[StoryCandidate]) -> list[dict[str, int]]:
    return [
        {"band": band, "value": value, "article_id": a.id, "fingerprint": a.fingerprint}
        for a in articles
        for band, value in enumerate(bands(a.fingerprint))
    ]


async def rebuild_stories(session: AsyncSession, batch_size: int = 500) -> int:
    """Recompute every fingerprint and story from scratch, oldest article first."""
    await session.execute(delete(article_bands))
    done = 0
    async for batch in article_batches(session, batch_size):
        fingerprints = {
            a.id: to_signed(text_fingerprint(f"{a.title}\n{body_text(a.paragraphs, a.digest)}"))
            for a in batch
        }
        stories = await place_in_stories(
            session, [StoryCandidate(a.id, fingerprints[a.id], None, True) for a in batch]
        )
        for article in batch:
            article.fingerprint = fingerprints[article.id]
            article.story_id = stories[article.id]
        await session.flush()
        done += len(batch)
    return done


def _nearest(article_id: int, fingerprint: int, others: Sequence[_Fingerprinted]) -> int | None:
    """The story of the closest earlier article within `MAX_DISTANCE` bits, if any."""
    best: tuple[int, int] | None = None
    for other in others:
        if other.id >= article_id:
            continue
        gap = distance(fingerprint, other.fingerprint)
        if gap <= MAX_DISTANCE and (best is None or gap < best[0]):
            best = (gap, other.story_id)
    return best[1] if best else None


async def _stored_neighbours(
    session: AsyncSession, articles: Sequence[StoryCandidate]
) -> list[_Fingerprinted]:
    """The stored articles (but these) within `MAX_DISTANCE` of any of them, found from the
    band rows alone; only those, the ones an article can join, have their story read.

    A band value is shared by about one stored article in 65,536 per band, so a batch gets
    back a number of rows that grows with the store (some 12,000 per 200 articles at 1M): each
    row is only compared with the articles of the batch that have its band value.
    """
    by_band: dict[tuple[int, int], list[StoryCandidate]] = defaultdict(list)
    for article in articles:
        for key in enumerate(bands(article.fingerprint)):
            by_band[key].append(article)
    values: list[set[int]] = [set() for _ in range(BANDS)]
    for band, value in by_band:
        values[band].add(value)
    rows = await session.execute(
        select(
            article_bands.c.band,
            article_bands.c.value,
            article_bands.c.article_id,
            article_bands.c.fingerprint,
        )
        .where(
            or_(
                *(
                    and_(article_bands.c.band == band, article_bands.c.value.in_(sorted(wanted)))
                    for band, wanted in enumerate(values)
                )
            )
        )
        .where(article_bands.c.article_id.not_in([a.id for a in articles]))
    )
    near: dict[int, int] = {}
    for band, value, id_, fingerprint in rows:
        if id_ not in near and any(
            distance(article.fingerprint, fingerprint) <= MAX_DISTANCE
            for article in by_band.get((band, value), ())
        ):
            near[id_] = fingerprint
    if not near:
        return []
    stories = await session.execute(
        select(Article.id, Article.story_id).where(Article.id.in_(near))
    )
    return [_Fingerprinted(id_, story_id or id_, near[id_]) for id_, story_id in stories]
