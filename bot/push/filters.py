"""Which articles a subscription wants: categories, tags and keywords matched on tokens.

Keywords are compared as token sequences from the same tokenizer that indexes articles, so
a keyword matches when all of its tokens occur in the article; no regular expression is ever
built from user text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

Tokenize = Callable[[str], Iterable[str]]


def _fold(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.strip().casefold() for value in values if value.strip())


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """What a filter looks at in one article."""

    tokens: frozenset[str]
    category: str | None
    tags: frozenset[str]

    @classmethod
    def of(
        cls, text: str, category: str | None, tags: Iterable[str], tokenize: Tokenize
    ) -> ArticleFacts:
        return cls(
            tokens=_fold(tokenize(text)),
            category=category.casefold() if category else None,
            tags=_fold(tags),
        )


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """Empty parts match everything; include keywords are alternatives, excludes veto.

    Include keywords that yield no token at all (pure punctuation) match nothing, so such a
    list narrows to nothing rather than widening to everything.
    """

    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    include: tuple[frozenset[str], ...] = ()
    exclude: tuple[frozenset[str], ...] = ()
    wants_keywords: bool = False

    @classmethod
    def build(
        cls,
        *,
        categories: Iterable[str] = (),
        tags: Iterable[str] = (),
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        tokenize: Tokenize,
    ) -> SubscriptionFilter:
        include = [keyword for keyword in include if keyword.strip()]
        return cls(
            categories=_fold(categories),
            tags=_fold(tag.lstrip("#") for tag in tags),
            include=_keywords(include, tokenize),
            exclude=_keywords(exclude, tokenize),
            wants_keywords=bool(include),
        )

    def matches(self, article: ArticleFacts) -> bool:
        if self.categories and article.category not in self.categories:
            return False
        if self.tags and self.tags.isdisjoint(article.tags):
            return False
        if any(keyword <= article.tokens for keyword in self.exclude):
            return False
        if not self.wants_keywords:
            return True
        return any(keyword <= article.tokens for keyword in self.include)


def _keywords(keywords: Iterable[str], tokenize: Tokenize) -> tuple[frozenset[str], ...]:
    tokenized = (_fold(tokenize(keyword)) for keyword in keywords)
    return tuple(dict.fromkeys(tokens for tokens in tokenized if tokens))
