"""The /forget confirmation as two persistent buttons (``DynamicItem``s): "Yes, erase everything"
and "Cancel". The owner's user id is in the custom_id, so only they can settle it — also after a
restart — and either answer removes the buttons from the question."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.chat.discord.identity import NO_MENTIONS, chat_user, pressed_by, pressed_label, service_of
from bot.core.dispatch import guarded
from bot.core.forgetting import CANCEL, CONFIRM
from bot.core.replies import Button

TEMPLATE = r"bm:forget:(?P<choice>yes|no):(?P<owner>\d{1,20})"
CHOICES = {CONFIRM: "yes", CANCEL: "no"}
NOT_YOURS = "This is not your button: only the person who asked /forget can answer it."


def custom_id(choice: str, owner: str) -> str:
    """The custom_id of a forget button ("yes" or "no") for Discord user ``owner``."""
    return f"bm:forget:{choice}:{owner}"


class ForgetButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """Yes (erase everything) or Cancel, pressable by ``owner`` only."""

    def __init__(self, choice: str, owner: str, label: str = "") -> None:
        yes = choice == "yes"
        super().__init__(
            discord.ui.Button(
                label=label or ("Yes, erase everything" if yes else "Cancel"),
                style=discord.ButtonStyle.danger if yes else discord.ButtonStyle.secondary,
                custom_id=custom_id(choice, owner),
            )
        )
        self.choice = choice
        self.owner = owner

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ForgetButton:
        """Rebuild the button from a pressed component's custom_id."""
        return cls(match["choice"], match["owner"], pressed_label(item))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the owner may answer; anyone else is told so privately."""
        return await pressed_by(interaction, self.owner, NOT_YOURS)

    async def callback(self, interaction: discord.Interaction) -> None:
        """Erase (through the same core path as ``/forget yes``) or cancel; the question loses
        its buttons and shows the answer."""
        user = chat_user(interaction.user)
        service = service_of(interaction)
        await interaction.response.defer()  # erasing may take a moment; the buttons go now
        reply = await guarded(user, service.forget(user, self.choice))
        await interaction.edit_original_response(
            content=None,
            embed=discord.Embed(
                title=reply.title or None,
                description=reply.text[:4000],
                colour=discord.Colour(0xD7301F if reply.error else 0x1DB954),
            ),
            view=None,
            allowed_mentions=NO_MENTIONS,
        )


def forget_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """The Yes/Cancel pair of a /forget question (None when the reply has none)."""
    wanted = [b for b in buttons if b.action in CHOICES]
    if not wanted:
        return None
    view = discord.ui.View(timeout=60.0)  # the DynamicItem registry answers after that
    for button in wanted:
        view.add_item(ForgetButton(CHOICES[button.action], button.track_id, button.label))
    return view
