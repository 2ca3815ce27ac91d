"""Every user-facing string, in Chinese (the default) and English.

Templates are plain text with `{name}` fields; the renderer escapes both the template and
the values, so no message here can break Telegram's HTML.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["zh", "en"]
DEFAULT_LANG: Final[Lang] = "zh"


def language_for(language_code: str | None) -> Lang:
    """English for users whose Telegram language is English, Chinese for everyone else."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


MESSAGES: Final[dict[str, dict[Lang, str]]] = {
    "welcome": {
        "zh": "你好，{name}！我是新闻机器人：看最新新闻、按分类和标签浏览、搜索全文。",
        "en": "Hello, {name}! I am a news bot: read the latest news, browse by category and "
        "tag, and search the full text.",
    },
    "welcome_hint": {
        "zh": "发送 /help 查看全部命令，或点下面的按钮。",
        "en": "Send /help for every command, or tap a button below.",
    },
    "help_title": {"zh": "可用命令", "en": "Commands"},
    "help_inline": {
        "zh": "在任何聊天里输入 @{bot} 关键词 即可搜索并分享新闻。",
        "en": "Type @{bot} and a keyword in any chat to search and share news.",
    },
    "help_admin_title": {"zh": "管理员命令", "en": "Admin commands"},
    "cmd_start": {"zh": "开始使用", "en": "Start"},
    "cmd_help": {"zh": "帮助", "en": "Help"},
    "cmd_latest": {
        "zh": "最新新闻 [条数] [分类|#标签]",
        "en": "Latest news [count] [category|#tag]",
    },
    "cmd_search": {"zh": "搜索 关键词 [#标签]", "en": "Search: keywords [#tag]"},
    "cmd_categories": {"zh": "全部分类", "en": "All categories"},
    "cmd_tags": {"zh": "热门标签", "en": "Popular tags"},
    "cmd_category": {"zh": "某个分类的新闻", "en": "News in a category"},
    "cmd_tag": {"zh": "某个标签的新闻", "en": "News with a tag"},
    "cmd_show": {"zh": "查看一篇新闻的摘要和链接", "en": "One article's summary and link"},
    "cmd_trending": {"zh": "近期热词", "en": "Trending terms"},
    "cmd_subscribe": {
        "zh": "订阅推送 [cat:分类] [#标签] [+关键词] [-排除词] [every 30m|daily 08:00]",
        "en": "Subscribe to pushes [cat:slug] [#tag] [+keyword] [-keyword] [every 30m|daily 08:00]",
    },
    "cmd_unsubscribe": {"zh": "取消本聊天的订阅", "en": "Cancel this chat's subscriptions"},
    "cmd_subscriptions": {"zh": "查看和管理订阅", "en": "List and manage subscriptions"},
    "cmd_ingest": {"zh": "立即抓取新闻 [来源]", "en": "Ingest news now [source]"},
    "cmd_sources": {"zh": "抓取来源", "en": "Ingest sources"},
    "cmd_stats": {"zh": "运行统计", "en": "Statistics"},
    "button_latest": {"zh": "📰 最新", "en": "📰 Latest"},
    "button_categories": {"zh": "🗂 分类", "en": "🗂 Categories"},
    "button_tags": {"zh": "🏷 标签", "en": "🏷 Tags"},
    "button_trending": {"zh": "🔥 热词", "en": "🔥 Trending"},
    "button_search_inline": {"zh": "🔎 搜索", "en": "🔎 Search"},
    "button_prev": {"zh": "◀ 上一页", "en": "◀ Previous"},
    "button_next": {"zh": "下一页 ▶", "en": "Next ▶"},
    "button_open": {"zh": "🔗 原文", "en": "🔗 Article"},
    "title_latest": {"zh": "最新新闻", "en": "Latest news"},
    "title_category": {"zh": "分类 #{category}", "en": "Category #{category}"},
    "title_tag": {"zh": "标签 #{tag}", "en": "Tag #{tag}"},
    "title_search": {"zh": "搜索「{query}」", "en": "Search “{query}”"},
    "title_search_tag": {"zh": "搜索「{query}」· #{tag}", "en": "Search “{query}” · #{tag}"},
    "title_categories": {"zh": "全部分类", "en": "Categories"},
    "title_tags": {"zh": "热门标签", "en": "Popular tags"},
    "title_trending": {"zh": "近期热词", "en": "Trending terms"},
    "title_stats": {"zh": "运行统计", "en": "Statistics"},
    "title_sources": {"zh": "抓取来源", "en": "Ingest sources"},
    "page_range": {
        "zh": "第 {first}–{last} 条，共 {total} 条",
        "en": "Items {first}–{last} of {total}",
    },
    "page_range_open": {"zh": "第 {first}–{last} 条", "en": "Items {first}–{last}"},
    "count_articles": {"zh": "{count} 篇", "en": "{count} articles"},
    "also_in": {"zh": "另见：{sources}", "en": "Also in: {sources}"},
    "flash": {"zh": "⚡快讯", "en": "⚡Flash"},
    "source_line": {"zh": "来源：{source}", "en": "Source: {source}"},
    "push_link": {"zh": "原文", "en": "Read"},
    "read_more": {"zh": "阅读原文", "en": "Read the article"},
    "show_hint": {"zh": "详情：{command}", "en": "More: {command}"},
    "trending_item": {"zh": "{count} 篇，例如：{title}", "en": "{count} articles, e.g. {title}"},
    "trending_stories": {"zh": "{count} 篇报道", "en": "{count} stories"},
    "empty_latest": {"zh": "还没有新闻。", "en": "There is no news yet."},
    "empty_category": {
        "zh": "分类「{category}」下没有新闻。发送 /categories 查看全部分类。",
        "en": "No news in category “{category}”. Send /categories to see them all.",
    },
    "empty_tag": {
        "zh": "标签「{tag}」下没有新闻。发送 /tags 查看热门标签。",
        "en": "No news with tag “{tag}”. Send /tags to see popular tags.",
    },
    "empty_search": {
        "zh": "没有找到与「{query}」相关的新闻，换个关键词试试？",
        "en": "Nothing found for “{query}”. Try other keywords?",
    },
    "empty_categories": {"zh": "还没有分类。", "en": "There are no categories yet."},
    "empty_tags": {"zh": "还没有标签。", "en": "There are no tags yet."},
    "empty_trending": {
        "zh": "近期新闻太少，暂时没有热词。",
        "en": "Too little recent news for trending terms.",
    },
    "usage_search": {
        "zh": "请在 /search 后面写上关键词，例如：/search 韶关",
        "en": "Put keywords after /search, for example: /search 5G",
    },
    "usage_category": {
        "zh": "请写上分类，例如：/category kejiribao 。发送 /categories 查看全部分类。",
        "en": "Name a category, for example: /category kejiribao. Send /categories for all.",
    },
    "usage_tag": {
        "zh": "请写上标签，例如：/tag 科技日报新闻 。发送 /tags 查看热门标签。",
        "en": "Name a tag, for example: /tag 科技日报新闻. Send /tags for popular tags.",
    },
    "usage_show": {
        "zh": "请写上文章编号，例如：/show 202204202349852762",
        "en": "Give an article key, for example: /show 202204202349852762",
    },
    "latest_count": {
        "zh": "条数应在 1 到 {max} 之间，例如：/latest 5",
        "en": "The count must be between 1 and {max}, for example: /latest 5",
    },
    "usage_latest": {
        "zh": "用法：/latest [条数] [分类|#标签]，"
        "例如：/latest 5 kejiribao 或 /latest #科技日报新闻",
        "en": "Usage: /latest [count] [category|#tag], for example: /latest 5 kejiribao",
    },
    "query_too_long": {
        "zh": "关键词太长了（最多 {max} 个字），请缩短后再试。",
        "en": "The query is too long (at most {max} characters); please shorten it.",
    },
    "not_found": {
        "zh": "找不到编号为 {key} 的文章，它可能已被删除。",
        "en": "There is no article with key {key}; it may have been removed.",
    },
    "button_expired": {
        "zh": "这个按钮已过期，请重新发送命令。",
        "en": "This button has expired; please send the command again.",
    },
    "unknown_command": {
        "zh": "我不认识 /{command} 这个命令。发送 /help 查看全部命令。",
        "en": "I don't know the command /{command}. Send /help for the list.",
    },
    "error_generic": {
        "zh": "抱歉，处理时出了点问题，请稍后再试。",
        "en": "Sorry, something went wrong. Please try again later.",
    },
    "admin_only": {
        "zh": "抱歉，这个命令只有管理员可以使用。",
        "en": "Sorry, only administrators may use this command.",
    },
    "ingest_started": {
        "zh": "开始抓取：{sources}。完成后我会告诉你结果。",
        "en": "Ingesting {sources}. I will report back when it is done.",
    },
    "ingest_busy": {
        "zh": "已有一次抓取正在进行，请等它完成。",
        "en": "An ingest is already running; please wait for it to finish.",
    },
    "ingest_no_sources": {
        "zh": "没有配置抓取来源（NEWSBOT_SOURCES），请在命令后写上来源。",
        "en": "No sources are configured (NEWSBOT_SOURCES); name one after the command.",
    },
    "ingest_done": {
        "zh": "抓取完成：新增 {added}，更新 {updated}，未变 {unchanged}，失败 {failed}。",
        "en": "Ingest done: {added} added, {updated} updated, {unchanged} unchanged, "
        "{failed} failed.",
    },
    "ingest_failure": {"zh": "{source}：{error}", "en": "{source}: {error}"},
    "ingest_crashed": {
        "zh": "抓取失败：{error}",
        "en": "The ingest failed: {error}",
    },
    "sources_none": {
        "zh": "没有配置抓取来源（NEWSBOT_SOURCES）。用 /addsource 添加一个。",
        "en": "No sources are configured (NEWSBOT_SOURCES). Add one with /addsource.",
    },
    "stats_articles": {"zh": "文章：{count}", "en": "Articles: {count}"},
    "stats_stories": {"zh": "新闻事件：{count}", "en": "Stories: {count}"},
    "stats_categories": {"zh": "分类：{count}", "en": "Categories: {count}"},
    "stats_tags": {"zh": "标签：{count}", "en": "Tags: {count}"},
    "stats_last_ingest": {
        "zh": "上次抓取：{when}（新增 {added}，更新 {updated}，未变 {unchanged}，失败 {failed}）",
        "en": "Last ingest: {when} ({added} added, {updated} updated, {unchanged} unchanged, "
        "{failed} failed)",
    },
    "stats_no_ingest": {"zh": "上次抓取：无", "en": "Last ingest: never"},
    "stats_database": {"zh": "数据库：{backend}，{size}", "en": "Database: {backend}, {size}"},
    "stats_uptime": {"zh": "运行时间：{uptime}", "en": "Uptime: {uptime}"},
    "inline_empty": {"zh": "输入关键词搜索新闻", "en": "Type keywords to search the news"},
    "inline_none": {"zh": "没有找到「{query}」", "en": "Nothing found for “{query}”"},
    "console_intro": {
        "zh": "newsbot 终端聊天（数据库：{database}）。输入命令，例如 /latest 或 /search 无人驾驶；"
        "输入按钮编号即可点按钮；输入 /quit 退出。",
        "en": "newsbot console (database: {database}). Type a command such as /latest or "
        "/search 5G; type a button's number to press it; /quit leaves.",
    },
    "console_demo_loaded": {
        "zh": "已载入 {count} 篇示例新闻。",
        "en": "Loaded {count} sample posts.",
    },
    "console_no_buttons": {
        "zh": "没有编号为 {number} 的按钮。",
        "en": "There is no button {number}.",
    },
    # Subscriptions and pushed headlines.
    "digest_heading": {"zh": "新闻摘要 · {count} 条", "en": "News digest · {count} items"},
    "subscribed": {
        "zh": "已订阅（编号 {id}）：{summary}",
        "en": "Subscribed (no. {id}): {summary}",
    },
    "summary_all": {"zh": "全部新闻", "en": "all news"},
    "summary_categories": {"zh": "分类 {value}", "en": "categories {value}"},
    "summary_tags": {"zh": "标签 {value}", "en": "tags {value}"},
    "summary_include": {"zh": "包含 {value}", "en": "including {value}"},
    "summary_exclude": {"zh": "排除 {value}", "en": "excluding {value}"},
    "summary_max": {"zh": "每次最多 {value} 条", "en": "at most {value} per push"},
    "schedule_immediate": {"zh": "即时推送", "en": "as soon as published"},
    "schedule_interval": {"zh": "每 {minutes} 分钟摘要", "en": "a digest every {minutes} min"},
    "schedule_daily": {"zh": "每天 {at} 摘要", "en": "a daily digest at {at}"},
    "subscribe_choose_schedule": {
        "zh": "想怎样接收新闻？",
        "en": "How would you like to receive news?",
    },
    "subscribe_choose_category": {
        "zh": "选择一个分类，或接收全部新闻：",
        "en": "Pick a category, or get all news:",
    },
    "button_immediate": {"zh": "⚡ 即时", "en": "⚡ Instantly"},
    "button_hourly": {"zh": "🕐 每小时摘要", "en": "🕐 Hourly digest"},
    "button_daily": {"zh": "📅 每天 08:00", "en": "📅 Daily 08:00"},
    "button_all": {"zh": "全部新闻", "en": "All news"},
    "button_remove": {"zh": "❌ 取消 {id}", "en": "❌ Remove {id}"},
    "subscribe_usage": {
        "zh": "用法：/subscribe [@频道] [分类:名称] [#标签] [+关键词] [-排除词] "
        "[now | every 30m | daily 08:00] [max 5]",
        "en": "Usage: /subscribe [@channel] [cat:slug] [#tag] [+keyword] [-keyword] "
        "[now | every 30m | daily 08:00] [max 5]",
    },
    "bad_argument": {"zh": "看不懂“{value}”。", "en": "I don't understand “{value}”."},
    "admins_only": {
        "zh": "只有本群管理员可以修改订阅。",
        "en": "Only this group's administrators can change its subscriptions.",
    },
    "channel_admins_only": {
        "zh": "只有频道 {channel} 的管理员可以修改它的订阅。",
        "en": "Only administrators of {channel} can change its subscriptions.",
    },
    "channel_cannot_post": {
        "zh": "我还不能在 {channel} 发消息：请先把我设为频道管理员并允许发布消息。",
        "en": "I cannot post in {channel} yet: make me an administrator allowed to post.",
    },
    "channel_not_found": {
        "zh": "找不到频道 {channel}。",
        "en": "I cannot find the channel {channel}.",
    },
    "channel_from_private": {
        "zh": "请在与我的私聊中订阅频道。",
        "en": "Subscribe a channel from a private chat with me.",
    },
    "no_subscriptions": {"zh": "这里还没有订阅。", "en": "There are no subscriptions here."},
    "subscriptions_title": {"zh": "订阅列表", "en": "Subscriptions"},
    "pause_blocked": {"zh": "用户屏蔽了机器人", "en": "blocked by the user"},
    "pause_removed": {"zh": "机器人被移出了聊天", "en": "removed from the chat"},
    "pause_left": {"zh": "机器人已离开聊天", "en": "left the chat"},
    "pause_muted": {"zh": "机器人没有发言权限", "en": "not allowed to send messages"},
    "pause_cannot_post": {
        "zh": "机器人没有在频道发布的权限",
        "en": "not allowed to post in the channel",
    },
    "pause_forbidden": {"zh": "Telegram 拒绝发送（{detail}）", "en": "Telegram refused ({detail})"},
    "paused": {"zh": "已暂停：{reason}", "en": "paused: {reason}"},
    "resumed": {
        "zh": "已恢复 {count} 个暂停的订阅，从现在起推送新闻。",
        "en": "Resumed {count} paused subscription(s); news from now on will be pushed.",
    },
    "unsubscribed": {"zh": "已取消 {count} 个订阅。", "en": "Removed {count} subscription(s)."},
    "unknown_subscription": {
        "zh": "没有编号为 {id} 的订阅。",
        "en": "There is no subscription no. {id}.",
    },
    "too_many": {
        "zh": "这里的订阅已达上限（{limit} 个）。",
        "en": "This chat already has the most subscriptions allowed ({limit}).",
    },
    "cmd_addsource": {"zh": "添加抓取来源（先试读）", "en": "Add a source (after a trial read)"},
    "cmd_removesource": {"zh": "删除抓取来源", "en": "Remove a source"},
    "source_refused_private_address": {
        "zh": "已拒绝：{host} 指向内网、本机或元数据地址（{address}）。",
        "en": "Refused: {host} is a loopback, private, link-local or metadata address ({address}).",
    },
    "source_refused_outside_roots": {
        "zh": "已拒绝：{path} 不在允许的本地来源目录内（NEWSBOT_LOCAL_SOURCE_ROOTS）。",
        "en": "Refused: {path} is outside the folders allowed for local sources "
        "(NEWSBOT_LOCAL_SOURCE_ROOTS).",
    },
    "source_refused_no_such_path": {
        "zh": "已拒绝：没有 {path} 这个文件或目录。",
        "en": "Refused: there is no file or folder {path}.",
    },
    "source_refused_scheme": {
        "zh": "已拒绝：来源只能是 http(s) 网址、git+ 网址或允许目录内的路径。",
        "en": "Refused: a source must be an http(s) URL, a git+ URL or a path in an allowed "
        "folder.",
    },
    "source_refused_unresolvable": {
        "zh": "已拒绝：无法解析主机 {host}。",
        "en": "Refused: the host {host} cannot be resolved.",
    },
    "addsource_usage": {
        "zh": "用法：/addsource 网址或路径 [tz=Asia/Shanghai] [every=15m]",
        "en": "Usage: /addsource URL_OR_PATH [tz=Asia/Shanghai] [every=15m]",
    },
    "addsource_bad_interval": {
        "zh": "看不懂间隔 {value}（例如 every=10m、every=1h）。",
        "en": "Cannot read the interval {value} (for example every=10m, every=1h).",
    },
    "source_updated": {
        "zh": "已更新来源 #{id} 的设置，下一轮就按新设置抓取。",
        "en": "Updated the settings of source #{id}; the next round uses them.",
    },
    "addsource_bad_tz": {
        "zh": "不认识时区 {tz}（可用 IANA 名称如 Asia/Shanghai，或 jekyll-utc[:时区]）。",
        "en": "Unknown time zone {tz} (use an IANA name such as Asia/Shanghai, or "
        "jekyll-utc[:ZONE]).",
    },
    "source_exists": {
        "zh": "这个来源已经在列表中（#{id}）。",
        "en": "This source is already followed (#{id}).",
    },
    "source_unreadable": {"zh": "无法读取：{error}", "en": "Cannot read it: {error}"},
    "removesource_usage": {"zh": "用法：/removesource 编号", "en": "Usage: /removesource ID"},
    "ingest_usage": {
        "zh": "用法：/ingest [编号|网址]",
        "en": "Usage: /ingest [ID|URL]",
    },
    "source_not_found": {"zh": "没有编号为 {id} 的来源。", "en": "There is no source no. {id}."},
    "source_removed": {
        "zh": "已删除来源 #{id}：{location}",
        "en": "Removed source #{id}: {location}",
    },
    "preview_found": {
        "zh": "试读 {location}（{kind}）：找到 {count} 篇。",
        "en": "Trial read of {location} ({kind}): {count} found.",
    },
    "preview_saved": {
        "zh": "已保存为来源 #{id}，将按计划抓取。",
        "en": "Saved as source #{id}; it will be read on schedule.",
    },
    "preview_not_saved": {
        "zh": "没有读到可用的新闻，未保存。",
        "en": "Nothing readable was found, so nothing was saved.",
    },
    "preview_problems": {
        "zh": "{count} 项无法读取，例如：",
        "en": "{count} could not be read, for example:",
    },
    "source_status_ok": {"zh": "正常", "en": "ok"},
    "source_status_partial": {"zh": "部分失败", "en": "partly failed"},
    "source_status_failed": {"zh": "失败", "en": "failed"},
    "source_status_not_modified": {"zh": "未更新", "en": "not modified"},
    "source_status_never": {"zh": "尚未运行", "en": "not run yet"},
    "source_health": {
        "zh": "{kind} · 上次：{when} · {status} · 条目 {items}",
        "en": "{kind} · last run: {when} · {status} · {items} items",
    },
    "source_schedule": {
        "zh": "每 {interval} 一次，下次：{when}",
        "en": "every {interval}, next: {when}",
    },
    "source_backoff": {
        "zh": "连续失败 {count} 次，重试已延后",
        "en": "{count} failures in a row, retries backed off",
    },
    "source_error": {"zh": "错误：{error}", "en": "Error: {error}"},
    "source_gap": {
        "zh": "⚠ 可能漏掉了新闻（{count} 次，最近 {when}）：每次读到的条目都比已存的更新，"
        "说明两次抓取之间有条目被挤出了 feed。请缩短抓取间隔、加大 jekyll-feed 的 "
        "posts_limit，或改用网站的 git 源（git+https://…）。",
        "en": "⚠ Items may have been missed ({count} times, last {when}): every entry read was "
        "newer than the newest stored, so entries left the feed between polls. Use a shorter "
        "interval, a larger jekyll-feed posts_limit, or the site's git source (git+https://…).",
    },
    "source_button_run": {"zh": "▶ 立即抓取 #{id}", "en": "▶ Run #{id} now"},
    "source_button_remove": {"zh": "✖ 删除 #{id}", "en": "✖ Remove #{id}"},
    "ingest_not_modified": {
        "zh": "未更新（服务器答复 304）：{source}",
        "en": "Not modified (the server answered 304): {source}",
    },
    "ingest_gap": {
        "zh": "⚠ 可能漏掉了新闻：{source}。请缩短抓取间隔、加大 posts_limit，或改用 git 源。",
        "en": "⚠ Items may have been missed: {source}. Use a shorter interval, a larger "
        "posts_limit, or the git source.",
    },
}

MESSAGES["subscribe_bad_argument"] = {
    lang: f"{MESSAGES['bad_argument'][lang]}\n{MESSAGES['subscribe_usage'][lang]}"
    for lang in ("zh", "en")
}


def text(lang: Lang, key: str, /, **values: object) -> str:
    """The plain-text message `key` in `lang`, with its fields filled in."""
    template = MESSAGES[key].get(lang) or MESSAGES[key][DEFAULT_LANG]
    return template.format(**values) if values else template
