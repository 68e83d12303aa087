"""A Reply as Discord messages: an embed per piece (≤ 10 tracks, so each piece's 👍/👎 buttons fit
under it), the title said once (in the first embed, never again in a content line above it),
charts attached as images, times as Discord timestamps (each reader's own time zone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord
from discord.utils import escape_markdown

from bot.chat.discord.consent_view import consent_view
from bot.chat.discord.forget_view import forget_view
from bot.chat.discord.timestamps import local_times
from bot.chat.discord.views import feedback_view
from bot.chat.render import Markup, reply_pieces, shorten, split_text
from bot.core.replies import Reply

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4000  # of 4096, with room to spare
TITLE_LIMIT = 256
FOOTER_LIMIT = 2048
TRACKS_PER_MESSAGE = 10
COLOUR = discord.Colour(0x1DB954)
ERROR_COLOUR = discord.Colour(0xD7301F)
MARKDOWN = Markup(escape_markdown, lambda text: f"**{text}**", lambda text: f"*{text}*")


@dataclass
class Outgoing:
    """One Discord message: content line, embed, buttons, attached files."""

    content: str = ""
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    files: list[discord.File] = field(default_factory=list)

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Messageable.send`` / ``Webhook.send``."""
        kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
        if self.content:
            kwargs["content"] = self.content
        if self.embed is not None:
            kwargs["embed"] = self.embed
        if self.view is not None:
            kwargs["view"] = self.view
        if self.files:
            kwargs["files"] = self.files
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``edit_original_response`` / ``Message.edit`` (replaces all)."""
        kwargs: dict[str, Any] = {
            "content": self.content or None,
            "embed": self.embed,
            "view": self.view,
            "allowed_mentions": discord.AllowedMentions.none(),
        }
        if self.files:
            kwargs["attachments"] = self.files
        return kwargs


def messages(reply: Reply) -> list[Outgoing]:
    """The messages that carry ``reply``."""
    if reply.error:
        return [Outgoing(content=chunk) for chunk in split_text("⚠️ " + reply.text, CONTENT_LIMIT)]
    pieces = reply_pieces(
        reply,
        MARKDOWN,
        limit=DESCRIPTION_LIMIT,
        tracks_per_piece=TRACKS_PER_MESSAGE,
        title=False,
        footer=False,
    )
    out: list[Outgoing] = []
    for index, piece in enumerate(pieces):
        description = local_times(piece.text, reply.moments)
        embed = discord.Embed(description=description or None, colour=COLOUR)
        if index == 0 and reply.title:
            embed.title = shorten(reply.title, TITLE_LIMIT)
        # The title is said once, in the embed: no content line repeating it above.
        # A reply carries one kind of buttons: 👍/👎 under their tracks, or /forget's or
        # /blend's consent buttons under the first message.
        view = feedback_view(piece, reply.buttons) or (
            (forget_view(reply.buttons) or consent_view(reply.buttons)) if index == 0 else None
        )
        out.append(Outgoing(embed=embed, view=view))
    last = out[-1]
    if reply.footer and last.embed is not None:
        last.embed.set_footer(text=shorten(reply.footer, FOOTER_LIMIT))
    for number, chart in enumerate(reply.charts):
        file = discord.File(
            chart.path, filename=chart.path.name, description=chart.caption[:1024] or None
        )
        last.files.append(file)
        if number == 0 and last.embed is not None:
            last.embed.set_image(url=f"attachment://{chart.path.name}")
    return out
