"""Parse one post of the Jekyll news site into plain values (no I/O)."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import yaml

from bot.ingest.html_text import Block, body_blocks, clean_text, markdown_text
from storage.dates import date_problem
from storage.records import ArticleRecord, content_hash

BOM = "\ufeff"
FRONT_MATTER_OPEN = "---"
FRONT_MATTER_CLOSE = ("---", "...")
ARTICLE_ID = re.compile(r"(?<![0-9A-Za-z])((?:NW)?(\d{16,20}))(?![0-9])")
FILE_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
POST_DATE = re.compile(
    r"^(?P<date>(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
# The share link is a Markdown autolink on a line of its own; an empty ``<>`` means none.
SHARE_LINE = re.compile(r"^<((?:https?:)?//[^<>\s]*)?>$", re.IGNORECASE)
# Every style of "back to the category / home page" line the site has used: one or more
# ``[返回…](…)`` links, alone or joined by ｜, with relative or absolute targets.
BACK_LINKS = re.compile(r"^(?:\[返回[^\]\n]*\]\([^)\s]*\)[\s｜|/·•]*)+$")
DIGEST_LINE = re.compile(r"^ {0,3}>")
DIGEST_MARK = re.compile(r"^ {0,3}> ?")
# The publisher's credit, on a line of its own or closing the last paragraph.
SOURCE_CREDIT = re.compile(r"[（(]\s*文章来源\s*[：:]\s*([^（()）]+?)\s*[）)]$")
PHOTO_CREDIT = re.compile(r"^(?:图片|照片|图)?(?:来源|源)\s*[：:]")
SOURCE_TAG_SUFFIX = "新闻"
SENTENCE = re.compile(r"^.+?[。！？!?]+[”’\"」』）)]*")
SENTENCE_END = frozenset("。！？!?；;")
NOT_HEADING_END = tuple("。！？!?；;：:，,、…)）")
NOT_BOLD_HEADING_END = tuple("。；;：:，,")
BOLD_HEADING_MAX = 50
PLAIN_HEADING_MAX = 30
CAPTION_MAX = 60
TITLE_MAX = 40
HASH_KEY_CHARS = 20
NAME_MAX = 200
"""The longest category, tag or source name: the store's column size."""
MAX_UNDECODABLE_SHARE = 0.05


class ParseError(ValueError):
    """The post cannot be read; the message says what is wrong and where."""


class Paragraph(NamedTuple):
    """One paragraph of a post: the (text, heading) pair `ArticleRecord.paragraphs` holds."""

    text: str
    heading: bool = False


class _FrontMatterLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML in which every plain scalar stays text.

    Jekyll dates such as ``2022-04-20 14:01:57 +0800`` are not YAML timestamps, and a title
    like ``2022`` or ``yes`` is still a title: reading all scalars as text lets the parser
    apply one set of rules to them.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


def parse_post(
    text: str,
    filename: str | None = None,
    *,
    tz: tzinfo,
    key_hint: str | None = None,
    now: datetime | None = None,
) -> ArticleRecord:
    """Read one post; dates without an offset are in ``tz``. Raises only ParseError.

    The key is the site's article id; failing that `key_hint` (a feed entry's guid), or
    else `stable_key` of the post's name and title, which every route can rebuild. The date
    must lie between 1970-01-01 and `now` (the clock) plus two days (`storage.dates`).
    """
    normalized = _normalize(text)
    _check_unicode(normalized)
    _reject_binary(normalized)
    lines = normalized.split("\n")
    opening, closing = _front_matter_bounds(lines)
    meta = _FrontMatter(_load_front_matter(lines, opening, closing), lines, opening)
    name = _base_name(filename)

    digest, body_lines = _take_digest(lines, closing + 1)
    share_url, body_lines = _take_links(body_lines)
    try:
        blocks = body_blocks("\n".join(body_lines))
    except RecursionError:
        raise ParseError("body: markup is nested too deeply to read") from None
    source, blocks = _take_source_and_captions(blocks)
    paragraphs = _paragraphs(blocks)

    title = meta.text("title")
    if not title:
        title = _first_sentence(paragraphs, digest)
    if not title:
        raise ParseError("post has no title and no body text")

    article_id = _article_id(name, share_url)
    tags = meta.tags()
    published_at = meta.published_at(name, article_id, tz)
    problem = date_problem(published_at, now)
    if problem:
        raise ParseError(f"date: line {meta.line_of('date')}: {problem}")
    source = source or _source_from_tags(tags)
    if source is not None and len(source) > NAME_MAX:
        raise ParseError(
            f"body: the source credit is {len(source)} characters, more than {NAME_MAX}"
        )
    post = ArticleRecord(
        key=article_id or key_hint or stable_key(name, title, published_at),
        title=title,
        published_at=published_at,
        category=meta.category(),
        tags=tags,
        source=source,
        digest=digest,
        paragraphs=paragraphs,
        summary="",
        summary_version=0,
        share_url=share_url,
        file=name,
        content_hash="",
    )
    return replace(post, content_hash=content_hash(post))


