"""The command set: names, usage and help text shared by every front, and a parser for typed commands.

Typed commands look like ``/recommend 5 mood:energetic playlist:yes``: words, where ``key:value``
words are options when ``key`` is one of the command's option names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.errors import BadInput
from recommender.context import MOODS

MAX_COMMAND_CHARS = 2000
#: The moods /recommend knows (fronts with option pickers offer these).
MOOD_NAMES: tuple[str, ...] = tuple(MOODS)


@dataclass(frozen=True)
class CommandSpec:
    """One command: its usage line, a one-line summary, and the option names it takes."""

    name: str
    usage: str
    summary: str
    options: tuple[str, ...] = ()
    console_only: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "/help [command]", "What beatmatch can do, or how to use one command."),
    CommandSpec(
        "import",
        "/import PATH",
        "Learn your taste from an Exportify CSV (exportify.net → your Liked Songs or a playlist).",
    ),
    CommandSpec(
        "recommend",
        "/recommend [count] [mood:NAME] [bpm:N] [playlist:yes|NAME]",
        "Tracks you don't have yet that fit your taste — and the moment.",
        options=("mood", "bpm", "count", "playlist"),
    ),
    CommandSpec(
        "genre",
        "/genre TRACK",
        "Name the genre of a track (Spotify link, URI, id, or “title - artist”).",
    ),
    CommandSpec(
        "similar",
        "/similar TRACK [count]",
        "Tracks that sound like a given one.",
        options=("count",),
    ),
    CommandSpec(
        "like",
        "/like N|TRACK",
        "Tell beatmatch you like a recommended track (its number in the last list, or its id).",
    ),
    CommandSpec("dislike", "/dislike N|TRACK", "Tell beatmatch a recommendation missed."),
    CommandSpec(
        "profile",
        "/profile [age:N] [resting_hr:N] [max_hr:N] [cadence:N] [goal:ZONE]",
        "Your heart profile for workout mode; without options, shows it.",
        options=("age", "resting_hr", "max_hr", "cadence", "goal"),
    ),
    CommandSpec(
        "workout",
        "/workout start [goal:ZONE] [cadence:N] | /workout stop | /workout status",
        "Music that follows your heart rate while you train.",
        options=("goal", "cadence"),
    ),
    CommandSpec(
        "link",
        "/link spotify | /link pulsoid [TOKEN]",
        "Link an account: Spotify for your taste, Pulsoid for your live heart rate "
        "(a Pulsoid TOKEN from pulsoid.net/ui/keys also works).",
    ),
    CommandSpec("unlink", "/unlink spotify|pulsoid", "Unlink an account and delete its tokens."),
    CommandSpec(
        "playlist",
        "/playlist [NAME]",
        "Your last recommendations as a private Spotify playlist (needs /link spotify).",
    ),
    CommandSpec(
        "stats",
        "/stats",
        "A picture of your taste: its sound against the catalog, your top genres, your feedback.",
    ),
    CommandSpec(
        "digest",
        "/digest [on|off]",
        "A weekly private message with 10 fresh recommendations (without on/off: is it on?).",
    ),
    CommandSpec("forget", "/forget", "Erase everything beatmatch stores about you."),
    CommandSpec(
        "wait",
        "/wait SECONDS",
        "Console only: let a running workout go on for a while.",
        console_only=True,
    ),
    CommandSpec("quit", "/quit", "Console only: leave.", console_only=True),
)
COMMAND_NAMES: Mapping[str, CommandSpec] = {c.name: c for c in COMMANDS}
ALIASES: Mapping[str, str] = {
    "start": "help",
    "rec": "recommend",
    "recs": "recommend",
    "exit": "quit",
    "genres": "genre",
    "h": "help",
    "?": "help",
}


@dataclass(frozen=True)
class ParsedCommand:
    """A typed command split into its name, plain words and ``key:value`` options."""

    name: str
    words: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def rest(self) -> str:
        """The plain words joined back into one string (for track queries and paths)."""
        return " ".join(self.words)


def parse_command(text: str) -> ParsedCommand:
    """Parse ``/name words… key:value…``; BadInput if it is not a command beatmatch knows."""
    text = text.strip()
    if len(text) > MAX_COMMAND_CHARS:
        raise BadInput(
            f"That message is {len(text):,} characters long; commands are short. Try /help."
        )
    if not text.startswith("/"):
        raise BadInput("Commands start with a slash, like /recommend. Try /help.")
    head, _, tail = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()  # Telegram appends @botname in groups
    name = ALIASES.get(name, name)
    spec = COMMAND_NAMES.get(name)
    if spec is None:
        shown = name if len(name) <= 30 else name[:30] + "…"
        raise BadInput(f"I don't know /{shown}. Try /help for the list of commands.")
    words: list[str] = []
    options: dict[str, str] = {}
    for word in tail.split():
        key, sep, value = word.partition(":")
        if sep and key.lower() in spec.options:
            options[key.lower()] = value
        else:
            words.append(word)
    return ParsedCommand(name=name, words=tuple(words), options=options)


def parse_int(value: str, what: str, low: int, high: int) -> int:
    """``value`` as an int within [low, high]; BadInput naming ``what`` otherwise."""
    try:
        number = int(value.strip())
    except (ValueError, AttributeError):
        shown = value if len(value) <= 20 else value[:20] + "…"
        raise BadInput(
            f"{what} must be a whole number from {low} to {high}, not “{shown}”."
        ) from None
    if not low <= number <= high:
        shown = str(number) if len(str(number)) <= 12 else str(number)[:12] + "…"
        raise BadInput(f"{what} must be from {low} to {high}; you gave {shown}.")
    return number


def help_text(name: str | None = None, console: bool = False) -> str:
    """The /help answer: every command with its usage, or one command in detail."""
    if name:
        spec = COMMAND_NAMES.get(ALIASES.get(name.lstrip("/").lower(), name.lstrip("/").lower()))
        if spec is None:
            raise BadInput(f"There is no /{name.lstrip('/')[:30]}. Try /help.")
        return f"{spec.usage}\n{spec.summary}"
    lines = ["beatmatch learns your taste and finds music for it. Commands:"]
    for spec in COMMANDS:
        if spec.console_only and not console:
            continue
        lines.append(f"  {spec.usage}\n      {spec.summary}")
    lines.append("Start with /import (an Exportify CSV), then /recommend.")
    return "\n".join(lines)
