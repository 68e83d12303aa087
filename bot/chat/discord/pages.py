"""A long list as one Discord message turned page by page: each page is one embed of up to ten
tracks, their 👍/👎 buttons (likes and dislikes in rows of five), and a last row Prev / "k of N" /
Next. The page buttons are ``DynamicItem``s whose custom_id names the kept list and the page
(``bm:pg:<key>:<page>``), so they work after a restart; pressing one edits the message in place.
Anyone who sees the message may turn its pages: that changes nothing."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.chat.discord.identity import NO_MENTIONS, pressed_label, service_of
from bot.chat.discord.render import (
    COLOUR,
    DESCRIPTION_LIMIT,
    FOOTER_LIMIT,
    MARKDOWN,
    TITLE_LIMIT,
    Outgoing,
)
from bot.chat.discord.timestamps import local_times
from bot.chat.discord.views import FeedbackButton
from bot.chat.render import reply_pieces, shorten
from bot.core.shown_lists import KEY_PATTERN, ListPage

log = logging.getLogger(__name__)
TEMPLATE = rf"bm:pg:(?P<key>{KEY_PATTERN}):(?P<page>-?\d{{1,4}})"
BUTTONS_PER_ROW = 5
NAV_ROW = 4
GONE = (
    "This list is no longer kept (I keep each listener's last 20 lists, and /forget erases "
    "them): run the command again for a fresh one."
)


def custom_id(key: str, page: int) -> str:
    """The custom_id of the button that shows page ``page`` (0-based) of list ``key``."""
    return f"bm:pg:{key}:{page}"


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """Shows one page of a kept list in the message it is under."""

    def __init__(self, key: str, page: int, label: str = "", disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or f"{page + 1}",
                style=discord.ButtonStyle.primary,
                custom_id=custom_id(key, page),
                disabled=disabled,
                row=NAV_ROW,
            )
        )
        self.key = key
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> PageButton:
        """Rebuild the button from a pressed component's custom_id."""
        return cls(match["key"], int(match["page"]), pressed_label(item))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Replace the message with the wanted page (UPDATE_MESSAGE); a list no longer kept is
        said privately."""
        lists = service_of(interaction).lists
        page = await lists.page(self.key, self.page) if lists is not None else None
        if page is None:
            await interaction.response.send_message(
                GONE, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        out = page_message(page)
        await interaction.response.edit_message(
            content=None, embed=out.embed, view=out.view, allowed_mentions=NO_MENTIONS
        )


def page_message(page: ListPage) -> Outgoing:
    """Page ``page`` as one message: its embed (times as Discord timestamps), its tracks'
    feedback buttons and the page buttons."""
    reply = page.reply
    pieces = reply_pieces(
        reply,
        MARKDOWN,
        limit=DESCRIPTION_LIMIT,
        tracks_per_piece=len(reply.tracks) or 1,
        title=False,
        footer=False,
        first=page.first,
    )
    text = "\n\n".join(local_times(piece.text, reply.moments) for piece in pieces)
    embed = discord.Embed(description=shorten(text, 4096) or None, colour=COLOUR)
    if reply.title:
        embed.title = shorten(reply.title, TITLE_LIMIT)
    if reply.footer:
        embed.set_footer(text=shorten(reply.footer, FOOTER_LIMIT))
    return Outgoing(embed=embed, view=page_view(page))


def page_view(page: ListPage) -> discord.ui.View:
    """The page's 👍 and 👎 in rows of five (likes, then dislikes, per five tracks), then
    Prev / "k of N" (not pressable) / Next."""
    view = discord.ui.View(timeout=60.0)  # the DynamicItem registry answers after that
    order = list(dict.fromkeys(card.track_id for card in page.reply.tracks))
    for button in page.reply.buttons:
        if button.track_id not in order:
            continue
        position = order.index(button.track_id)
        group, dislike = position // BUTTONS_PER_ROW, button.action != "like"
        view.add_item(
            FeedbackButton(
                button.action,
                button.track_id,
                f"{button.label} {page.first + position}",
                row=min(NAV_ROW - 1, 2 * group + int(dislike)),
            )
        )
    last = page.count - 1
    view.add_item(PageButton(page.key, page.number - 1, "◀ Prev", disabled=page.number == 0))
    view.add_item(
        PageButton(page.key, page.number, f"{page.number + 1} of {page.count}", disabled=True)
    )
    view.add_item(PageButton(page.key, page.number + 1, "Next ▶", disabled=page.number >= last))
    return view
