"""The Telegram front: builds the Application, sends Replies, and runs inside the bot's loop.

``start`` is ``initialize`` + ``start`` + polling (or ``setWebhook`` with a secret token when the
bot has a public address, the updates then arriving through the aiohttp route ``webhook``, which
lets through only what ``bot.chat.telegram.webhook`` accepts); never ``run_polling``, which would
take the loop over. The bot token is part of every Bot API URL, so httpx/httpcore and
python-telegram-bot's own loggers are held at WARNING. Each command's progress is one message,
edited (``bot.chat.telegram.progress``); other bots' commands are passed over
(``bot.chat.telegram.addressing``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot.chat.push import PushRouter
from bot.chat.render import shorten
from bot.chat.telegram import blend, handlers
from bot.chat.telegram.addressing import for_this_bot
from bot.chat.telegram.polling import WatchedUpdatesRequest
from bot.chat.telegram.progress import EDIT_EVERY_SECONDS, ProgressMessage
from bot.chat.telegram.render import CAPTION_LIMIT, FORGET_PATTERN, messages
from bot.chat.telegram.webhook import SECRET_HEADER as SECRET_HEADER  # where tests look for it
from bot.chat.telegram.webhook import UPDATES, NotAnUpdate, has_secret, read_update
from bot.config import TelegramConfig
from bot.core.commands import offered
from bot.core.delivery import Undeliverable
from bot.core.replies import ChatUser, Reply, StatusReply
from bot.core.service import BeatmatchService

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
#: Loggers that would print Bot API URLs — and so the token — below WARNING.
URL_LOGGERS = ("httpx", "httpcore", "telegram")
STATUS_MESSAGES_KEPT = 2000


def quiet_url_loggers() -> None:
    """Hold the loggers that print request URLs (which carry the bot token) at WARNING."""
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def webhook_secret(config: TelegramConfig) -> str:
    """The configured webhook secret, or one derived from the token (stable across restarts)."""
    if config.webhook_secret:
        return config.webhook_secret
    return hmac.new(
        config.token.encode(), b"beatmatch telegram webhook", hashlib.sha256
    ).hexdigest()


class TelegramFront:
    """One Telegram bot serving the core."""

    platform = "telegram"

    def __init__(
        self,
        config: TelegramConfig,
        service: BeatmatchService,
        router: PushRouter | None = None,
        *,
        public_url: str = "",
    ) -> None:
        quiet_url_loggers()
        self.service = service
        self.router = router
        self.public_url = public_url.rstrip("/")
        self.secret = webhook_secret(config)
        self.status = service.readiness.front(self.platform)  # what /readyz says of Telegram
        builder = (
            Application.builder()
            .token(config.token)
            .base_url(config.base_url)
            .base_file_url(config.base_file_url)
            .defaults(
                Defaults(
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            )
            .concurrent_updates(True)
            .rate_limiter(AIORateLimiter(max_retries=2))
            .job_queue(None)  # beatmatch schedules nothing through PTB: no APScheduler thread
        )
        if self.public_url:
            builder = builder.updater(None)  # updates come through the web server's route
        else:
            builder = builder.get_updates_request(WatchedUpdatesRequest(self.status))
        self.application = builder.build()
        self.application.bot_data[handlers.FRONT_KEY] = self
        blend.install(self.application)  # /blend, /privacy and the consent button (group -1)
        self.application.add_handler(MessageHandler(filters.Document.ALL, handlers.on_document))
        self.application.add_handler(
            MessageHandler(
                filters.COMMAND | (filters.TEXT & filters.ChatType.PRIVATE), handlers.on_text
            )
        )
        # /forget's Yes/Cancel first: the feedback handler takes every other button.
        self.application.add_handler(
            CallbackQueryHandler(handlers.on_forget, pattern=FORGET_PATTERN)
        )
        self.application.add_handler(CallbackQueryHandler(handlers.on_feedback))
        self.application.add_error_handler(handlers.on_error)
        self._status: dict[str, tuple[int, int]] = {}  # edit key → (chat id, message id)
        self._last_chat: dict[str, int] = {}  # user id → the chat they last wrote in
        self.unreachable: set[str] = set()  # users whose private chat refused the bot

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (getMe), start processing, publish the command menu, then poll or set the webhook."""
        app = self.application
        await app.initialize()
        await app.start()
        try:
            await app.bot.set_my_commands(
                [BotCommand(s.name, shorten(s.summary, 256)) for s in offered(self.platform)]
            )
        except TelegramError as error:
            log.warning("could not publish the Telegram command menu: %s", error)
        if self.public_url:
            await app.bot.set_webhook(
                self.public_url + WEBHOOK_PATH, secret_token=self.secret, allowed_updates=UPDATES
            )
            log.info("Telegram: webhook at %s%s", self.public_url, WEBHOOK_PATH)
            self.status.up("webhook registered")
        elif app.updater is not None:
            await app.updater.start_polling(allowed_updates=UPDATES)
            log.info("Telegram: polling as @%s", app.bot.username)
            self.status.up("polling")  # each getUpdates reports from now on

    async def stop(self) -> None:
        """Stop polling, let running handlers finish, and close the HTTP client."""
        self.status.down("stopped")
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def webhook(self, request: web.Request) -> web.Response:
        """The aiohttp route Telegram posts updates to: 403 without the secret token, 400 (413
        when too large) for a body that is not an update; one WARNING line, nothing quoted."""
        if not has_secret(request, self.secret):
            log.warning("Telegram webhook: refused a request without the right secret token")
            return web.Response(status=403, text="forbidden")
        try:
            update = await read_update(request, self.application.bot)
        except NotAnUpdate as refused:
            log.warning("Telegram webhook: refused a body that is not an update (%s)", refused)
            return web.Response(status=refused.status, text=refused.reason)
        if update is not None:
            await self.application.update_queue.put(update)
        return web.Response(text="ok")

    # -- sending --------------------------------------------------------------------------------
    async def greet(self, user: ChatUser, chat_id: int | None = None) -> ChatUser:
        """Note where ``user`` can be reached (for workout messages and digests), and the chat
        they last wrote in (where to say so if their private chat refuses the bot)."""
        if self.router is not None:
            await self.router.seen(user)
        self.unreachable.discard(user.user_id)
        if chat_id is not None:
            self._last_chat[user.user_id] = chat_id
        return user

    async def typing(self, chat_id: int) -> None:
        """Show "typing…" while a command runs (best effort)."""
        with contextlib.suppress(TelegramError):
            await self.application.bot.send_chat_action(chat_id, "typing")

    def progress(self, message: Message, every: float = EDIT_EVERY_SECONDS) -> ProgressMessage:
        """The progress of the command in ``message``: one message, edited as lines come (in a
        group it quotes the command); ``close`` it once the answer is out."""
        reply_to = None if handlers.is_private(message) else message.message_id
        return ProgressMessage(
            self.application.bot, message.chat_id, reply_to=reply_to, every=every
        )

    def for_this_bot(self, message: Message) -> bool:
        """False for another bot's command (``/x@OtherBot``, or in a group one we don't offer)."""
        return for_this_bot(message, self.application.bot.username)

    async def send(self, chat_id: int, reply: Reply, reply_to: int | None = None) -> Message | None:
        """Send ``reply`` as messages (and photos for its charts); the first message sent."""
        bot = self.application.bot
        first: Message | None = None
        for out in messages(reply):
            quoted = (
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            )
            sent = await bot.send_message(
                chat_id, out.text, reply_markup=out.keyboard, reply_parameters=quoted
            )
            first = first or sent
        for chart in reply.charts:
            sent = await bot.send_photo(
                chat_id,
                photo=chart.path,
                caption=shorten(chart.caption, CAPTION_LIMIT),
                parse_mode=None,
            )
            first = first or sent
        return first

    async def answer(
        self, message: Message, user: ChatUser, reply: Reply, payload: str = ""
    ) -> None:
        """Answer a user's message; a private reply asked for in a group goes to their private chat."""
        if handlers.is_private(message):
            await self.send(message.chat_id, reply)
            return
        if not reply.private:  # in a group, quote the message answered
            await self.send(message.chat_id, reply, reply_to=message.message_id)
            return
        try:
            await self.send(int(user.user_id), reply)
        except Forbidden:
            # They never opened a private chat with the bot: a deep link opens one and, with
            # the payload, runs the same command there.
            link = self._bot_link(payload)
            await self.application.bot.send_message(
                message.chat_id,
                "That answer is private, and I can't message you yet: open a private chat with "
                "me with the button below" + (" — it picks up right there." if payload else "."),
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Open a private chat", url=link)]]
                ),
                reply_parameters=ReplyParameters(
                    message.message_id, allow_sending_without_reply=True
                ),
            )
            return
        await self.send(
            message.chat_id,
            Reply(text="I've answered you in a private message."),
            message.message_id,
        )

    async def push(self, user_id: str, reply: Reply) -> None:
        """A message the bot starts (workout, link, digest), in the user's private chat.

        Workout status messages (same ``edit_key``) edit the one message sent first.
        """
        if user_id in self.unreachable:
            return  # told once; they are reachable again as soon as they write to the bot
        chat_id = int(user_id)
        key = reply.edit_key if isinstance(reply, StatusReply) else ""
        try:
            if key in self._status and not reply.charts and await self._edit(key, reply):
                return
            first = await self.send(chat_id, reply)
        except Forbidden as error:
            self.unreachable.add(user_id)
            await self._tell_unreachable(user_id)
            raise Undeliverable(f"Telegram refused: {error.message}") from None
        if key and first is not None:
            self._status[key] = (chat_id, first.message_id)
            while len(self._status) > STATUS_MESSAGES_KEPT:
                self._status.pop(next(iter(self._status)))

    async def _tell_unreachable(self, user_id: str) -> None:
        """Say in the group they last wrote in that their private chat is closed to the bot."""
        chat_id = self._last_chat.get(user_id)
        if chat_id is None or chat_id == int(user_id):
            log.info("a Telegram user's private chat refuses the bot; no group to say so in")
            return
        try:
            await self.application.bot.send_message(
                chat_id,
                f'<a href="tg://user?id={int(user_id)}">You</a> asked for messages I can only '
                "send in a private chat, and you haven't opened one with me: press the button, "
                "then start again.",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Open a private chat", url=self._bot_link())]]
                ),
            )
        except TelegramError:
            log.warning("could not tell a Telegram user that their private chat is closed")

    def _bot_link(self, payload: str = "") -> str:
        """The t.me link that opens a private chat with the bot (running ``/start payload``)."""
        link = f"https://t.me/{self.application.bot.username}"
        return link + (f"?start={payload}" if payload else "")

    async def _edit(self, key: str, reply: Reply) -> bool:
        """Edit the status message of ``key`` in place; False when a new one must be sent."""
        outs = messages(reply)
        if len(outs) != 1:
            return False
        chat_id, message_id = self._status[key]
        try:
            await self.application.bot.edit_message_text(
                outs[0].text, chat_id=chat_id, message_id=message_id, reply_markup=outs[0].keyboard
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            log.info(
                "a workout status message could not be edited (%s); sending anew", error.message
            )
            return False
        return True
