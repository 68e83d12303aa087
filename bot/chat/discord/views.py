"""Like/dislike buttons as ``DynamicItem``s: their state is in the custom_id, so a button under a
message sent before a restart still works after it (the bot re-registers the template)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.chat.discord.identity import NO_MENTIONS, chat_user, pressed_label, service_of
from bot.core.dispatch import guarded
from bot.core.replies import Button

if TYPE_CHECKING:
    from bot.chat.render import Piece

TEMPLATE = r"bm:fb:(?P<action>like|dislike):(?P<track>[A-Za-z0-9]{22})"
TRACKS_PER_ROW = 2
ACTIONS = ("like", "dislike")


def custom_id(action: str, track_id: str) -> str:
    """The custom_id of a feedback button (≤ 100 characters)."""
    return f"bm:fb:{action}:{track_id}"


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """👍 or 👎 for one track; pressing it stores the feedback and answers privately."""

    def __init__(self, action: str, track_id: str, label: str = "", row: int | None = None) -> None:
        style = discord.ButtonStyle.success if action == "like" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label or ("👍" if action == "like" else "👎"),
                style=style,
                custom_id=custom_id(action, track_id),
                row=row,
            )
        )
        self.action = action
        self.track_id = track_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> FeedbackButton:
        """Rebuild the button from a pressed component's custom_id."""
        return cls(match["action"], match["track"], pressed_label(item))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Store the like/dislike and confirm it to the presser only."""
        user = chat_user(interaction.user)
        value = 1 if self.action == "like" else -1
        service = service_of(interaction)
        reply = await guarded(user, service.taste.feedback(user, self.track_id, value))
        await interaction.response.send_message(
            reply.text[:2000], ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def feedback_view(piece: Piece, buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """A view with the feedback buttons of the tracks in ``piece`` (≤ 5 rows of 2 tracks)."""
    numbers = {card.track_id: number for number, card in piece.tracks}
    # Only 👍/👎 are feedback: another Button (forget, blend consent) is never drawn as one.
    wanted = [b for b in buttons if b.action in ACTIONS and b.track_id in numbers]
    if not wanted:
        return None
    view = discord.ui.View(timeout=60.0)  # the DynamicItem registry answers after that
    order = list(dict.fromkeys(b.track_id for b in wanted))
    for button in wanted:
        position = order.index(button.track_id)
        view.add_item(
            FeedbackButton(
                button.action,
                button.track_id,
                f"{button.label} {numbers[button.track_id]}",
                row=min(4, position // TRACKS_PER_ROW),
            )
        )
    return view
