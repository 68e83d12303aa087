"""/blend's consent button ("Allow my taste in blends") as a persistent ``DynamicItem``: the
member it names is in the custom_id (``bm:pv:on:<owner>``), so only they can press it — also after
a restart. A press runs ``/privacy blend on`` for them, in the server it is pressed in, and takes
the button off the message (any other button stays)."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.chat.discord.identity import NO_MENTIONS, chat_user, pressed_by, pressed_label, service_of
from bot.core.blend import ALLOW, ALLOW_LABEL
from bot.core.dispatch import guarded
from bot.core.replies import Button, Reply

TEMPLATE = r"bm:pv:on:(?P<owner>\d{1,20})"
NOT_YOURS = "This button is for the member it names: /privacy blend on allows your own taste."


def custom_id(owner: str) -> str:
    """The custom_id of the consent button for Discord user ``owner``."""
    return f"bm:pv:on:{owner}"


class ConsentButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """ "Allow my taste in blends", pressable by ``owner`` only."""

    def __init__(self, owner: str, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=(label or ALLOW_LABEL)[:80],
                style=discord.ButtonStyle.primary,
                custom_id=custom_id(owner),
            )
        )
        self.owner = owner

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ConsentButton:
        """Rebuild the button from a pressed component's custom_id."""
        return cls(match["owner"], pressed_label(item))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the member named may allow it; anyone else is told so privately."""
        return await pressed_by(interaction, self.owner, NOT_YOURS)

    async def callback(self, interaction: discord.Interaction) -> None:
        """``/privacy blend on`` for the presser; the button leaves the message; the answer is
        said to them privately."""
        user = chat_user(interaction.user)
        service = service_of(interaction)
        place = f"discord:{interaction.guild_id}" if interaction.guild_id else ""
        if service.blend is None:
            reply = Reply(text="Blends are not offered here.", error=True)
        else:
            reply = await guarded(user, service.blend.privacy(user, "blend", "on", place=place))
        await interaction.response.edit_message(
            view=_without(interaction.message, self.custom_id), allowed_mentions=NO_MENTIONS
        )
        await interaction.followup.send(
            reply.text[:2000], ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def _without(message: discord.Message | None, pressed: str) -> discord.ui.View | None:
    """The message's buttons but the pressed one (None when none is left)."""
    if message is None:
        return None
    view = discord.ui.View.from_message(message, timeout=None)
    for item in list(view.children):
        if getattr(item, "custom_id", None) == pressed:
            view.remove_item(item)
    return view if view.children else None


def consent_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """The consent buttons of a /blend reply (None when it has none)."""
    wanted = [b for b in buttons if b.action == ALLOW]
    if not wanted:
        return None
    view = discord.ui.View(timeout=60.0)  # the DynamicItem registry answers after that
    for button in wanted[:25]:
        view.add_item(ConsentButton(button.track_id, button.label))
    return view
