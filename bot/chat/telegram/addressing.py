"""Which typed commands are for this bot: in a group, several bots read the same commands.

``/recommend@OtherBot`` is another bot's, in any chat. In a group a bare ``/ban`` that beatmatch
does not offer on Telegram belongs to some other bot, so it is passed over in silence; addressed to
this bot (``/ban@ThisBot``) or written in a private chat, it still gets the helpful "I don't
know /ban" answer. The bot's own username comes from ``getMe`` (python-telegram-bot asks at
``initialize``); Telegram compares usernames without regard to case.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Message, MessageEntity
from telegram.constants import ChatType

from bot.core.commands import ALIASES, COMMAND_NAMES

PLATFORM = "telegram"


@dataclass(frozen=True)
class TypedCommand:
    """The leading ``/name@target`` of a message: its name (lower case) and target ("" if none)."""

    name: str
    target: str


def leading_command(message: Message) -> TypedCommand | None:
    """The command a message starts with (its ``bot_command`` entity at offset 0), else None."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            head = text[1 : entity.length]
            name, _, target = head.partition("@")
            return TypedCommand(name.lower(), target.lower())
    return None


def offered_here(name: str) -> bool:
    """True if beatmatch answers ``/name`` (or one of its aliases) on Telegram."""
    spec = COMMAND_NAMES.get(ALIASES.get(name, name))
    return spec is not None and PLATFORM in spec.fronts


def for_this_bot(message: Message, username: str) -> bool:
    """True if this bot should answer ``message``: not a command addressed to another bot, and
    in a group not a bare command beatmatch does not offer (another bot's)."""
    command = leading_command(message)
    if command is None:
        return True  # plain text: only private chats route it here (a pasted link address)
    if command.target:
        return command.target == username.lower()
    return message.chat.type == ChatType.PRIVATE or offered_here(command.name)
