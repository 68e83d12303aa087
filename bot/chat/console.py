"""The console chat: type commands in a terminal (or pipe a script), read the replies. Its log
goes to a file (``bot.console_log``), named in the greeting, so nothing is printed over the prompt.

It drives the same service as Discord and Telegram, with a simulated heart for workout mode, so the
whole product can be tried with no account anywhere.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.core.commands import ACCOUNTS, parse_int
from bot.core.dispatch import handle_text, logged_apology
from bot.core.errors import BadInput
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from bot.redaction import hide_credentials

MAX_WAIT_SECONDS = 120
MAX_ECHO_CHARS = 120
HIDDEN = "[hidden]"


def echoed(text: str) -> str:
    """A piped line as the console shows it back: nothing pasted after ``/link`` (a token, the
    address Spotify sent you to) is shown, nor anything elsewhere that looks like a credential."""
    words = text.split()
    if words and words[0].lower().split("@", 1)[0] == "/link" and len(words) > 1:
        kept = words[:2] if words[1].lower() in ACCOUNTS else words[:1]
        text = " ".join([*kept, HIDDEN] if len(words) > len(kept) else kept)
    text = hide_credentials(text, HIDDEN)
    return text if len(text) <= MAX_ECHO_CHARS else text[: MAX_ECHO_CHARS - 3] + "…"


def render(reply: Reply) -> str:
    """A reply as console text."""
    text = reply.plain_text()
    return ("! " + text) if reply.error else text


class ConsoleChat:
    """Reads commands line by line and prints replies; workout messages appear as they happen."""

    def __init__(
        self,
        service: BeatmatchService,
        user: ChatUser,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        log_file: Path | None = None,
    ) -> None:
        self.service = service
        self.log_file = log_file
        self.user = user
        self.stdin = stdin or sys.stdin
        reconfigure = getattr(self.stdin, "reconfigure", None)
        if reconfigure is not None:
            # A stray non-UTF-8 byte must not end the session: it becomes U+FFFD.
            reconfigure(errors="replace")
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()

    def say(self, text: str) -> None:
        """Print one block of output."""
        self.stdout.write(text.rstrip("\n") + "\n")
        self.stdout.flush()

    async def notify(self, message: str) -> None:
        """Progress lines during long commands."""
        self.say(f"… {message}")

    async def push(self, _user_id: int, reply: Reply) -> None:
        """Workout messages (the console has a single user)."""
        self.say("\n" + render(reply))

    async def run(self) -> None:
        """The read–reply loop, until /quit or end of input."""
        self.say(
            "beatmatch console — type /help for commands, /quit to leave."
            + (f"\nLogs: {self.log_file}" if self.log_file is not None else "")
            + (f"\n{self.service.catalog.note}" if self.service.catalog.is_demo else "")
        )
        while True:
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if not self.interactive:
                self.say(f"> {echoed(text)}")
            if text.split()[0].lower() in ("/quit", "/exit"):
                break
            if text.split()[0].lower() == "/wait":
                await self._wait(text)
                continue
            reply = await handle_text(self.service, self.user, text, notify=self.notify)
            self.say(render(reply))
        await self._finish_workout()
        await self._finish_training()
        self.say("bye.")

    async def _wait(self, text: str) -> None:
        words = text.split()
        try:
            seconds = parse_int(
                words[1] if len(words) > 1 else "", "Seconds to wait", 1, MAX_WAIT_SECONDS
            )
        except BadInput as error:
            self.say("! " + error.message)
            return
        await asyncio.sleep(seconds)

    async def _finish_training(self) -> None:
        try:
            await self.service.taste.finish_training(self.user, notify=self.notify)
        except Exception:
            self.say(render(logged_apology(self.user)))

    async def _finish_workout(self) -> None:
        try:
            summary = await self.service.workout.finish(self.user, reason="Leaving the console.")
        except Exception:
            self.say(render(logged_apology(self.user)))
            return
        if summary is not None:
            self.say(render(summary))
