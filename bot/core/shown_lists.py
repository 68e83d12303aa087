"""Long lists as pages: a reply with many tracks is kept (in SQLite, by a short random key) so
that a chat can show it one page at a time and show any page later — after a restart too.

A page is the reply itself with only that page's tracks (and their feedback buttons); its title,
text, notes, footer and times are on every page, and its tracks keep their numbers in the whole
list. Showing a page changes nothing, so anyone who sees the message may turn its pages. Each
listener's latest ``KEPT`` lists are kept; /forget erases them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.core.replies import Button, Moment, Reply, TrackCard
from storage.shown_list_store import ShownListStore

TRACKS_PER_PAGE = 10
#: A list key: URL-safe letters, short enough for a custom_id ("bm:pg:<key>:<page>").
KEY_PATTERN = r"[A-Za-z0-9_-]{8,16}"


@dataclass(frozen=True)
class ListPage:
    """Page ``number`` (0-based) of ``count`` of a kept list: ``reply`` holds that page's tracks,
    the first of them number ``first`` of the whole list."""

    key: str
    number: int
    count: int
    first: int
    reply: Reply


def page_count(reply: Reply, per_page: int = TRACKS_PER_PAGE) -> int:
    """How many pages ``reply``'s tracks fill (at least one)."""
    return max(1, -(-len(reply.tracks) // per_page))


def page_of(key: str, reply: Reply, number: int, per_page: int = TRACKS_PER_PAGE) -> ListPage:
    """Page ``number`` of ``reply`` (clamped to the pages there are)."""
    count = page_count(reply, per_page)
    number = min(max(number, 0), count - 1)
    tracks = reply.tracks[number * per_page : (number + 1) * per_page]
    shown = {card.track_id for card in tracks}
    buttons = tuple(b for b in reply.buttons if b.track_id in shown)
    return ListPage(
        key, number, count, number * per_page + 1, replace(reply, tracks=tracks, buttons=buttons)
    )


def to_json(reply: Reply) -> str:
    """What is kept of a reply: its texts, tracks, buttons and times (never charts)."""
    return json.dumps(
        {
            "text": reply.text,
            "title": reply.title,
            "footer": reply.footer,
            "private": reply.private,
            "notes": list(reply.notes),
            "tracks": [asdict(card) for card in reply.tracks],
            "buttons": [asdict(button) for button in reply.buttons],
            "moments": [
                {"at": m.at.isoformat(), "text": m.text, "until": m.until} for m in reply.moments
            ],
        }
    )


def from_json(text: str) -> Reply:
    """The reply ``to_json`` kept."""
    data: dict[str, Any] = json.loads(text)
    return Reply(
        text=data["text"],
        title=data["title"],
        footer=data["footer"],
        private=data["private"],
        notes=tuple(data["notes"]),
        tracks=tuple(TrackCard(**card) for card in data["tracks"]),
        buttons=tuple(Button(**button) for button in data["buttons"]),
        moments=tuple(
            Moment(dt.datetime.fromisoformat(m["at"]), m["text"], m["until"])
            for m in data["moments"]
        ),
    )


class ShownLists:
    """Keeps long lists and answers "page k of list key"."""

    def __init__(self, store: ShownListStore, per_page: int = TRACKS_PER_PAGE) -> None:
        self.store = store
        self.per_page = per_page

    def needs_pages(self, reply: Reply) -> bool:
        """Whether ``reply`` has more tracks than one page shows (a reply with buttons other than
        its tracks' 👍/👎 — a blend's consent ask — is sent whole: pages carry only those)."""
        others = any(b.action not in ("like", "dislike") for b in reply.buttons)
        return not reply.error and not others and len(reply.tracks) > self.per_page

    async def keep(self, uid: int, reply: Reply) -> ListPage:
        """Keep ``reply`` for listener ``uid``; its first page."""
        key = secrets.token_urlsafe(9)  # 12 characters of [A-Za-z0-9_-]
        await asyncio.to_thread(self.store.keep, key, uid, to_json(reply), time.time())
        return page_of(key, reply, 0, self.per_page)

    async def page(self, key: str, number: int) -> ListPage | None:
        """Page ``number`` of the list kept under ``key`` (None: erased, or too old to keep)."""
        kept = await asyncio.to_thread(self.store.get, key)
        if kept is None:
            return None
        return page_of(key, from_json(kept), number, self.per_page)
