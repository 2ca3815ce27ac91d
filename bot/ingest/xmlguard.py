"""Refuse feeds that declare XML entities (billion laughs, XXE) and entries that still carry an
entity reference nothing expanded (a title of ``&lol9;`` is not news)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

UNEXPANDED_ENTITY = re.compile(r"&[A-Za-z_][\w.-]*;")


def entity_problem(body: bytes) -> str | None:
    """Why a feed document is refused for its DTD, or None.

    defusedxml's parser stops at the first entity declaration or external reference instead of
    expanding it; a feed that is merely malformed is left to feedparser's tolerance.
    """
    if b"<!" not in body:
        return None
    import defusedxml
    from defusedxml.ElementTree import fromstring

    try:
        fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        return f"refused: the feed declares XML entities or external references ({exc})"
    except Exception:  # malformed XML is feedparser's to judge, not a security problem
        return None
    return None


def unexpanded_entity(entry: Mapping[str, Any]) -> str | None:
    """The first entity reference left in an entry's title or text, or None."""
    fields = [entry.get("title")]
    fields += [content.get("value") for content in entry.get("content") or []]
    fields.append(entry.get("summary"))
    for value in fields:
        if not isinstance(value, str) or "&" not in value:
            continue
        # One round of HTML unescaping is what the parser does; what survives was never defined.
        found = UNEXPANDED_ENTITY.search(html.unescape(value))
        if found:
            return found.group(0)
    return None