def stable_key(name: str | None, title: str, published_at: datetime) -> str:
    """A key for a post without an article id that the same post gives on every route.

    Not the text's hash (a feed or a page cannot rebuild the file's bytes) nor the time (a
    renderer may shift it): the file's slug and date (a Jekyll permalink holds both) and
    the title, or the title and the day when there is no file name.
    """
    stem = Path(name).stem if name else ""
    match = FILE_DATE.match(stem)
    if match:
        seed = f"slug:{stem[match.end() :]}\ndate:{stem[: match.end() - 1]}\ntitle:{title}"
    elif stem:
        seed = f"slug:{stem}\ntitle:{title}"
    else:
        seed = f"title:{title}\ndate:{published_at:%Y-%m-%d}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:HASH_KEY_CHARS]


def _normalize(text: str) -> str:
    """One spelling of the same post: no BOM, LF line ends, no trailing blank space."""
    if text.startswith(BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip()


def _check_unicode(normalized: str) -> None:
    try:
        normalized.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParseError(
            f"text: not valid Unicode (unpaired surrogate at character {exc.start})"
        ) from None


def _reject_binary(text: str) -> None:
    if not text.strip():
        raise ParseError("empty post: no front matter and no text")
    nul = text.find("\x00")
    if nul >= 0:
        raise ParseError(f"binary data: NUL byte on line {text.count(chr(10), 0, nul) + 1}")
    undecodable = text.count("\ufffd")
    if undecodable > MAX_UNDECODABLE_SHARE * len(text):
        raise ParseError(
            f"binary data: {undecodable} of {len(text)} characters could not be decoded as UTF-8"
        )


def _front_matter_bounds(lines: Sequence[str]) -> tuple[int, int]:
    """Line indexes of the opening and closing ``---``.

    A small line-based splitter rather than python-frontmatter: the site has posts with blank
    lines before the opening ``---`` and titles containing ``---``, only a line that is
    exactly ``---`` may delimit (python-frontmatter also takes ``----…`` lines, and naive
    splitting on the string ``---`` cuts such titles in half), a post without front matter
    must be an error rather than empty metadata, and errors must name file line numbers.
    """
    opening = next((i for i, line in enumerate(lines) if line.strip()), None)
    if opening is None:
        raise ParseError("empty post: no front matter and no text")
    if lines[opening].rstrip() != FRONT_MATTER_OPEN:
        raise ParseError(
            f"front matter: line {opening + 1}: expected '---' to open the front matter, "
            f"found {_what_line(lines[opening])}"
        )
    for index in range(opening + 1, len(lines)):
        if lines[index].rstrip() in FRONT_MATTER_CLOSE:
            return opening, index
    raise ParseError(
        f"front matter: line {opening + 1}: opened with '---' but no closing '---' line follows"
    )


def _load_front_matter(lines: Sequence[str], opening: int, closing: int) -> dict[str, Any]:
    header = "\n".join(lines[opening + 1 : closing])
    try:
        data = yaml.load(header, Loader=_FrontMatterLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {opening + 2 + mark.line}: " if mark is not None else ""
        problem = _unquoted(exc.problem or exc.context or "unreadable YAML")
        if exc.problem and exc.context and exc.context_mark is not None:
            context = _unquoted(exc.context)
            problem += f" ({context} on line {opening + 2 + exc.context_mark.line})"
        raise ParseError(f"front matter: {where}{problem}") from None
    except Exception as exc:
        # PyYAML's constructors can fail with anything (an explicit ``!!timestamp`` tag on a
        # non-date raises AttributeError inside PyYAML): every such failure is unreadable YAML.
        first_line = _unquoted(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        raise ParseError(f"front matter: line {opening + 2}: {first_line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParseError(
            f"front matter: line {opening + 2}: expected 'key: value' lines, "
            f"found a YAML {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items()}


class _FrontMatter(NamedTuple):
    """The front matter's values, and the file lines error messages point into."""

    values: dict[str, Any]
    lines: Sequence[str]
    opening: int

    def line_of(self, key: str) -> int:
        """The file line number where ``key:`` is set, for error messages."""
        prefix = key + ":"
        for index in range(self.opening + 1, len(self.lines)):
            if self.lines[index].startswith(prefix):
                return index + 1
            if self.lines[index].rstrip() in FRONT_MATTER_CLOSE:
                break
        return self.opening + 2

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            line = self.line_of(key)
            raise ParseError(f"front matter: line {line}: {key} must be text, not {_kind(value)}")
        return clean_text(html.unescape(value) if "&" in value else value)

    def text_list(self, keys: Sequence[str]) -> list[str]:
        """A field given as a space-separated string or a YAML list, as Jekyll reads it."""
        key = next((k for k in keys if self.values.get(k) is not None), None)
        if key is None:
            return []
        value = self.values[key]
        if isinstance(value, str):
            return [word for word in (clean_text(item) for item in value.split()) if word]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [word for word in (clean_text(item) for item in value) if word]
        raise ParseError(
            f"front matter: line {self.line_of(key)}: {key} must be text or a list of text, "
            f"not {_kind(value)}"
        )

    def category(self) -> str | None:
        categories = self.text_list(("categories", "category"))
        if categories:
            self.check_name(categories[0], "category")
        return categories[0] if categories else None

    def tags(self) -> tuple[str, ...]:
        tags = tuple(dict.fromkeys(self.text_list(("tags", "tag"))))
        for tag in tags:
            self.check_name(tag, "tags")
        return tags

    def check_name(self, name: str, key: str) -> None:
        """Names the store keeps in columns of `NAME_MAX` characters (on every backend alike)."""
        if len(name) > NAME_MAX:
            line = self.line_of(key if key != "category" else "categories")
            raise ParseError(
                f"front matter: line {line}: {key}: a name of {len(name)} characters, "
                f"more than {NAME_MAX}"
            )

    def published_at(self, name: str | None, article_id: str | None, tz: tzinfo) -> datetime:
        value = self.values.get("date")
        line = self.line_of("date")
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=tz)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=tz)
        if value is not None and not isinstance(value, str):
            raise ParseError(f"front matter: line {line}: date must be text, not {_kind(value)}")
        match = POST_DATE.match((value or "").strip())
        if match is None:
            raise ParseError(
                f"date: line {line}: cannot read the date "
                "(expected YYYY-MM-DD HH:MM:SS with an optional +0800)"
            )
        if match["date"] is None:
            fallback = _date_from_name(name) or _date_from_id(article_id)
            if fallback is None:
                where = (
                    f"line {line}: the date is empty" if "date" in self.values else "no date line"
                )
                raise ParseError(
                    f"date: {where}, and neither the file name nor an article id holds a date"
                )
            return datetime(fallback.year, fallback.month, fallback.day, tzinfo=tz)
        try:
            return datetime(
                int(match["y"]),
                int(match["m"]),
                int(match["d"]),
                int(match["H"] or 0),
                int(match["M"] or 0),
                int(match["S"] or 0),
                int((match["f"] or "0")[:6].ljust(6, "0")),
                tzinfo=_offset(match["tz"], line) or tz,
            )
        except ValueError as exc:
            raise ParseError(f"date: line {line}: impossible date ({exc})") from None


def _source_from_tags(tags: Sequence[str]) -> str | None:
    """The site tags a feed's posts '<source>新闻' (科技日报新闻, 东财滚动新闻)."""
    for tag in tags:
        if tag.endswith(SOURCE_TAG_SUFFIX) and len(tag) > len(SOURCE_TAG_SUFFIX):
            return tag[: -len(SOURCE_TAG_SUFFIX)]
    return None


def _offset(spelled: str | None, line: int) -> tzinfo | None:
    if not spelled:
        return None
    if spelled == "Z":
        return UTC
    digits = spelled[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if delta >= timedelta(hours=24) or int(digits[2:]) >= 60:
        raise ParseError(f"date: line {line}: impossible time zone offset")
    return timezone(-delta if spelled[0] == "-" else delta)


def _date_from_name(name: str | None) -> date | None:
    match = FILE_DATE.match(name or "")
    return _valid_date(*match.groups()) if match else None


def _date_from_id(article_id: str | None) -> date | None:
    if not article_id:
        return None
    digits = article_id.removeprefix("NW")
    return _valid_date(digits[:4], digits[4:6], digits[6:8])


def _valid_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _article_id(name: str | None, share_url: str | None) -> str | None:
    """The site's article id, NW prefix kept: both feeds use one number for different posts."""
    for where in (name, share_url):
        if where:
            found = ARTICLE_ID.findall(where)
            if found:
                return str(found[-1][0])
    return None


def _base_name(filename: str | None) -> str | None:
    if not filename:
        return None
    return re.split(r"[\\/]", filename)[-1] or None


def _take_digest(lines: Sequence[str], body_start: int) -> tuple[str | None, list[str]]:
    """The publisher's digest: a ``> …`` blockquote opening the body."""
    start = next((i for i in range(body_start, len(lines)) if lines[i].strip()), len(lines))
    end = start
    while end < len(lines) and DIGEST_LINE.match(lines[end]):
        end += 1
    if end == start:
        return None, list(lines[body_start:])
    quoted = "\n".join(DIGEST_MARK.sub("", line, count=1) for line in lines[start:end])
    try:
        digest = markdown_text(quoted)
    except RecursionError:
        raise ParseError(f"body: line {start + 1}: digest is nested too deeply") from None
    return digest or None, list(lines[end:])


def _take_links(lines: Sequence[str]) -> tuple[str | None, list[str]]:
    """Remove the share-link and back-link lines; the last share link is the post's."""
    share_url: str | None = None
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        share = SHARE_LINE.match(stripped)
        if share:
            share_url = share.group(1) or None
        elif not BACK_LINKS.match(stripped):
            kept.append(line)
    return share_url, kept


def _take_source_and_captions(blocks: Sequence[Block]) -> tuple[str | None, list[Block]]:
    """Split off the source credit and picture captions, which are not article text."""
    source: str | None = None
    kept: list[Block] = []
    for block in blocks:
        if PHOTO_CREDIT.match(block.text) or (
            block.after_image and block.centred and len(block.text) <= CAPTION_MAX
        ):
            continue
        credit = SOURCE_CREDIT.search(block.text)
        if credit:
            source = credit.group(1)
            rest = block.text[: credit.start()].rstrip()
            if not rest:
                continue
            block = replace(block, text=rest)
        kept.append(block)
    return source, kept


def _paragraphs(blocks: Sequence[Block]) -> tuple[Paragraph, ...]:
    return tuple(
        Paragraph(block.text, _is_heading(blocks, index)) for index, block in enumerate(blocks)
    )


def _is_heading(blocks: Sequence[Block], index: int) -> bool:
    """A subheading introduces what follows, so it is never the last or only paragraph.

    Marked ones (``<h3>``, a paragraph all in ``<strong>``) count when short and not a
    sentence; an unmarked one must be a short line without punctuation between two
    paragraphs of running text.
    """
    if index >= len(blocks) - 1:
        return False
    block = blocks[index]
    text = block.text
    if block.heading_tag:
        return True
    if block.bold:
        return len(text) <= BOLD_HEADING_MAX and not text.endswith(NOT_BOLD_HEADING_END)
    return (
        index > 0
        and len(text) <= PLAIN_HEADING_MAX
        and not SENTENCE_END.intersection(text)
        and not text.endswith(NOT_HEADING_END)
        and _is_running_text(blocks[index - 1])
        and _is_running_text(blocks[index + 1])
    )


def _is_running_text(block: Block) -> bool:
    return len(block.text) > PLAIN_HEADING_MAX or bool(SENTENCE_END.intersection(block.text))


def _first_sentence(paragraphs: Sequence[Paragraph], digest: str | None) -> str:
    """A stand-in title: the first sentence of the body, cut to a headline's length."""
    text = next((p.text for p in paragraphs if not p.heading), None) or digest or ""
    match = SENTENCE.match(text)
    sentence = (match.group(0) if match else text).strip().rstrip("。")
    if len(sentence) <= TITLE_MAX:
        return sentence
    cut = sentence[:TITLE_MAX]
    comma = max(cut.rfind("，"), cut.rfind(","), cut.rfind(" "))
    if comma >= TITLE_MAX // 2:
        cut = cut[:comma]
    return cut.rstrip() + "…"


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _what_line(line: str) -> str:
    """What a line is, without quoting it: error messages never repeat a file's content (the
    file may be anything an admin pointed at, a secret included)."""
    return "HTML (a web page, not a post file)" if line.lstrip().startswith("<") else "other text"


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`")


def _unquoted(message: str) -> str:
    """A YAML error message with the file's text it quotes replaced by an ellipsis."""
    return _QUOTED.sub("…", message)
