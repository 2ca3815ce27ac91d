"""The push feature's user-facing strings, Chinese first, in the shape of `bot.i18n`."""

from __future__ import annotations

from typing import Final

from bot.i18n import Lang

PUSH_MESSAGES: Final[dict[str, dict[Lang, str]]] = {
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
    "paused": {"zh": "已暂停：{reason}", "en": "paused: {reason}"},
    "unsubscribed": {"zh": "已取消 {count} 个订阅。", "en": "Removed {count} subscription(s)."},
    "unknown_subscription": {
        "zh": "没有编号为 {id} 的订阅。",
        "en": "There is no subscription no. {id}.",
    },
    "too_many": {
        "zh": "这里的订阅已达上限（{limit} 个）。",
        "en": "This chat already has the most subscriptions allowed ({limit}).",
    },
}


def push_text(key: str, lang: Lang, **fields: object) -> str:
    """A catalog string in `lang`, with plain (unescaped) field values filled in."""
    return PUSH_MESSAGES[key][lang].format(**fields)
