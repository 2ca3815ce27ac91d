"""Turn a post body (HTML, Markdown or plain text) into clean text blocks.

The blocks keep what the markup said about them (all bold, centred, a heading tag, right
after a picture) so the parser can tell subheadings and captions from running text without
looking at markup again.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser, LexborNode

BLOCK_TAGS = frozenset(
    (
        *("p", "div", "center", "section", "article", "header", "footer", "aside", "main"),
        *("blockquote", "figure", "figcaption", "pre", "hr", "address", "details", "summary"),
        *("ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "thead", "tbody", "tfoot", "tr", "td", "th"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
    )
)
HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
BOLD_TAGS = frozenset(("strong", "b"))
SKIPPED_TAGS = frozenset(
    (
        *("script", "style", "head", "title", "noscript", "template", "-comment"),
        *("iframe", "object", "embed", "svg", "video", "audio", "canvas"),
        *("form", "select", "button", "input", "textarea"),
    )
)
IMAGE_TAGS = frozenset(("img", "picture"))

# Eastmoney embeds live quote and K-line charts between these comments; they are not text.
STOCK_WIDGET = re.compile(
    r"<!--\s*EM_StockImg_Start\s*-->.*?<!--\s*EM_StockImg_End\s*-->", re.DOTALL | re.IGNORECASE
)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
CENTRED_STYLE = re.compile(r"text-align\s*:\s*center", re.IGNORECASE)
BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
WHITESPACE = re.compile(r"\s+")


def _format_characters(codes: Iterable[int] = (*range(0x20000), *range(0xE0000, 0xE1000))) -> str:
    """Every Unicode format character (category Cf: bidi controls, zero-width spaces, soft
    hyphens, tag characters) but the zero-width joiner, as a regex character class body.

    Cf characters live in the first two planes and in plane 14 only, so only those are scanned.
    """
    cf = [code for code in codes if code != 0x200D and unicodedata.category(chr(code)) == "Cf"]
    return "".join(re.escape(chr(code)) for code in cf)


_EMOJI = "\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
# Control characters, format characters, and a zero-width joiner unless it joins two emoji
# (👨‍👩‍👧 is one picture only with its joiners).
INVISIBLE = re.compile(
    f"[\\x00-\\x08\\x0e-\\x1f\\x7f{_format_characters()}]"
    f"|\u200d(?![{_EMOJI}])|(?<![{_EMOJI}])\u200d"
)
# What INVISIBLE can match first, or any character past the first plane: one plain class, which
# the regex engine scans ten times faster than INVISIBLE's (it lists characters of plane 14), so
# clean_text passes over most text without INVISIBLE's search.
_MAYBE_INVISIBLE = re.compile(
    f"[\\x00-\\x08\\x0e-\\x1f\\x7f\u200d{_format_characters(range(0x10000))}\U00010000-\U0010ffff]"
)
# Real markup left in text after one round of decoding (``&lt;p&gt;`` in the source), as
# opposed to text that merely has angle brackets such as ``《<蒙特利尔议定书>修正案》``.
MARKUP = re.compile(
    r"<(?:/?(?:p|div|span|a|strong|b|em|i|u|br|img|center|font|section|h[1-6]|ul|ol|li|"
    r"blockquote|table|tr|td|th|tbody|sup|sub|figure|figcaption|iframe|script|style)\b[^<>]*|!--.*?--)>",
    re.IGNORECASE | re.DOTALL,
)
ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
HTML_BODY = re.compile(
    r"<(?:p|div|center|br|h[1-6]|ul|ol|table|section|article|blockquote|span|strong|img|a)\b"
    r"[^<>]*>|<!--",
    re.IGNORECASE,
)
# Characters that can change how CommonMark renders a block; text without any of them is
# already its own rendering, so the (comparatively slow) Markdown parser can be skipped.
MARKDOWN_SYNTAX = re.compile(r"[\\`*_\[\]<>&!#|~]|^ {0,3}(?:[-+=]|\d{1,9}[.)])|^ {4}", re.MULTILINE)
URL_TEXT = re.compile(r"^(?:https?:|ftp:|mailto:|www\.|//)\S*$", re.IGNORECASE)
MAX_UNESCAPE_ROUNDS = 2

_markdown = MarkdownIt("commonmark", {"html": True})


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of clean text and the hints its markup gave."""

    text: str
    bold: bool = False
    heading_tag: bool = False
    centred: bool = False
    after_image: bool = False


def body_blocks(body: str) -> list[Block]:
    """Blocks of a body in reading order, whatever markup it is written in."""
    return html_blocks(body) if HTML_BODY.search(body) else markdown_blocks(body)


