"""/blend and /privacy in Telegram groups, and the consent button under a blend.

In a group these two commands say where they were said (``telegram:<chat id>``): ``/privacy blend
on`` there adds the sender to the group's blends, and ``/blend`` with no names is for the group's
opted-in members. Every command for this bot notes its sender's @username, so that ``/blend
@ann @bob`` can name them (the Bot API cannot look a username up). A member named who never
answered is asked once with an "Allow my taste in blends" button (callback data ``pv:on:<owner>``)
that only they may press. The handlers run in group -1, before the front's own, and stop there
for what they answered; everything else goes on to ``bot.chat.telegram.handlers``.
"""

from __future__ import annotations

import asyncio
import contextlib

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram import User as TelegramUser
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.chat.render import shorten
from bot.chat.telegram.addressing import leading_command
from bot.chat.telegram.handlers import (
    CALLBACK_ANSWER_LIMIT,
    NO_LONGER,
    NOT_YOURS,
    chat_user,
    front_of,
    is_private,
)
from bot.chat.telegram.render import PRIVACY_PATTERN, parse_privacy
from bot.core.dispatch import guarded, handle_text

#: The commands that need to know the group they are said in.
PLACED = ("blend", "privacy")
GROUP = -1  # before the front's handlers (group 0)
HANDLES_KEY = "beatmatch_handles"  # bot_data: Telegram user id → the @username last noted


def place_of(message: Message) -> str:
    """Where a command was said, as the core keys a group's blends ("" in a private chat)."""
    return "" if is_private(message) else f"telegram:{message.chat_id}"


def install(application: Application) -> None:
    """Add the handlers (group -1) to ``application``."""
    application.add_handler(MessageHandler(filters.COMMAND, on_command), group=GROUP)
    application.add_handler(CallbackQueryHandler(on_allow, pattern=PRIVACY_PATTERN), group=GROUP)


async def note_handle(context: ContextTypes.DEFAULT_TYPE, sender: TelegramUser) -> None:
    """Remember the sender's @username for /blend (once per username and process)."""
    front = front_of(context)
    if front.service.blend is None or not sender.username:
        return
    noted: dict[int, str] = context.bot_data.setdefault(HANDLES_KEY, {})
    if noted.get(sender.id) == sender.username:
        return
    uid = await front.service.users.uid(chat_user(sender))
    await asyncio.to_thread(front.service.blend.note_handle, uid, sender.username)
    noted[sender.id] = sender.username


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command for this bot: note who sent it; /blend and /privacy are answered here, with
    the group they were said in; any other command goes on to the front's handler."""
    message, sender = update.effective_message, update.effective_user
    if message is None or sender is None or not message.text:
        return
    front = front_of(context)
    if not front.for_this_bot(message):
        return
    await note_handle(context, sender)
    command = leading_command(message)
    if command is None or command.name not in PLACED or front.service.blend is None:
        return
    user = await front.greet(chat_user(sender), message.chat_id)
    await front.typing(message.chat_id)
    progress = front.progress(message)
    try:
        reply = await handle_text(
            front.service, user, message.text, notify=progress, place=place_of(message)
        )
        await front.answer(message, user, reply)
    finally:
        await progress.close()
    raise ApplicationHandlerStop


async def on_allow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Allow my taste in blends" under a blend: only the member it names may press it (anyone
    else is told so, nothing changes); it runs ``/privacy blend on`` for them, in the group it
    was pressed in, takes the button away and says so in the chat."""
    query, sender = update.callback_query, update.effective_user
    if query is None or sender is None:
        raise ApplicationHandlerStop
    owner = parse_privacy(query.data)
    if owner is None:
        await query.answer(NO_LONGER)
        raise ApplicationHandlerStop
    if str(sender.id) != owner:
        await query.answer(NOT_YOURS, show_alert=True)
        raise ApplicationHandlerStop
    front = front_of(context)
    message = query.message if isinstance(query.message, Message) else None
    where = message.chat_id if message is not None else None
    user = await front.greet(chat_user(sender), where)
    await note_handle(context, sender)
    place = place_of(message) if message is not None else ""
    if front.service.blend is None:
        await query.answer(NO_LONGER)
        raise ApplicationHandlerStop
    reply = await guarded(user, front.service.blend.privacy(user, "blend", "on", place=place))
    await _drop_button(query, message)
    await query.answer(shorten(reply.text, CALLBACK_ANSWER_LIMIT), show_alert=reply.error)
    if where is not None:
        await front.send(where, reply, reply_to=message.message_id if message else None)
    raise ApplicationHandlerStop


async def _drop_button(query: CallbackQuery, message: Message | None) -> None:
    """Take the pressed consent button off its message, keeping any other buttons (best effort:
    a message too old to edit keeps it, and a second press is answered all the same)."""
    markup = message.reply_markup if message is not None else None
    rows = [
        [b for b in row if b.callback_data != query.data]
        for row in (markup.inline_keyboard if markup is not None else ())
    ]
    kept = [row for row in rows if row]
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(
            reply_markup=InlineKeyboardMarkup(kept) if kept else None
        )
