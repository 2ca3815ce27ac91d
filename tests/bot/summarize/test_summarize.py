"""The sentence splitter, the cleaning filters, the summarizer and query-biased snippets, on
small articles written here (the real corpus is in test_summarize_corpus.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.summarize import (
    SUMMARIZER_VERSION,
    Snippet,
    adds_to_title,
    snippet,
    split_sentences,
    summarize,
)
from bot.summarize.clean import clean_sentence, is_subheading
from bot.summarize.summarizer import cut_at_clause

# A small article of our own: a dateline, a subheading, boilerplate and a source line.
ARTICLE = [
    "新华社北京5月30日电（记者 张明）国家统计局今天发布数据，5月份全国居民消费价格同比上涨2.1%。"
    "其中，城市上涨2.1%，农村上涨2.0%。",
    "食品价格涨幅回落",
    "食品价格同比上涨2.3%，影响居民消费价格上涨约0.42个百分点。统计局专家表示，猪肉价格降幅收窄。",
    "图为市民在超市选购蔬菜。",
    "免责声明：本文仅供参考，不构成投资建议。",
    "（文章来源：新华社）",
]
TITLE = "国家统计局：5月份居民消费价格同比上涨2.1%"


class TestSplitter:
    def test_splits_after_chinese_end_marks_and_semicolons(self) -> None:
        assert split_sentences("今天下雨。明天呢？后天晴！第一；第二") == [
            "今天下雨。",
            "明天呢？",
            "后天晴！",
            "第一；",
            "第二",
        ]

    def test_closing_quotes_and_brackets_stay_with_their_sentence(self) -> None:
        assert split_sentences("他说：“市场已经企稳。”随后离场。") == [
            "他说：“市场已经企稳。”",
            "随后离场。",
        ]
        assert split_sentences("公告称（附件已发布。）下周复牌！」完") == [
            "公告称（附件已发布。）",
            "下周复牌！」",
            "完",
        ]

    def test_quoted_speech_is_not_cut_inside(self) -> None:
        text = "张毓说：“此前从未发现。不过我倾向于是迁徙至此。”随后记者离开。"
        assert split_sentences(text) == [
            "张毓说：“此前从未发现。不过我倾向于是迁徙至此。”",
            "随后记者离开。",
        ]

    def test_ellipsis_inside_quotes_does_not_split(self) -> None:
        text = "“六王毕，四海一……”杜牧笔下的阿房宫引起关注。古都西安计划再造。"
        assert split_sentences(text) == [
            "“六王毕，四海一……”杜牧笔下的阿房宫引起关注。",
            "古都西安计划再造。",
        ]

    def test_ellipsis_outside_quotes_ends_a_sentence(self) -> None:
        assert split_sentences("有时是攀爬桌椅跌落……孩子每次摔跤，家人都在。") == [
            "有时是攀爬桌椅跌落……",
            "孩子每次摔跤，家人都在。",
        ]

    def test_numbers_and_abbreviations_are_not_split(self) -> None:
        text = "CPI同比上涨3.5%。U.S. Steel和Mr. Smith都来了。He left. Then 他走了。"
        assert split_sentences(text) == [
            "CPI同比上涨3.5%。",
            "U.S. Steel和Mr. Smith都来了。",
            "He left.",
            "Then 他走了。",
        ]

    def test_newlines_split_and_blank_lines_vanish(self) -> None:
        assert split_sentences("第一行没有句号\n\n  第二行。 \n") == ["第一行没有句号", "第二行。"]

    def test_exclamation_inside_a_latin_name_does_not_split(self) -> None:
        assert split_sentences("彩妆品牌YES!IC走舒服路线。好!") == [
            "彩妆品牌YES!IC走舒服路线。",
            "好!",
        ]

    def test_unbalanced_quotes_still_split(self) -> None:
        assert split_sentences("他说“没有结尾。下一句。") == ["他说“没有结尾。", "下一句。"]

    def test_book_titles_keep_their_punctuation(self) -> None:
        assert split_sentences("《你好！李焕英》上映了。") == ["《你好！李焕英》上映了。"]


class TestCleaning:
    @pytest.mark.parametrize(
        ("sentence", "kept"),
        [
            ("新华社北京5月30日电（记者 张明）国务院发布通知。", "国务院发布通知。"),
            ("新华社北京5月30日电 国务院发布通知。", "国务院发布通知。"),
            ("本报讯（记者 王五）昨天，市政府召开会议。", "昨天，市政府召开会议。"),
            ("广州日报讯（记者代希奎）有人报假警。", "有人报假警。"),
            ("2021年12月8日讯，国债中标利率为2.4576%。", "国债中标利率为2.4576%。"),
            ("记者 张三 报道：今天全市降雨。", "今天全市降雨。"),
            ("(赵凛松)青海确认发现大红鹳。", "青海确认发现大红鹳。"),
            ("【环球网综合报道】韩国法院审理走私案。", "韩国法院审理走私案。"),
            ("15:20:00滁州市气象台发布预警。", "滁州市气象台发布预警。"),
            ("评论(0)A+澳大利亚央行宣布降息。", "澳大利亚央行宣布降息。"),
            ("每经AI快讯，有投资者提问。", "有投资者提问。"),
            ("他表示（记者 王五 摄）前景向好。", "他表示前景向好。"),
            ("详见http://example.com/a 和 www.example.com 的公告。", "详见 和 的公告。"),
            ("<b>利润</b>增长&amp;回升。", "利润增长&回升。"),
        ],
    )
    def test_datelines_bylines_links_and_tags_are_cut_off(self, sentence: str, kept: str) -> None:
        assert clean_sentence(sentence) == kept

    @pytest.mark.parametrize(
        "sentence",
        [
            "（文章来源：科技日报）",
            "（央行）",
            "原标题：雪球产品被叫停",
            "责任编辑：李四",
            "图片来源：视觉中国",
            "图为工人在车间作业。",
            "点击查看原文",
            "免责声明：本文仅供参考。",
            "风险提示：市场有风险，投资需谨慎。",
            "[返回首页](//finews.withounder.com/)",
            "发布日期：2015-07-12",
            "作者|Liyan",
            "05/05",
            "https://finews.example.com/a.html",
            "大公网内蒙古频道：",
            "他在会上说：",
        ],
    )
    def test_furniture_is_dropped_whole(self, sentence: str) -> None:
        assert clean_sentence(sentence) == ""

    @pytest.mark.parametrize(
        "sentence",
        [
            "2021年11月18日，青海发现大红鹳。",
            "公司12月8日电话会议显示业绩增长。",
            "注意到这一点的投资者不多。",
            "资金返还比例为30%。",
        ],
    )
    def test_article_sentences_that_look_alike_are_kept(self, sentence: str) -> None:
        assert clean_sentence(sentence) == sentence

    def test_short_paragraphs_without_end_marks_are_subheadings(self) -> None:
        assert is_subheading("传统产业变革转型焕发新生")
        assert is_subheading("一、充分释放消费潜力，积极促进消费持续恢复")
        assert not is_subheading("影响有多大？")
        assert not is_subheading("韶关，因中国有色金属之乡而闻名。")
        unpunctuated_body = (
            "这是一段没有句号但是足够长的正文段落，往往来自抓取时丢了标点的网页，它并不是小标题"
        )
        assert len(unpunctuated_body) > 40
        assert not is_subheading(unpunctuated_body)


class TestSummarize:
    def test_skips_dateline_subheading_and_boilerplate(self) -> None:
        summary = summarize(TITLE, ARTICLE, max_chars=120)
        assert summary.startswith("国家统计局今天发布数据")
        for furniture in ("新华社", "记者", "食品价格涨幅回落", "图为", "免责", "文章来源"):
            assert furniture not in summary

    @pytest.mark.parametrize("budget", [10, 25, 40, 60, 120, 300])
    def test_budget_is_respected(self, budget: int) -> None:
        assert 0 < len(summarize(TITLE, ARTICLE, max_chars=budget)) <= budget

    def test_whole_sentences_in_article_order(self) -> None:
        paragraphs = [
            "开场白很短。",
            "央行宣布下调存款准备金率0.5个百分点，释放长期资金约1万亿元。",
            "这次降准是今年第二次降准，央行表示降准将支持实体经济。",
            "天气不错。",
        ]
        summary = summarize("央行宣布降准0.5个百分点", paragraphs, max_chars=120)
        sentences = split_sentences(summary)
        all_sentences = [s for p in paragraphs for s in split_sentences(p)]
        assert all(s in all_sentences for s in sentences)
        positions = [all_sentences.index(s) for s in sentences]
        assert positions == sorted(positions)
        assert "央行宣布下调存款准备金率" in summary

    def test_a_lone_over_long_first_choice_is_cut_at_a_clause_boundary(self) -> None:
        long_sentence = (
            "雅虎发布2014年第四季度财报，并推出了免税方式剥离其持有的阿里巴巴集团15%股权的计划，"
            "打算将这一价值约400亿美元的宝贵投资分配给股东。"
        )
        article = [long_sentence + "截止发稿前，雅虎股价上涨了大约7%。"]
        summary = summarize("", article, max_chars=40)
        assert summary == "雅虎发布2014年第四季度财报…"
        assert len(summary) <= 40

    def test_cut_without_a_usable_boundary_is_a_hard_cut(self) -> None:
        assert cut_at_clause("甲" * 50, 20) == "甲" * 19 + "…"
        assert cut_at_clause("短句。", 20) == "短句。"

    def test_digest_wins_and_is_cleaned_and_fitted(self) -> None:
        digest = "央行发布报告称，将稳定低收入群体消费。（央行）"
        assert summarize(TITLE, ARTICLE, digest=digest) == "央行发布报告称，将稳定低收入群体消费。"
        assert summarize(TITLE, ARTICLE, digest=digest, max_chars=12) == "央行发布报告称…"

    def test_title_similarity_lifts_the_sentence_about_the_title(self) -> None:
        paragraphs = [
            "昨天的天气晴朗，气温适宜，市民纷纷外出游玩。",
            "本市地铁十号线今天正式开通运营，全长三十公里。",
        ]
        summary = summarize("地铁十号线开通运营", paragraphs, max_chars=30)
        assert summary == "本市地铁十号线今天正式开通运营，全长三十公里。"

    def test_store_idf_decides_which_repeated_word_matters(self) -> None:
        paragraphs = [
            "苹果今天发布了新款的手机。",
            "香蕉价格本周出现了大幅上涨。",
            "今年苹果和香蕉都减产。",
            "产地的苹果和香蕉都缺货。",
        ]
        words = ["苹果", "今天", "发布", "新款", "手机", "香蕉", "价格", "本周", "出现", "大幅"]
        common = dict.fromkeys([*words, "上涨", "今年", "减产", "产地", "缺货"], 1.0)
        rare_apple = summarize("", paragraphs, max_chars=14, idf={**common, "苹果": 12.0})
        rare_banana = summarize("", paragraphs, max_chars=14, idf={**common, "香蕉": 12.0})
        assert rare_apple == "苹果今天发布了新款的手机。"
        assert rare_banana == "香蕉价格本周出现了大幅上涨。"

    def test_subheadings_only_post_still_gets_a_summary(self) -> None:
        assert summarize("标题", ["北向资金净流入超50亿"]) == "北向资金净流入超50亿"

    def test_a_body_that_says_nothing_beyond_the_title_has_no_summary(self) -> None:
        assert summarize("美国众议院已有足够票数", []) == ""
        title = "离岸人民币兑美元升至6.3512 为2018年以来最高水平"
        assert summarize(title, ["离岸人民币兑美元升至6.3512，为2018年以来最高水平。"]) == ""
        assert summarize(title, [], digest="离岸人民币兑美元升至6.3512。") == ""
        assert summarize("北向资金", ["北向资金净流入超50亿元，为近一个月最高。"]) != ""

    def test_a_huge_title_and_body_are_compared_in_linear_time(self) -> None:
        """The fuzz found a 50,000-character title holding ingest for minutes: the matcher is
        quadratic on repetitive text, so it sees only the heads of a title no real post has."""
        title = "长" * 50_000
        assert not adds_to_title(title, title + "。")
        assert adds_to_title(title, title + "长长长")
        assert adds_to_title(title[:10], title)
        assert summarize(title, [title + "。"]) == ""

    def test_a_summary_never_ends_on_a_clause_mark(self) -> None:
        items = ["恒指跌0.12%。", "苹果概念股大涨，比亚迪电子涨逾5%；", "科技股走势分化；"]
        summary = summarize("港股午评｜苹果概念股走强", items, max_chars=40)
        assert summary[-1] not in "；，;,、：" and len(summary) <= 40
        long_items = "；".join(f"第{i}项：某公司股价大涨超过百分之{i}" for i in range(12)) + "；"
        summary = summarize("收盘综述", [long_items], max_chars=40)
        assert summary.endswith("…") and len(summary) <= 40

    def test_a_bulletin_is_summarized_by_the_item_its_title_names(self) -> None:
        paragraphs = [
            "东瑞股份：获得广东省商务厅追加2021年度活大猪供港配额2000头；"
            "广生堂：与瑞泰来医药签订战略合作框架协议，双方共同建立战略合作伙伴关系；"
            "某某科技：股东拟减持不超1%公司股份。（证券时报网）"
        ]
        named = summarize("午间公告：广生堂与瑞泰来医药签订战略合作框架协议", paragraphs)
        assert named.startswith("广生堂：与瑞泰来医药签订战略合作框架协议")
        assert named.endswith("。")
        unnamed = summarize("晚间公告：多家公司发布重要事项", paragraphs, max_chars=60)
        assert unnamed.startswith("东瑞股份：")
        assert unnamed.endswith("…") and len(unnamed) <= 60

    def test_budget_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="max_chars"):
            summarize(TITLE, ARTICLE, max_chars=0)

    def test_version_is_a_positive_int(self) -> None:
        assert isinstance(SUMMARIZER_VERSION, int) and SUMMARIZER_VERSION >= 1


class TestSnippet:
    def test_spans_point_at_the_query_terms(self) -> None:
        result = snippet(TITLE, ARTICLE, "猪肉价格")
        assert "猪肉价格降幅收窄" in result.text
        assert result.spans
        marked = [result.text[start:end] for start, end in result.spans]
        assert "猪肉价格" in marked
        assert all(term in "猪肉价格" for term in marked)

    def test_several_query_words_are_all_marked(self) -> None:
        result = snippet(TITLE, ARTICLE, "农村 食品", max_chars=160)
        marked = {result.text[start:end] for start, end in result.spans}
        assert {"农村", "食品"} <= marked
        assert len(result.text) <= 160

    def test_latin_terms_match_regardless_of_case(self) -> None:
        result = snippet("", ["苹果公司发布iPhone新品。", "天气不错。"], "IPHONE")
        assert [result.text[s:e] for s, e in result.spans] == ["iPhone"]

    def test_long_sentence_is_windowed_around_the_match(self) -> None:
        sentence = "，".join(f"第{i}条说明文字比较长" for i in range(30)) + "，最后提到科创板。"
        result = snippet("", [sentence], "科创板", max_chars=40)
        assert len(result.text) <= 40
        assert result.text.startswith("…")
        assert [result.text[s:e] for s, e in result.spans] == ["科创板"]

    def test_no_match_falls_back_to_the_given_text(self) -> None:
        assert snippet(TITLE, ARTICLE, "比特币", fallback="存好的摘要") == Snippet("存好的摘要", ())

    def test_no_match_without_fallback_gives_the_generic_summary(self) -> None:
        result = snippet(TITLE, ARTICLE, "比特币", max_chars=60)
        assert result == Snippet(summarize(TITLE, ARTICLE, max_chars=60), ())

    def test_blank_query_is_no_match(self) -> None:
        assert snippet(TITLE, ARTICLE, "   ", fallback="摘要").spans == ()

    def test_single_letters_of_a_query_do_not_mark_every_word(self) -> None:
        paragraphs = ["Faraday Future今日举办投资者交流会。", "今年A股市场成交活跃。"]
        result = snippet("", paragraphs, "A股")
        assert result.text == "今年A股市场成交活跃。"
        assert [result.text[s:e] for s, e in result.spans] == ["A股"]

    def test_a_single_character_query_still_matches(self) -> None:
        result = snippet("", ["今天金价上涨。", "银价下跌。"], "银")
        assert [result.text[s:e] for s, e in result.spans] == ["银"]


NEWS_ALPHABET = st.sampled_from(
    list("央行发布数据市场上涨下跌公司股票韶关记者电讯报道来源图为")
    + list("。！？；…，、：“”（）《》!?.;: \n")
    + list("AbcU.S3.5%0")
)
news_text = st.text(NEWS_ALPHABET, max_size=300)


class TestProperties:
    @settings(max_examples=150, deadline=None)
    @given(text=news_text)
    def test_splitting_never_loses_or_repeats_text(self, text: str) -> None:
        assert "".join("".join(split_sentences(text)).split()) == "".join(text.split())

    @settings(max_examples=150, deadline=None)
    @given(
        title=news_text,
        paragraphs=st.lists(news_text, max_size=5),
        budget=st.integers(min_value=1, max_value=200),
        digest=st.none() | news_text,
    )
    def test_summaries_always_fit_the_budget(
        self, title: str, paragraphs: list[str], budget: int, digest: str | None
    ) -> None:
        assert len(summarize(title, paragraphs, max_chars=budget, digest=digest)) <= budget

    @settings(max_examples=150, deadline=None)
    @given(
        paragraphs=st.lists(news_text, max_size=5),
        query=st.text(NEWS_ALPHABET, min_size=1, max_size=6),
        budget=st.integers(min_value=1, max_value=200),
    )
    def test_snippet_spans_lie_inside_the_text_in_order(
        self, paragraphs: list[str], query: str, budget: int
    ) -> None:
        result = snippet("标题", paragraphs, query, max_chars=budget)
        assert len(result.text) <= budget
        previous_end = 0
        for start, end in result.spans:
            assert previous_end <= start < end <= len(result.text)
            previous_end = end
