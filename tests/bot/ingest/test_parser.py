"""The post parser on every real post, on small posts written here, and on random input."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.parser import ParseError, parse_post, stable_key
from storage.records import ArticleRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOT_TEXT = re.compile(r"返回首页|http|<[A-Za-z/!]|文章来源|&(?:lt|gt|amp|quot|nbsp|#\d+);")


def read(path: Path) -> str:
    """The file as the ingest sees it: CRLF and BOM left in place for the parser to handle."""
    return path.read_bytes().decode("utf-8")


def parse_file(corpus_dir: Path, name: str) -> ArticleRecord:
    return parse_post(read(corpus_dir / name), name, tz=SHANGHAI)


def post(front_matter: str, body: str = "正文第一句。") -> str:
    return f"---\n{front_matter.strip()}\n---\n{body}"


def texts(parsed: ArticleRecord) -> list[str]:
    return [p.text for p in parsed.paragraphs]


def headings(parsed: ArticleRecord) -> list[str]:
    return [p.text for p in parsed.paragraphs if p.heading]


# --- the whole corpus ------------------------------------------------------------------------


def test_every_post_in_the_corpus_parses(corpus_files: list[Path]) -> None:
    failures = {}
    for path in corpus_files:
        try:
            parse_post(read(path), path.name, tz=SHANGHAI)
        except ParseError as exc:
            failures[path.name] = str(exc)
    assert len(corpus_files) >= 160
    assert failures == {}


def test_no_paragraph_in_the_corpus_carries_markup_links_or_boilerplate(
    corpus_files: list[Path],
) -> None:
    dirty = []
    for path in corpus_files:
        parsed = parse_post(read(path), path.name, tz=SHANGHAI)
        for paragraph in parsed.paragraphs:
            if not paragraph.text.strip() or NOT_TEXT.search(paragraph.text):
                dirty.append((path.name, paragraph.text[:80]))
    assert dirty == []


def test_every_corpus_post_has_a_title_an_aware_date_and_a_hash(corpus_files: list[Path]) -> None:
    for path in corpus_files:
        parsed = parse_post(read(path), path.name, tz=SHANGHAI)
        assert parsed.title, path.name
        assert parsed.published_at.utcoffset() is not None, path.name
        assert re.fullmatch(r"[0-9a-f]{64}", parsed.content_hash), path.name
        assert parsed.file == path.name


# --- exact fields of real posts, one or more per variant ------------------------------------


def test_keji_ribao_post_with_crlf_lines_and_plain_subheadings(corpus_dir: Path) -> None:
    name = "2022-04-20-NW202204202349852762.md"
    assert "\r\n" in read(corpus_dir / name)
    parsed = parse_file(corpus_dir, name)
    assert parsed.key == "NW202204202349852762"
    assert parsed.title == "广东韶关：老工业基地迈向高质量发展"
    assert parsed.published_at.isoformat() == "2022-04-20T14:01:57+08:00"
    assert parsed.category == "kejiribao"
    assert parsed.tags == ("科技日报新闻",)
    assert parsed.source == "科技日报"
    assert parsed.digest is None
    assert (
        parsed.share_url
        == "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202204202349852762"
    )
    assert parsed.file == name
    assert len(parsed.paragraphs) == 16
    assert headings(parsed) == ["传统产业变革转型焕发新生", "新兴产业高点布局增添动能"]
    for text in texts(parsed):
        assert "返回" not in text and "http" not in text and "文章来源" not in text
    assert texts(parsed)[0].startswith("韶关，因中国有色金属之乡")
    assert texts(parsed)[-1].endswith("规上企业研发机构覆盖率达54%。")


def test_nameless_post_whose_file_name_starts_with_a_dash(corpus_dir: Path) -> None:
    """Empty title and a date that is only '+0800': both come from elsewhere."""
    parsed = parse_file(corpus_dir, "-202205262391921712.md")
    assert parsed.key == "202205262391921712"
    assert parsed.title == "国内首款使用超低GWP(全球变暖潜值)制冷剂的新能源汽车来了！"
    assert parsed.published_at.isoformat() == "2022-05-26T00:00:00+08:00"
    assert parsed.share_url is None
    assert parsed.source == "上海证券报"
    assert parsed.digest is not None
    assert parsed.digest.startswith("据霍尼韦尔官网消息，5月24日")
    assert parsed.digest.endswith("（上海证券报）")
    assert headings(parsed) == ["什么是HFO-1234yf", "这些公司有HFO-1234yf产品"]
    assert "图片来源：霍尼韦尔官网" not in texts(parsed)
    assert not any("K图" in text or "NIO_0" in text for text in texts(parsed))


def test_escaped_angle_brackets_that_are_not_markup_stay_as_text(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-05-26-202205262391921712.md")
    assert parsed.title == "国内首次！蔚来汽车启用这款“绿色”制冷液 哪些A股公司早有布局？"
    treaty = [text for text in texts(parsed) if "蒙特利尔议定书>基加利修正案" in text]
    assert len(treaty) == 1
    assert treaty[0].startswith(
        "据了解，《<蒙特利尔议定书>基加利修正案》(以下简称《基加利修正案》)"
    )


def test_markdown_post_with_a_blank_line_before_the_front_matter(corpus_dir: Path) -> None:
    name = "2021-12-08-202112082206703990.md"
    assert read(corpus_dir / name).startswith("\n---\n")
    parsed = parse_file(corpus_dir, name)
    assert parsed.key == "202112082206703990"
    assert parsed.title == "FF：有充足的现金支持到FF 91完成投产"
    assert parsed.published_at.isoformat() == "2021-12-08T10:18:31+08:00"
    assert parsed.category == "emnews"
    assert parsed.source == "东财滚动"
    assert parsed.share_url == "http://stock.eastmoney.com/news/1611,202112082206703990.html"
    assert len(parsed.paragraphs) == 1
    assert not parsed.paragraphs[0].heading
    assert parsed.paragraphs[0].text.startswith("Faraday Future (FF)于今日举办")
    assert parsed.paragraphs[0].text.endswith("并表示首家旗舰店将落地比佛利山庄。")


def test_short_markdown_body_is_a_paragraph_not_a_heading(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2021-12-01-init.md")
    assert (
        parsed.paragraphs
        == parse_post(post("title: x\ndate: 2021-12-01", "祝贺开站"), tz=SHANGHAI).paragraphs
    )
    assert [(p.text, p.heading) for p in parsed.paragraphs] == [("祝贺开站", False)]


def test_post_without_an_article_id_is_keyed_by_its_slug_date_and_title(corpus_dir: Path) -> None:
    name = "2021-12-01-init.md"
    parsed = parse_file(corpus_dir, name)
    assert parsed.title == "开站大吉"
    assert parsed.published_at.isoformat() == "2021-12-01T13:33:50+08:00"
    assert parsed.category == "sitenews"
    assert parsed.tags == ("站长消息",)
    assert parsed.source is None  # a site notice, not a news feed
    # The hash is of what a reader sees: a BOM and CRLF line ends are no change.
    respelled = "\ufeff" + read(corpus_dir / name).replace("\n", "\r\n")
    assert parse_post(respelled, name, tz=SHANGHAI).content_hash == parsed.content_hash
    assert parsed.key == stable_key("2021-12-01-init.md", "开站大吉", parsed.published_at)
    assert len(parsed.key) >= 16
    # The key does not depend on the text or the time, which other routes cannot rebuild.
    edited = read(corpus_dir / name).replace("13:33:50", "21:33:50") + "\n\nmore"
    assert parse_post(edited, name, tz=SHANGHAI).key == parsed.key
    assert parse_post(edited, name, tz=SHANGHAI).content_hash != parsed.content_hash
    assert parse_post(edited, "2021-12-02-init.md", tz=SHANGHAI).key != parsed.key
    assert parse_post(edited, name, tz=SHANGHAI, key_hint="guid-1").key == "guid-1"


def test_old_copy_of_a_post_keeps_the_key_and_drops_line_by_line_back_links(
    corpus_dir: Path,
) -> None:
    current = parse_file(corpus_dir, "2021-12-08-202112082206672930.md")
    old = parse_file(corpus_dir, "2021-12-08-202112082206672930__old_post.md")
    assert old.key == current.key == "202112082206672930"
    assert old.title == current.title == "离岸人民币兑美元升至2018年以来最高水平"
    assert old.published_at == current.published_at
    assert old.published_at.isoformat() == "2021-12-08T10:46:18+08:00"
    assert texts(old) == texts(current) == ["离岸人民币兑美元升至6.3512，为2018年以来最高水平。"]
    assert old.share_url == "http://finance.eastmoney.com/news/11060,202112082206672930.html"
    # The same text to a reader: re-reading the old copy is not a change.
    assert old.content_hash == current.content_hash


def test_empty_share_link_and_relative_back_links(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2021-12-08-202112082206870651.md")
    assert parsed.title == "财政部两期国债中标结果出炉（12-08）"
    assert parsed.share_url is None
    assert texts(parsed) == [
        "2021年12月8日讯，财政部2年期续发国债中标利率为2.4576%，边际利率为2.4823%，"
        "全场倍数为3.7，边际倍数为2.2。(东方财富Choice数据)"
    ]


def test_back_links_on_one_line_with_absolute_targets(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2021-12-08-202112082207111929.md")
    assert parsed.title == "马斯克：人类不应该去对抗衰老 死亡对人类意义重大"
    assert parsed.published_at.isoformat() == "2021-12-08T14:55:21+08:00"
    assert parsed.share_url == "http://finance.eastmoney.com/news/1344,202112082207111929.html"
    assert len(parsed.paragraphs) == 1
    assert parsed.paragraphs[0].text.startswith("当地时间12月6日，马斯克")


def test_evening_paper_with_crlf_stock_chart_and_unmarked_subheadings(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-05-25-NW202205252390829633.md")
    assert parsed.title == "茅台拍出天价 闹剧一场"
    assert parsed.category == "quanzhouwanbao"
    assert parsed.source == "泉州晚报"
    assert len(parsed.paragraphs) == 11
    assert headings(parsed) == [
        "招人唯高学历此风当止",
        "奥迪文案抄袭涉嫌违法",
        "南京购房新政紧急叫停",
    ]
    assert texts(parsed)[0].startswith("●近期，一瓶号称产自1992年的汉帝茅台在线上拍卖")


def test_digest_hidden_spacer_and_source_split_by_markup(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-01-21-202201212257099936.md")
    assert parsed.key == "202201212257099936"
    assert parsed.digest is not None
    assert parsed.digest.startswith("昇兴股份(002752)1月21日晚间公告")
    assert parsed.source == "证券时报"
    assert len(parsed.paragraphs) == 1
    assert parsed.paragraphs[0].text.startswith("昇兴股份(002752)1月21日晚间公告，预计2021年净利")
    assert not parsed.paragraphs[0].heading


def test_two_stock_widgets_and_a_double_news_tag(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-02-11-NW202202112274017262.md")
    assert parsed.category == "meirijingjixinwen"
    assert parsed.tags == ("每日经济新闻新闻",)
    assert parsed.source == "每日经济新闻"
    assert len(parsed.paragraphs) == 2
    assert parsed.paragraphs[0].text.startswith("每经AI快讯，有投资者在投资者互动平台提问")


def test_bold_subheadings_between_pictures(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-05-29-NW202205292395438077.md")
    assert parsed.category == "zhongguojijinbao"
    assert parsed.source == "中国基金报"
    assert headings(parsed) == [
        "中概互联投资风向标-KWEB",
        "5月以来获大幅资金净申购",
        "海外主动管理中国ETF规模创新高",
        "Citadel：继续扩充包括中国在内的亚太团队",
        "瑞银：中概股恐慌见顶",
    ]
    assert "我们一起来看看。" in texts(parsed)


def test_category_page_back_links_and_bold_headings(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-06-14-NW202206142412311033.md")
    assert parsed.category == "dongfangcaifuyanjiuzhongxin"
    assert parsed.source == "东方财富研究中心"
    assert headings(parsed) == ["龙虎榜净流入TOP20", "陆股通买卖情况", "机构买卖情况"]
    assert len(parsed.paragraphs) == 7


def test_a_bold_sentence_or_chart_note_is_not_a_heading(corpus_dir: Path) -> None:
    eastmoney = parse_file(corpus_dir, "2022-01-07-202201072239307540.md")
    assert headings(eastmoney) == [
        "雪球类信托计划产品发行按下暂停键",
        "影响有多大？",
        "不断压实雪球类产品监管",
    ]
    lead_in = "2021年9月初，中基协针对券商资管的集合产品进行指导，内容大致包括："
    assert lead_in in texts(eastmoney)
    cls = parse_file(corpus_dir, "2022-05-31-NW202205312398034850.md")
    note = "注：消费电子股今日掀起涨停潮(截止5月31日收盘)"
    assert note in texts(cls)
    assert note not in headings(cls)


def test_the_same_article_in_both_feeds_gets_two_keys(corpus_dir: Path) -> None:
    eastmoney = parse_file(corpus_dir, "2022-01-07-202201072239307540.md")
    other_feed = parse_file(corpus_dir, "2022-01-07-NW202201072239307540.md")
    assert eastmoney.key == "202201072239307540"
    assert other_feed.key == "NW202201072239307540"
    assert eastmoney.digest is not None and other_feed.digest is None
    assert eastmoney.category == "emnews" and other_feed.category == "quanshangzhongguo"
    assert eastmoney.source == other_feed.source == "券商中国"


def test_inline_link_text_stays_and_its_address_goes(corpus_dir: Path) -> None:
    parsed = parse_file(corpus_dir, "2022-05-30-202205302396671291.md")
    assert parsed.source == "财联社"
    assert texts(parsed)[0].endswith("为绿色低碳发展提供系统化金融支持。（点击阅读报告全文）")


# --- variants written here ---------------------------------------------------------------------


def test_a_title_with_dashes_is_not_a_front_matter_delimiter() -> None:
    parsed = parse_post(
        post('title: "央行---降准 ---"\ndate: 2022-01-02 03:04:05 +0800\ncategories: x'),
        tz=SHANGHAI,
    )
    assert parsed.title == "央行---降准 ---"
    assert parsed.category == "x"
    assert texts(parsed) == ["正文第一句。"]


def test_bom_and_crlf_give_the_same_post_and_the_same_hash() -> None:
    plain = post("title: 标题\ndate: 2022-01-02 03:04:05", "第一段。\n\n第二段。\n")
    windows = "\ufeff" + plain.replace("\n", "\r\n")
    assert parse_post(windows, tz=SHANGHAI) == parse_post(plain, tz=SHANGHAI)
    assert parse_post(plain, tz=SHANGHAI) == parse_post(plain, tz=SHANGHAI)


def test_a_changed_body_changes_the_hash_but_not_an_id_key() -> None:
    before = parse_post(
        post("title: 标题\ndate: 2022-01-02", "旧。"),
        "2022-01-02-202201022222222222.md",
        tz=SHANGHAI,
    )
    after = parse_post(
        post("title: 标题\ndate: 2022-01-02", "新。"),
        "2022-01-02-202201022222222222.md",
        tz=SHANGHAI,
    )
    assert before.key == after.key == "202201022222222222"
    assert before.content_hash != after.content_hash


def test_dates_with_and_without_offset() -> None:
    with_offset = parse_post(post("title: t\ndate: 2022-01-02 03:04:05 -0500"), tz=SHANGHAI)
    assert with_offset.published_at.isoformat() == "2022-01-02T03:04:05-05:00"
    local = parse_post(post("title: t\ndate: 2022-01-02 03:04:05"), tz=SHANGHAI)
    assert local.published_at == datetime(2022, 1, 2, 3, 4, 5, tzinfo=SHANGHAI)
    day_only = parse_post(post("title: t\ndate: 2022-01-02"), tz=ZoneInfo("Europe/Berlin"))
    assert day_only.published_at.isoformat() == "2022-01-02T00:00:00+01:00"


def test_empty_date_falls_back_to_file_name_then_article_id() -> None:
    text = post('title: t\ndate: ""')
    from_name = parse_post(text, "2022-03-04-whatever.md", tz=SHANGHAI)
    assert from_name.published_at.isoformat() == "2022-03-04T00:00:00+08:00"
    from_id = parse_post(text, "NW202203052349852762.md", tz=SHANGHAI)
    assert from_id.published_at.isoformat() == "2022-03-05T00:00:00+08:00"
    assert from_id.key == "NW202203052349852762"


def test_key_from_the_share_link_when_the_file_name_has_none() -> None:
    text = post(
        "title: t\ndate: 2022-01-02",
        "正文。\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201022222222222>",
    )
    assert parse_post(text, "a-post.md", tz=SHANGHAI).key == "NW202201022222222222"
    assert parse_post(text, tz=SHANGHAI).file is None


def test_tags_as_a_yaml_list_or_a_spaced_string() -> None:
    as_list = parse_post(
        post("title: t\ndate: 2022-01-02\ntags: [财联社新闻, 快讯, 快讯]"), tz=SHANGHAI
    )
    assert as_list.tags == ("财联社新闻", "快讯")
    assert as_list.source == "财联社"
    as_string = parse_post(post("title: t\ndate: 2022-01-02\ntags: 甲 乙"), tz=SHANGHAI)
    assert as_string.tags == ("甲", "乙")
    assert as_string.source is None
    untagged = parse_post(post("title: t\ndate: 2022-01-02"), tz=SHANGHAI)
    assert untagged.tags == () and untagged.category is None


def test_markdown_links_and_emphasis_are_reduced_to_text() -> None:
    parsed = parse_post(
        post(
            "title: t\ndate: 2022-01-02",
            "据**财联社**报道，[央行](http://pbc.gov.cn/x)宣布*降准*。\n\n"
            "## 市场反应\n\n股市<http://example.com/a>上涨。",
        ),
        tz=SHANGHAI,
    )
    assert [(p.text, p.heading) for p in parsed.paragraphs] == [
        ("据财联社报道，央行宣布降准。", False),
        ("市场反应", True),
        ("股市上涨。", False),
    ]


def test_escaped_markup_is_decoded_and_stripped() -> None:
    parsed = parse_post(
        post(
            "title: t\ndate: 2022-01-02",
            "<p>&lt;p&gt;第一段&lt;/p&gt;&lt;p&gt;R&amp;amp;D 投入&lt;/p&gt;</p>",
        ),
        tz=SHANGHAI,
    )
    assert texts(parsed) == ["第一段", "R&D 投入"]


def test_empty_title_becomes_the_first_sentence_cut_to_headline_length() -> None:
    short = parse_post(post('title: ""\ndate: 2022-01-02', "央行今日降准。市场上涨。"), tz=SHANGHAI)
    assert short.title == "央行今日降准"
    long_sentence = "据了解" + "，监管部门近日向多家机构下发通知" * 5 + "。"
    long = parse_post(post('title: ""\ndate: 2022-01-02', long_sentence), tz=SHANGHAI)
    assert long.title.endswith("…")
    assert len(long.title) <= 41
    assert long_sentence.startswith(long.title.rstrip("…"))


def test_source_line_is_taken_out_of_the_body() -> None:
    parsed = parse_post(
        post(
            "title: t\ndate: 2022-01-02\ntags: 东财滚动新闻",
            '<p>正文。</p><p class="em_media">（文章来源：中国<b>证券</b>报）</p>',
        ),
        tz=SHANGHAI,
    )
    assert parsed.source == "中国证券报"
    assert texts(parsed) == ["正文。"]


def test_a_credit_closing_the_last_paragraph_is_the_source_too() -> None:
    parsed = parse_post(
        post(
            "title: t\ndate: 2022-01-02\ntags: 东财滚动新闻",
            "第一段。\n\n第二段。（文章来源：新华社）",
        ),
        tz=SHANGHAI,
    )
    assert parsed.source == "新华社"
    assert texts(parsed) == ["第一段。", "第二段。"]


def test_invisible_characters_and_entities_do_not_reach_the_text() -> None:
    parsed = parse_post(
        post(
            'title: "A &amp; B\u200b"\ndate: 2022-01-02',
            "<p>\u200b&nbsp;</p><p>正\u200b文&amp;。</p>",
        ),
        tz=SHANGHAI,
    )
    assert parsed.title == "A & B"
    assert texts(parsed) == ["正文&。"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty post"),
        ("   \n\n", "empty post"),
        ("\x7fELF\x02\x01\x01\x00\x00\x00", "binary data"),
        ("\ufffd" * 50 + "abc", "binary data"),
        ("只有正文，没有元数据。", "front matter: line 1: expected '---'"),
        ("---\ntitle: t\ndate: 2022-01-02\n正文", "no closing '---'"),
        ('---\ntitle: "unclosed\ndate: 2022-01-02\n---\n正文', "front matter: line 3:"),
        ("---\n- a\n- b\n---\n正文", "found a YAML list"),
        ("---\ntitle: [a, b]\ndate: 2022-01-02\n---\n正文", "line 2: title must be text"),
        ("---\ntitle: t\ndate: 2022-02-30 10:00:00\n---\n正文", "date: line 3: impossible date"),
        ("---\ntitle: t\ndate: 2022-01-02 10:00:00 +2500\n---\n正文", "impossible time zone"),
        ("---\ntitle: t\ndate: soon\n---\n正文", "date: line 3: cannot read the date"),
        ("---\ntitle: t\n---\n正文", "date: no date line, and neither the file name"),
        ('---\ntitle: t\ndate: ""\n---\n正文', "date: line 3: the date is empty"),
        ('---\ntitle: ""\ndate: 2022-01-02\n---\n\n<>\n[返回首页](../)', "no title and no body"),
    ],
)
def test_unreadable_posts_raise_parse_error_saying_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_post(text, "post.md", tz=SHANGHAI)


# --- random input: nothing but ParseError -------------------------------------------------------


def parse_or_refuse(text: str, filename: str | None) -> None:
    try:
        parsed = parse_post(text, filename, tz=SHANGHAI)
    except ParseError as exc:
        assert str(exc)
        return
    assert parsed.title
    assert parsed.published_at.utcoffset() is not None
    assert all(p.text.strip() for p in parsed.paragraphs)


@settings(max_examples=1000, deadline=None)
@given(st.text(), st.one_of(st.none(), st.text(max_size=40)))
def test_arbitrary_text_raises_only_parse_error(text: str, filename: str | None) -> None:
    parse_or_refuse(text, filename)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    parse_or_refuse(data.decode("utf-8", errors="replace"), "binary.md")


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("-:\n \"'[]{}<>&;#*_>!|说明：。\r\ufeff")), max_size=300)
)
def test_front_matter_like_noise_raises_only_parse_error(noise: str) -> None:
    parse_or_refuse("---\n" + noise, "2022-01-02-202201022222222222.md")
    parse_or_refuse(noise + "\n---\n正文。", None)


FRAGMENTS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "---\n",
            "\n",
            "\r\n",
            "\ufeff",
            "\x00",
            "> ",
            "<p>",
            "</p>",
            "<strong>",
            "&lt;p&gt;",
            "&amp;",
            "<!-- EM_StockImg_Start -->",
            '<p style="display:none">',
            "<>",
            "<http://x.y/NW202201022222222222>",
            "[返回首页](../)",
            "title: ",
            'title: ""\n',
            "date: 2022-13-45 99:99:99\n",
            "date: \n",
            "tags: [a, [b]]\n",
            "categories: {a: 1}\n",
            "（文章来源：",
            '"',
            ": ",
            "- ",
            "**",
            "[x](",
        ]
    ),
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_real_posts_raise_only_parse_error(
    corpus_files: list[Path], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(corpus_files), label="post")
    text = read(path)
    for _ in range(data.draw(st.integers(1, 6), label="mutations")):
        kind = data.draw(st.sampled_from(["delete", "insert", "swap lines"]))
        if kind == "delete" and text:
            start = data.draw(st.integers(0, len(text) - 1))
            text = text[:start] + text[start + data.draw(st.integers(1, 200)) :]
        elif kind == "insert":
            at = data.draw(st.integers(0, len(text)))
            text = text[:at] + data.draw(FRAGMENTS) + text[at:]
        else:
            lines = text.split("\n")
            i = data.draw(st.integers(0, len(lines) - 1))
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    parse_or_refuse(text, data.draw(st.sampled_from([path.name, None, "-x.md"])))


@pytest.mark.parametrize("tagged", ["!!timestamp 2024-13-99 xx", "!!timestamp nope", "!!int x"])
def test_an_explicit_yaml_tag_on_a_bad_value_is_a_parse_error(tagged: str) -> None:
    """Found by bench/fuzz.py: PyYAML raised AttributeError for a bad ``!!timestamp``."""
    text = f'---\ntitle: "t"\ndate: {tagged}\n---\n<p>正文。</p>\n'
    with pytest.raises(ParseError, match="front matter"):
        parse_post(text, "x.md", tz=ZoneInfo("Asia/Shanghai"))