def markdown_blocks(source: str) -> list[Block]:
    if MARKDOWN_SYNTAX.search(source) is None:
        blocks = (_join_lines(part) for part in BLANK_LINE.split(source))
        return [Block(text) for text in blocks if text]
    return html_blocks(_markdown.render(source))


def markdown_text(source: str) -> str:
    """Markdown (or plain text) reduced to text, paragraphs on their own lines."""
    return "\n".join(block.text for block in markdown_blocks(source))


def html_blocks(markup: str, *, depth: int = 0) -> list[Block]:
    markup = STOCK_WIDGET.sub("", markup)
    body = LexborHTMLParser(markup).body
    if body is None:
        return []
    walker = _Walker()
    walker.walk(body, _Context())
    walker.flush()
    if depth >= MAX_UNESCAPE_ROUNDS:
        return walker.blocks
    return [inner for block in walker.blocks for inner in _unescape_markup(block, depth=depth + 1)]


def _unescape_markup(block: Block, *, depth: int) -> list[Block]:
    """Text that was escaped HTML (``&lt;p&gt;…``) is decoded once more and its tags removed."""
    if MARKUP.search(block.text):
        return [
            replace(
                inner,
                bold=inner.bold or block.bold,
                heading_tag=inner.heading_tag or block.heading_tag,
                centred=inner.centred or block.centred,
                after_image=block.after_image,
            )
            for inner in html_blocks(block.text, depth=depth)
        ]
    if "&" in block.text and ENTITY.search(block.text):
        text = clean_text(html.unescape(block.text))
        return [replace(block, text=text)] if text else []
    return [block]


@dataclass(frozen=True, slots=True)
class _Context:
    bold: bool = False
    heading_tag: bool = False
    centred: bool = False


class _Walker:
    """Collects text runs into blocks; block tags and ``<br>`` end a block."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.bold_chars = 0
        self.plain_chars = 0
        self.context = _Context()
        self.image_seen = False

    def walk(self, node: LexborNode, context: _Context) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.add_text(child.text_content or "", context)
            elif tag in SKIPPED_TAGS or tag is None:
                continue
            elif tag in IMAGE_TAGS:
                self.image_seen = True
            elif tag == "br":
                self.flush()
            else:
                attributes = child.attributes
                if HIDDEN_STYLE.search(attributes.get("style") or ""):
                    continue
                if tag in BLOCK_TAGS:
                    self.flush()
                    inner = _Context(
                        bold=context.bold,
                        heading_tag=context.heading_tag or tag in HEADING_TAGS,
                        centred=context.centred
                        or tag == "center"
                        or CENTRED_STYLE.search(attributes.get("style") or "") is not None,
                    )
                    self.walk(child, inner)
                    self.flush()
                elif tag in BOLD_TAGS:
                    self.walk(child, replace(context, bold=True))
                elif tag == "a" and URL_TEXT.match((child.text() or "").strip()):
                    continue
                else:
                    self.walk(child, context)

    def add_text(self, text: str, context: _Context) -> None:
        pieces = BLANK_LINE.split(text) if "\n" in text else [text]
        for index, piece in enumerate(pieces):
            if index:
                self.flush()
            if not self.parts:
                self.context = context
            self.parts.append(piece)
            visible = len(piece.strip())
            if context.bold:
                self.bold_chars += visible
            else:
                self.plain_chars += visible

    def flush(self) -> None:
        if not self.parts:
            return
        text = clean_text("".join(self.parts))
        if text:
            self.blocks.append(
                Block(
                    text,
                    bold=self.plain_chars == 0 and self.bold_chars > 0,
                    heading_tag=self.context.heading_tag,
                    centred=self.context.centred,
                    after_image=self.image_seen,
                )
            )
            self.image_seen = False
        self.parts = []
        self.bold_chars = 0
        self.plain_chars = 0


def clean_text(text: str) -> str:
    """One line of text: runs of white space made one space, invisible characters dropped."""
    if _MAYBE_INVISIBLE.search(text) and INVISIBLE.search(text):
        text = INVISIBLE.sub("", text)
    return WHITESPACE.sub(" ", text).strip()


def _join_lines(paragraph: str) -> str:
    """Join soft-wrapped lines: no space between CJK characters, one space elsewhere."""
    joined = ""
    for line in filter(None, (line.strip() for line in paragraph.splitlines())):
        wide = not joined or _is_wide(joined[-1]) or _is_wide(line[0])
        joined += line if wide else " " + line
    return clean_text(joined)


def _is_wide(char: str) -> bool:
    return char >= "\u2e80"
