"""Tell article sentences from the furniture around them, before anything is scored.

Datelines and bylines are cut off the sentence they open; source lines, editor lines, image
captions, "click here" prompts, disclaimers, back-links and quote-widget remnants are dropped
whole; URLs and HTML tags are removed. Short paragraphs without end punctuation are subheadings.
"""

from __future__ import annotations

import html
import re

SENTENCE_END = '。！？!?；;…”’"」』）)】》.．'
SUBHEADING_MAX_CHARS = 40
# A line ending in a colon introduces what follows it (a quote, a list, a channel's post).
LEAD_IN_ENDS = ("：", ":")

_CJK = "\u4e00-\u9fff"
_PAREN_OPEN, _PAREN_CLOSE = "[（(]", "[）)]"
_NOT_CJK = rf"(?=[^{_CJK}]|$)"
_REPORTER_PAREN = (
    rf"{_PAREN_OPEN}\s*(?:本报|本刊|新华社|央视)?(?:记者|通讯员|实习生|见习记者|特约记者)"
    rf"[^）)]{{0,40}}{_PAREN_CLOSE}"
)

_LEADING_NOISE = re.compile(
    "|".join(
        [
            # 新华社北京5月30日电（记者 …） / 中新社西宁11月22日电 / 人民网6月17日讯
            rf"[{_CJK}·]{{0,14}}?(?:\d{{4}}年)?\d{{1,2}}月\d{{1,2}}日(?:电|讯|消息)(?:{_REPORTER_PAREN}|{_NOT_CJK})",
            rf"(?:新华社|中新社|中新网|人民网|新华网|央视网|央广网)[{_CJK}\d]{{0,12}}?电(?:{_REPORTER_PAREN})?",
            # 本报讯 / 广州日报讯（记者 …）
            rf"(?:本报|本刊|本台|本网|[{_CJK}]{{1,10}}(?:报|网|台|社))讯(?:{_REPORTER_PAREN}|{_NOT_CJK})",
            # 【环球网综合报道】 【字体：】
            r"【[^】]{0,20}(?:报道|讯|电|消息|快讯|字体)[^】]{0,10}】",
            # 本报记者 张三 报道：
            rf"(?:本报|本刊)?(?:记者|通讯员)[{_CJK}·\s、]{{1,20}}?报道(?=[：:，,\s]|$)",
            _REPORTER_PAREN,
            # (赵凛松) — a bare byline name in brackets
            rf"{_PAREN_OPEN}[{_CJK}·]{{2,4}}{_PAREN_CLOSE}",
            # 15:20:00 — a time stamp glued to the front
            r"\d{4}[-/]\d{1,2}[-/]\d{1,2}\s*\d{1,2}:\d{2}(?::\d{2})?",
            r"\d{1,2}:\d{2}(?::\d{2})?",
            # 每经AI快讯， — a wire-service tag
            r"[\u4e00-\u9fffA-Za-z]{2,10}快讯(?=[，,：:\s])",
            r"[●•·◆◇■□▲△►▶◎○★☆※]+",
            # 评论(0)A+ and other share/quote widget remnants
            r"(?:评论|跟帖|分享|收藏|点赞)\s*[(（]\d+[)）]\s*(?:A\+\s*A-|A\+|A-)?",
            r"[|｜:：,，、\s]+",
        ]
    )
)
_REPORTER = re.compile(_REPORTER_PAREN)
_INLINE_NOISE = re.compile(
    "|".join(
        [
            r"<[^>]*>",
            r"\[([^\]]*)\]\([^)]*\)",
            r"https?://\S+",
            r"(?<![A-Za-z0-9])www\.[A-Za-z0-9.-]+\S*",
            r"//[A-Za-z0-9-]+\.[A-Za-z0-9.-]+/\S*",
        ]
    )
)
_INLINE_MARKS = ("<", "[", "http", "www.", "//")
_LINE_LABEL = re.compile(
    r"^[\s（(【\[]*(?:文章来源|来源|原标题|原题为?|责任编辑|编辑|作者|文|图|图片来源|图片|图源|"
    r"摄影|摄|校对|审校|审核|审稿|实习编译|编译|翻译|译|校|发布日期|发布时间|更新时间|"
    r"数据来源|资料来源|出品|监制|策划|制图|记者|注|备注)\s*[：:|｜/]"
)
_DROP_ANYWHERE = re.compile(
    r"文章来源|原标题|原题为|责任编辑|图片来源|点击(?:查看|进入|阅读|下载|这里|链接|观看)|"
    r"免责声明|风险提示|投资有风险|不构成(?:任何)?投资建议|仅供参考|转载请注明|版权(?:归|所有)|"
    r"返回(?:首页|顶部|列表|目录|.{0,12}新闻)|\[返回|扫描二维码|长按二维码|关注(?:我们|公众号)|"
    r"打开APP|下载APP|查看行情|行情图|股吧"
)
# apart from _DROP_ANYWHERE, whose search then skips to the characters its words start with
_DROP_AT_START = re.compile(r"图为|图[一二三四五六七八九十\d]+[：:\s]|上图|下图|（图")
_WHOLE_PARENTHETICAL = re.compile(rf"^{_PAREN_OPEN}[^（）()]{{0,60}}{_PAREN_CLOSE}[。.]?$")
_FOUR_LETTERS = re.compile(rf"(?:[^{_CJK}A-Za-z]*[{_CJK}A-Za-z]){{4}}")
_SPACES = re.compile(r"[ \t]+")


def normalize_text(text: str) -> str:
    """Plain text: entities decoded, tags and links removed, spaces collapsed."""
    text = html.unescape(text).replace("\u3000", " ").replace("\xa0", " ")
    if any(mark in text for mark in _INLINE_MARKS):  # else _INLINE_NOISE has nothing to find
        text = _INLINE_NOISE.sub(lambda m: m.group(1) or "", text)
    return _SPACES.sub(" ", text).strip()


def clean_sentence(sentence: str) -> str:
    """The sentence without its dateline, byline, links or widget remnants; "" when it is
    furniture (source line, caption, disclaimer, …) or a bare lead-in ending in a colon."""
    sentence = normalize_text(sentence)
    if _is_furniture(sentence):
        return ""
    while True:
        stripped = _LEADING_NOISE.match(sentence)
        if stripped is None or stripped.end() == 0:
            break
        sentence = sentence[stripped.end() :]
    sentence = _REPORTER.sub("", sentence).strip()
    if (
        _is_furniture(sentence)
        or sentence.endswith(LEAD_IN_ENDS)
        or not _FOUR_LETTERS.match(sentence)
    ):
        return ""
    return sentence


def is_subheading(paragraph: str) -> bool:
    """A short paragraph that does not end like a sentence titles a section; it is no sentence."""
    text = normalize_text(paragraph)
    return 0 < len(text) <= SUBHEADING_MAX_CHARS and text[-1] not in SENTENCE_END


def _is_furniture(sentence: str) -> bool:
    return bool(
        _LINE_LABEL.match(sentence)
        or _DROP_ANYWHERE.search(sentence)
        or _DROP_AT_START.match(sentence)
        or _WHOLE_PARENTHETICAL.match(sentence)
    )
