"""What the core answers: Reply objects that every front (console, Discord, Telegram) renders."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

SPOTIFY_TRACK_URL = "https://open.spotify.com/track/{}"
#: A code point that is half of a UTF-16 pair: in a str it stands alone (a console reads bytes it
#: cannot decode as these), and no chat, terminal or JSON encoder can send it as UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def sendable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (�), so that it encodes as UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True)
class ChatUser:
    """Who sent a command: the platform and the platform's own user id."""

    platform: str
    user_id: str
    display_name: str = ""


@dataclass(frozen=True)
class TrackCard:
    """One track in a reply: name, artists, link and why it is there."""

    track_id: str
    name: str
    artists: str
    reason: str = ""
    tempo: float | None = None
    energy: float | None = None

    @property
    def url(self) -> str:
        """The track's open.spotify.com link."""
        return SPOTIFY_TRACK_URL.format(self.track_id)

    @property
    def artists_text(self) -> str:
        """Artists joined for display ("A, B")."""
        return (
            ", ".join(a.strip() for a in self.artists.split(";") if a.strip()) or "unknown artist"
        )

    @property
    def title(self) -> str:
        """ "Name — Artists" for display."""
        return f"{self.name or 'Untitled'} — {self.artists_text}"


@dataclass(frozen=True)
class Chart:
    """A PNG image to send with a reply."""

    path: Path
    caption: str = ""


@dataclass(frozen=True)
class Button:
    """A button under a reply. ``action`` is "like" or "dislike" (``track_id`` the track), or a
    question's answer whose ``track_id`` holds the platform user id of the only user who may press
    it: /forget's "forget"/"keep" (``bot.core.forgetting``), /blend's "allow-blend"
    (``bot.core.blend.ALLOW``). Fronts render the actions they know."""

    label: str
    action: str
    track_id: str


def utc_text(at: dt.datetime) -> str:
    """A time as the fronts without local times show it ("Thu 10 Dec 2026, 11:35 UTC")."""
    return at.astimezone(dt.UTC).strftime("%a %d %b %Y, %H:%M UTC")


@dataclass(frozen=True)
class Moment:
    """A point in time a reply's text mentions, written there as ``text`` (a UTC time, or a
    duration like "for 10 minutes" when ``until``). Fronts able to show each reader's own time
    zone (Discord's timestamps) put their own rendering in place of ``text``; the others keep it.
    """

    at: dt.datetime
    text: str
    until: bool = False  # a deadline: "until <time>" instead of "for N minutes"

    @classmethod
    def of(cls, epoch: float) -> Moment:
        """The moment at ``epoch`` seconds, written as UTC text."""
        at = dt.datetime.fromtimestamp(epoch, dt.UTC)
        return cls(at, utc_text(at))

    @classmethod
    def within(cls, seconds: float, text: str, now: float) -> Moment:
        """A deadline ``seconds`` after ``now``, written as the duration ``text``."""
        return cls(dt.datetime.fromtimestamp(now + seconds, dt.UTC), text, until=True)


@dataclass(frozen=True)
class Reply:
    """A complete answer to one command."""

    text: str
    title: str = ""
    tracks: tuple[TrackCard, ...] = ()
    footer: str = ""
    charts: tuple[Chart, ...] = ()
    buttons: tuple[Button, ...] = ()
    private: bool = False
    error: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    moments: tuple[Moment, ...] = ()  # times the text mentions (see Moment)

    def sendable(self) -> Reply:
        """This reply with its texts made sendable (user input it quotes may hold surrogates)."""
        texts = (self.text, self.title, self.footer, *self.notes)
        if not any(_LONE_SURROGATE.search(t) for t in texts):
            return self
        return replace(
            self,
            text=sendable(self.text),
            title=sendable(self.title),
            footer=sendable(self.footer),
            notes=tuple(sendable(n) for n in self.notes),
        )

    def plain_text(self) -> str:
        """The whole reply as plain text: what a console prints and what a chat falls back to."""
        parts: list[str] = []
        if self.title:
            parts.append(self.title)
        if self.text:
            parts.append(self.text)
        for number, card in enumerate(self.tracks, start=1):
            line = f"{number:>2}. {card.title}\n    {card.url}"
            if card.reason:
                line += f"\n    why: {card.reason}"
            parts.append(line)
        parts.extend(self.notes)
        for chart in self.charts:
            parts.append(f"[chart] {chart.path}" + (f" — {chart.caption}" if chart.caption else ""))
        if self.footer:
            parts.append(self.footer)
        return "\n".join(parts)


@dataclass(frozen=True)
class StatusReply(Reply):
    """A Reply that updates a status message (a workout's); same ``edit_key`` = same message.

    Fronts able to edit messages (Telegram, Discord DMs) keep one status message up to date
    instead of sending a new one each time; the others simply send it.
    """

    edit_key: str = ""
