"""The Telegram handlers: each parses an update, calls the core, and hands the Reply to the front.

Plain ``async def handler(update, context)`` functions, as in python-telegram-bot's examples; the
front is kept in ``bot_data``. Failures the core does not turn into a reply reach ``on_error``,
the one central error handler, which logs first and then apologises in the chat.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from telegram import CallbackQuery, Message, Update
from telegram import User as TelegramUser
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat.render import shorten
from bot.chat.telegram.render import parse_feedback, parse_forget
from bot.core.dispatch import deep_link_payload, guarded, handle_text
from bot.core.incidents import apology, incident_extra, log_incident
from bot.core.replies import ChatUser, Reply
from bot.core.upload_limits import MAX_UPLOAD_BYTES, upload_too_large

if TYPE_CHECKING:
    from bot.chat.telegram.front import TelegramFront

log = logging.getLogger(__name__)
FRONT_KEY = "beatmatch_front"
NOT_YOURS = "This button is not yours."
NO_LONGER = "That button is no longer in use."
CALLBACK_ANSWER_LIMIT = 200
CSV_TYPES = ("text/csv", "text/comma-separated-values", "application/vnd.ms-excel", "text/plain")


def front_of(context: ContextTypes.DEFAULT_TYPE) -> TelegramFront:
    """The front this application belongs to."""
    front: TelegramFront = context.bot_data[FRONT_KEY]
    return front


def chat_user(user: TelegramUser) -> ChatUser:
    """Who sent an update, as the core knows chat users."""
    return ChatUser("telegram", str(user.id), user.full_name)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed command (or, in a private chat, a pasted link address): run it and answer.
    Another bot's commands (``/x@OtherBot``; in a group, commands beatmatch doesn't offer) are
    passed over in silence."""
    message, sender = update.effective_message, update.effective_user
    if message is None or sender is None or not message.text:
        return
    front = front_of(context)
    if not front.for_this_bot(message):
        return
    user = await front.greet(chat_user(sender), message.chat_id)
    await front.typing(message.chat_id)
    progress = front.progress(message)
    try:
        reply = await handle_text(front.service, user, message.text, notify=progress)
        await front.answer(message, user, reply, deep_link_payload(message.text))
    finally:
        await progress.close()


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file sent to the bot: an Exportify CSV to learn the sender's taste from."""
    message, sender = update.effective_message, update.effective_user
    if message is None or sender is None or message.document is None:
        return
    front = front_of(context)
    user = await front.greet(chat_user(sender), message.chat_id)
    document = message.document
    name = document.file_name or "upload.csv"
    if not name.lower().endswith(".csv") and (document.mime_type or "") not in CSV_TYPES:
        reply = Reply(text="That isn't a CSV file. Send the Exportify export (a .csv).", error=True)
    elif (document.file_size or 0) > MAX_UPLOAD_BYTES:
        reply = Reply(text=upload_too_large(document.file_size or 0, name), error=True)
    else:
        await front.typing(message.chat_id)
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        progress = front.progress(message)
        try:
            reply = await guarded(
                user,
                front.service.taste.import_library(user, data=data, filename=name, notify=progress),
            )
            await front.answer(message, user, reply)
        finally:
            await progress.close()
        return
    await front.answer(message, user, reply)


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A 👍/👎 button under a recommendation: store it, confirm with a short notice."""
    query, sender = update.callback_query, update.effective_user
    if query is None or sender is None:
        return
    parsed = parse_feedback(query.data)
    if parsed is None:
        await query.answer(NO_LONGER)
        return
    action, track_id = parsed
    front = front_of(context)
    where = query.message.chat.id if query.message is not None else None
    user = await front.greet(chat_user(sender), where)
    reply = await guarded(
        user, front.service.taste.feedback(user, track_id, 1 if action == "like" else -1)
    )
    await query.answer(shorten(reply.text, CALLBACK_ANSWER_LIMIT), show_alert=reply.error)


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Yes, erase everything" or "Cancel" under /forget's question. Only the user who asked may
    press them (anyone else is told so, and nothing happens); the answer goes through the same
    core path as ``/forget yes`` / ``/forget no``, the question loses its buttons, and the outcome
    is said in the chat. The owner is in the callback data: no state, so it survives restarts."""
    query, sender = update.callback_query, update.effective_user
    if query is None or sender is None:
        return
    parsed = parse_forget(query.data)
    if parsed is None:
        await query.answer(NO_LONGER)
        return
    answer, owner = parsed
    if str(sender.id) != owner:
        await query.answer(NOT_YOURS, show_alert=True)
        return
    front = front_of(context)
    where = query.message.chat.id if query.message is not None else None
    user = await front.greet(chat_user(sender), where)
    await _drop_buttons(query)  # first, so that a second press finds nothing to press
    reply = await guarded(user, front.service.forget(user, answer))
    await query.answer(shorten(reply.text, CALLBACK_ANSWER_LIMIT), show_alert=reply.error)
    if where is not None:
        await front.send(where, reply)


async def _drop_buttons(query: CallbackQuery) -> None:
    """Remove the inline keyboard from the message a button was pressed under (best effort: a
    message too old to edit keeps it, and a second press is answered all the same)."""
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(reply_markup=None)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with an incident id first; then apologise in the chat, if there is one."""
    kind = type(update).__name__ if update is not None else "no update"
    incident = log_incident(log, "while handling a Telegram update (%s)", kind, error=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await context.bot.send_message(update.effective_chat.id, apology(incident).text)
    except Exception:
        log.warning(
            "incident %s: the apology could not be sent either",
            incident,
            extra=incident_extra(incident),
        )


def is_private(message: Message) -> bool:
    """True in a one-to-one chat with the bot."""
    return message.chat.type == ChatType.PRIVATE
