"""What a pressed button answers, for every front end (Telegram buttons, console numbers)."""

from __future__ import annotations

from bot.render.keyboards import Action, OpenArticle, OpenCategory, OpenMenu, OpenPage, OpenTag
from bot.services import articles, browse
from bot.services.replies import Help, Notice, PageQuery, Reply, Viewer
from bot.services.search import open_page
from bot.services.trending import trending_terms
from storage.db import Database

PUBLIC_COMMANDS = (
    "latest",
    "search",
    "categories",
    "tags",
    "category",
    "tag",
    "show",
    "trending",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "help",
)
ADMIN_COMMANDS = ("ingest", "sources", "addsource", "removesource", "stats")


def help_reply(viewer: Viewer, bot_username: str | None) -> Help:
    return Help(PUBLIC_COMMANDS, ADMIN_COMMANDS if viewer.is_admin else (), bot_username)


async def trending_for(db: Database, viewer: Viewer) -> Reply:
    return await trending_terms(db, limit=5 if viewer.in_group else 10)


async def reply_for_action(
    db: Database, action: Action | None, viewer: Viewer, bot_username: str | None = None
) -> Reply:
    """The reply a button asks for; unknown or expired buttons get a polite notice."""
    match action:
        case OpenPage(page):
            return await open_page(db, page, viewer)
        case OpenCategory(slug):
            return await articles.open_category(db, slug, viewer)
        case OpenTag(name):
            return await articles.open_tag(db, name, viewer)
        case OpenArticle(key):
            return await articles.show_article(db, key)
        case OpenMenu("categories"):
            return await browse.categories(db)
        case OpenMenu("tags"):
            return await browse.tags(db)
        case OpenMenu("trending"):
            return await trending_for(db, viewer)
        case OpenMenu("help"):
            return help_reply(viewer, bot_username)
        case OpenMenu(_):
            return await open_page(db, PageQuery("latest"), viewer)
    return Notice("button_expired")
