"""Judged queries on the real corpus (../shared/corpus/finews): what a reader means by each query.

Each entry names the posts (by key) that should come back in the first ten results; for a query
about a name or a term they are the posts *about* it (the term in the title or the news built
around it), not every post that merely mentions it. An empty tuple means nothing should match.
Two feeds' copies of one story count as the same post.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    query: str
    kind: str
    relevant: tuple[str, ...]


JUDGED_QUERIES: tuple[JudgedQuery, ...] = (
    # names of places, people, companies; some unknown to jieba
    JudgedQuery("韶关", "name", ("NW202204202349852762",)),
    JudgedQuery("冈拉克", "name", ("202112082206891482", "202112082206960440")),
    JudgedQuery("马斯克", "name", ("202112082207111929",)),
    JudgedQuery("郭明錤", "name", ("202112082207073610",)),
    JudgedQuery("段永平", "name", ("202112082206934693",)),
    JudgedQuery("李立峰", "name", ("202112082206924746",)),
    JudgedQuery("海伦司", "name", ("202112082206747356", "202112082206826055")),
    JudgedQuery("欧菲光", "name", ("202112082206779752", "202112082206796814")),
    JudgedQuery(
        "中国铝业", "name", ("202112082207059752", "202112082207063824", "202112082207090389")
    ),
    JudgedQuery("港交所", "name", ("202112082206736819", "202112082206808923")),
    JudgedQuery("沙县小吃", "name", ("202112082207166310",)),
    JudgedQuery("潍柴动力", "name", ("NW202202112274017262",)),
    JudgedQuery("蔚来", "name", ("202205262391921712",)),
    # two-character words
    JudgedQuery(
        "银行", "2-char", ("202112082206891068", "202112082207159489", "202112082206882458")
    ),
    JudgedQuery(
        "央行",
        "2-char",
        ("202112082206907291", "202112082207158876", "202205302396506117", "202205302396671291"),
    ),
    JudgedQuery(
        "茅台",
        "2-char",
        ("202112082206736335", "202112082206928461", "202112082206935918", "NW202205252390829633"),
    ),
    JudgedQuery("生猪", "2-char", ("202112082206736549", "202112082207159912")),
    JudgedQuery("纯碱", "2-char", ("202112082206765596", "202112082207123189")),
    JudgedQuery("雪球", "2-char", ("202201072239307540",)),
    # one-character words
    JudgedQuery("猪", "1-char", ("202112082206736549", "202112082207159912")),
    JudgedQuery("镓", "1-char", ("202112082207063824",)),
    JudgedQuery(
        "铝",
        "1-char",
        ("202112082206896857", "202112082207059752", "202112082207063824", "202112082207090389"),
    ),
    # codes and mixed Latin/Chinese
    JudgedQuery("600519", "code", ("202112082206736335",)),
    JudgedQuery("09988.HK", "code", ("202112082206794293",)),
    JudgedQuery(
        "A股",
        "mixed",
        (
            "202112082206836078",
            "202112082206907056",
            "202112082206924746",
            "202112082206965422",
            "202112082207122266",
            "202112082207151155",
            "202205262391921712",
        ),
    ),
    JudgedQuery("5G", "mixed", ("202112082206756112", "202112082207157777")),
    JudgedQuery("iPhone 13", "mixed", ("202112082206786275",)),
    JudgedQuery("A50", "mixed", ("202112082206799077",)),
    JudgedQuery("Shibor", "mixed", ("202112082206782366",)),
    JudgedQuery("WTI原油", "mixed", ("202112082207158283",)),
    # several words, AND-ed
    JudgedQuery(
        "元宇宙", "word", ("202112082206950487", "202112082207025439", "202112082207073610")
    ),
    JudgedQuery(
        "债务上限",
        "word",
        ("202112082206735022", "202112082206736198", "202112082206882385", "202112082207157132"),
    ),
    JudgedQuery(
        "北向资金 净流入",
        "multi-word",
        (
            "202112082206742097",
            "202112082206757673",
            "202112082206761079",
            "202112082206777086",
            "202112082207020388",
        ),
    ),
    JudgedQuery(
        "离岸人民币",
        "multi-word",
        ("202112082206672930", "202112082206781916", "202112082206799679"),
    ),
    JudgedQuery(
        "苹果 概念股",
        "multi-word",
        ("202112082206805832", "202112082206885694", "202112082206885586", "202112082207127271"),
    ),
    JudgedQuery("长城汽车 评级", "multi-word", ("202112082206876726", "202112082206864571")),
    # nothing in the corpus answers these
    JudgedQuery("比特币挖矿", "no answer", ()),
    JudgedQuery("量子纠缠", "no answer", ()),
    JudgedQuery("xyzzy", "no answer", ()),
)
