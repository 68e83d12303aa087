"""The Telegram front: python-telegram-bot's Application in the bot's own loop (polling or webhook)."""

from bot.chat.telegram.front import WEBHOOK_PATH, TelegramFront

__all__ = ["WEBHOOK_PATH", "TelegramFront"]
