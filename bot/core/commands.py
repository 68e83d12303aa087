"""The one command registry: every command's name, options, limits, help text and handler.

The console, Telegram and Discord fronts derive their command lists, option types, ranges and help
from ``COMMANDS``; ``bot.core.dispatch`` routes a command to its ``handler`` (a method of one of the
core's feature services). Typed commands look like ``/recommend 5 mood:energetic playlist:yes``:
words, where ``key:value`` words are options when ``key`` is one of the command's option names;
``bind`` turns them into the handler's typed arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.errors import BadInput
from recommender.context import MOODS
from recommender.heart import ZONE_NAMES

MAX_COMMAND_CHARS = 2000
#: The moods /recommend knows (fronts with option pickers offer these).
MOOD_NAMES: tuple[str, ...] = tuple(MOODS)
#: The fronts, by the platform name their chat users carry.
FRONTS: tuple[str, ...] = ("console", "telegram", "discord")
CHATS: tuple[str, ...] = ("telegram", "discord")
#: Limits an operator sets in the config; ``Option.high`` may name one of them.
DEFAULT_LIMITS: Mapping[str, int] = {"max_count": 50}
#: What clears a ``clearable`` option (``/profile age:clear``).
CLEAR_WORDS: tuple[str, ...] = ("none", "clear", "-")


@dataclass(frozen=True)
class Option:
    """One argument of a command: how it is named, typed, limited and explained."""

    name: str
    summary: str
    #: "int" (a whole number within low–high), "zone" (1–5 or its name), "text", "file" (an
    #: attachment: fronts that take files offer it; typed commands never bind it), or "user" (a
    #: chat member picked in a front's ``FrontOptions``: the front resolves them itself)
    kind: str = "text"
    label: str = ""  # how an error names it ("The count"); the name when empty
    low: int | None = None
    high: int | str | None = None  # a number, or the name of a config limit ("max_count")
    choices: tuple[str, ...] = ()  # fronts with pickers offer these
    keyed: bool = True  # may be written ``name:value`` in a typed command
    clearable: bool = False  # "none", "clear" or "-" mean "no value" (None)
    #: ``bind`` hands the text over as typed and the handler parses it: only the handler knows
    #: whether the option applies (/workout takes a goal and a cadence only with "start").
    raw: bool = False

    def limits(self, limits: Mapping[str, int] = DEFAULT_LIMITS) -> tuple[int, int]:
        """(low, high) of an int option, the config's value where ``high`` names one."""
        high = limits[self.high] if isinstance(self.high, str) else self.high
        return int(self.low or 0), int(high if high is not None else 0)

    def value(self, text: str, limits: Mapping[str, int] = DEFAULT_LIMITS) -> Any:
        """The typed value of what a user wrote (None for nothing)."""
        if not text.strip() or (self.clearable and text.strip().lower() in CLEAR_WORDS):
            return None
        if self.raw:
            return text
        if self.kind == "int":
            return parse_int(text, self.label or self.name, *self.limits(limits))
        if self.kind == "zone":
            return parse_zone(text)
        return text

    def check(self, value: Any, limits: Mapping[str, int] = DEFAULT_LIMITS) -> Any:
        """A value a front passed already typed (Discord's options), checked like a typed one."""
        if value is None or self.kind == "text":
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            return replace(self, raw=False).value(str(value), limits)
        return check_int(value, self.label or self.name, *self.limits(limits))


@dataclass(frozen=True)
class FrontOptions:
    """Options a front offers in place of one registry option, folded back into that option
    before the core sees them (Discord's five ``seed`` pickers with autocomplete for /start's
    ``seeds``; its member pickers and ``here`` for /blend's ``members``)."""

    replaces: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class CommandSpec:
    """One command, declared once for every front."""

    name: str
    usage: str
    summary: str
    handler: str = ""  # "<feature>.<method>" of the core service; "" for front-only commands
    options: tuple[Option, ...] = ()
    #: The options that take plain words, in order; a name ending in "..." takes all the rest.
    words: tuple[str, ...] = ()
    #: An option taken from a last plain word that is a small number ("/similar Halo 5").
    trailing: str = ""
    #: ``trailing`` is taken from a small number wherever it stands, even alone ("/blend 5",
    #: "/blend 5 alice bob"): for commands whose plain words are names, never small numbers.
    trailing_anywhere: bool = False
    #: What to say when more plain words come than ``words`` takes ("" ignores the extra ones).
    too_many: str = ""
    fronts: tuple[str, ...] = FRONTS
    #: The usage line where a front offers the command differently (Discord's attachment).
    usage_on: Mapping[str, str] = field(default_factory=dict)
    #: Options a front offers instead of one of ``options`` (see ``FrontOptions``).
    front_options: Mapping[str, FrontOptions] = field(default_factory=dict)

    @property
    def console_only(self) -> bool:
        """Offered by the console alone (a terminal convenience)."""
        return self.fronts == ("console",)

    def option(self, name: str) -> Option:
        """The option called ``name`` (KeyError if there is none)."""
        for option in self.options + tuple(
            o for front in self.front_options.values() for o in front.options
        ):
            if option.name == name:
                return option
        raise KeyError(name)

    def options_on(self, front: str) -> tuple[Option, ...]:
        """The options ``front`` offers: the registry's, with ``front_options`` in place of the
        one they replace."""
        instead = self.front_options.get(front)
        if instead is None:
            return self.options
        out: list[Option] = []
        for option in self.options:
            out.extend(instead.options if option.name == instead.replaces else (option,))
        return tuple(out)

    @property
    def keyed(self) -> tuple[str, ...]:
        """The option names a typed command may write as ``name:value``."""
        return tuple(o.name for o in self.options if o.keyed)

    def usage_for(self, front: str) -> str:
        """The usage line as ``front`` offers the command."""
        return self.usage_on.get(front, self.usage)


ACCOUNTS = ("spotify", "pulsoid")


def _track(summary: str) -> Option:
    return Option("track", summary, keyed=False)


#: The options /recommend and /blend share (read by ``bot.core.taste.service.list_asked``).
LIST_OPTIONS = (
    Option("count", "How many tracks (default 10)", "int", "The count", 1, "max_count"),
    Option("mood", "Fit a mood", choices=MOOD_NAMES),
    Option("bpm", "Pull tempos towards this many beats per minute", "int", "bpm", 40, 220),
)

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "help",
        "/help [command]",
        "What beatmatch can do, or how to use one command.",
        "help",
        (Option("topic", "One command to explain", keyed=False),),
        words=("topic...",),
    ),
    CommandSpec(
        "import",
        "/import PATH",
        "Learn your taste from an Exportify CSV (exportify.net → your Liked Songs or a playlist).",
        "taste.import_library",
        (
            Option("path", "The path of an Exportify CSV on this machine", keyed=False),
            Option(
                "file", "The CSV from exportify.net (Liked Songs → Export)", "file", keyed=False
            ),
        ),
        words=("path...",),
        usage_on={
            "telegram": "/import (send the Exportify CSV as a file)",
            "discord": "/import FILE (attach the Exportify CSV)",
        },
    ),
    CommandSpec(
        "start",
        "/start SONG OR ARTIST, SONG OR ARTIST, …",
        "No library yet? Name 3–5 songs or artists you love (commas between) for a first guess.",
        "taste.cold.start",
        (
            Option(
                "seeds",
                "3–5 songs or artists you love, separated by commas (suggestions appear)",
                keyed=False,
            ),
        ),
        words=("seeds...",),
        usage_on={"discord": "/start seed1:SONG OR ARTIST … seed5:… (suggestions appear)"},
        front_options={
            "discord": FrontOptions(
                "seeds",
                tuple(
                    Option(
                        f"seed{n}",
                        f"Song or artist {n} you love (3–5 in all; pick a suggestion or type)",
                    )
                    for n in range(1, 6)
                ),
            )
        },
    ),
    CommandSpec(
        "recommend",
        "/recommend [count] [mood:NAME] [bpm:N] [playlist:yes|NAME] [fresh:no]",
        "Tracks you don't have yet that fit your taste — and the moment.",
        "taste.recommend",
        (
            *LIST_OPTIONS,
            Option("playlist", 'Also post them as a private Spotify playlist: "yes", or its name'),
            Option(
                "fresh",
                '"no" to show the tracks you were shown lately again (default: new ones)',
                choices=("yes", "no"),
            ),
        ),
        words=("count",),
        too_many="Use /recommend [count] [mood:NAME] [bpm:N], e.g. /recommend 5 mood:energetic.",
    ),
    CommandSpec(
        "blend",
        "/blend [NAME …] [count] [mood:NAME] [bpm:N] [playlist:yes|NAME]",
        "One fair list for 2–12 listeners who allowed it (no names in a group: all who did).",
        "blend.blend",
        (
            Option("members", "Who it is for: names, @handles (yourself included)", keyed=False),
            *LIST_OPTIONS,
            Option(
                "playlist",
                'Also post it as a private playlist on your linked Spotify: "yes", or its name',
            ),
        ),
        words=("members...",),
        trailing="count",
        trailing_anywhere=True,
        usage_on={
            "discord": (
                "/blend [member1:@A …] [here:yes] [count] [mood:NAME] [bpm:N] [playlist:yes|NAME]"
            ),
        },
        front_options={
            "discord": FrontOptions(
                "members",
                (
                    *(
                        Option(f"member{n}", f"Listener {n} the blend is for", "user")
                        for n in range(1, 7)
                    ),
                    Option(
                        "here",
                        "yes: everyone in your voice channel (in a server)",
                        choices=("yes", "no"),
                    ),
                ),
            )
        },
    ),
    CommandSpec(
        "privacy",
        "/privacy blend on|off",
        "Allow (or stop) your taste in others' /blend lists: they see only which tracks are "
        "for you.",
        "blend.privacy",
        (
            Option("setting", "What to set: blend", choices=("blend",), keyed=False),
            Option(
                "state",
                "on or off; leave it out to see the setting",
                choices=("on", "off"),
                keyed=False,
            ),
        ),
        words=("setting", "state"),
        too_many="Use /privacy blend on or /privacy blend off.",
    ),
    CommandSpec(
        "genre",
        "/genre TRACK",
        "Name the genre of a track (Spotify link, URI, id, or “title - artist”).",
        "lookup.genre",
        (_track("A Spotify link, URI or id, or “title - artist” (suggestions appear)"),),
        words=("track...",),
    ),
    CommandSpec(
        "similar",
        "/similar TRACK [count]",
        "Tracks that sound like a given one.",
        "lookup.similar",
        (
            _track("The track to match (suggestions appear)"),
            Option("count", "How many (default 10)", "int", "The count", 1, 50),
        ),
        words=("track...",),
        trailing="count",
    ),
    CommandSpec(
        "like",
        "/like N|TRACK",
        "Tell beatmatch you like a recommended track (its number in the last list, or its id).",
        "taste.like",
        (Option("track", "Its number in your last list, or its Spotify link or id", keyed=False),),
        words=("track...",),
        fronts=("console", "telegram"),  # Discord has 👍/👎 buttons under every track
    ),
    CommandSpec(
        "dislike",
        "/dislike N|TRACK",
        "Tell beatmatch a recommendation missed.",
        "taste.dislike",
        (Option("track", "Its number in your last list, or its Spotify link or id", keyed=False),),
        words=("track...",),
        fronts=("console", "telegram"),
    ),
    CommandSpec(
        "profile",
        "/profile [age:N] [resting_hr:N] [max_hr:N] [cadence:N] [goal:ZONE]",
        "Your heart profile for workout mode; without options, shows it.",
        "workout.profile",
        (
            Option(
                "age",
                "Your age (sets the maximum heart rate by Tanaka's formula)",
                "int",
                "Age",
                10,
                100,
                clearable=True,
            ),
            Option(
                "resting_hr",
                "Resting heart rate, beats per minute",
                "int",
                "Resting heart rate",
                30,
                120,
                clearable=True,
            ),
            Option(
                "max_hr",
                "Your own maximum heart rate, if you know it",
                "int",
                "Maximum heart rate",
                120,
                230,
                clearable=True,
            ),
            Option(
                "cadence",
                "Running cadence, steps per minute (tracks on your beat)",
                "int",
                "Cadence (steps per minute)",
                60,
                240,
                clearable=True,
            ),
            Option(
                "goal",
                "The zone workout mode steers you to (1 very light … 5 maximal)",
                "zone",
                "The goal zone",
                1,
                5,
                clearable=True,
            ),
        ),
        too_many="Set profile fields as key:value, e.g. /profile age:34 resting_hr:58.",
    ),
    CommandSpec(
        "workout",
        "/workout start [goal:ZONE] [cadence:N] | /workout stop | /workout status",
        "Music that follows your heart rate while you train.",
        "workout.workout",
        (
            Option(
                "action",
                "start, stop or status",
                choices=("start", "stop", "status"),
                keyed=False,
            ),
            Option(
                "goal",
                "A zone to steer your heart to (1 very light … 5 maximal)",
                "zone",
                "The goal zone",
                1,
                5,
                raw=True,
            ),
            Option(
                "cadence",
                "Your running cadence, steps per minute",
                "int",
                "Cadence (steps per minute)",
                60,
                240,
                raw=True,
            ),
        ),
        words=("action", "goal", "cadence"),
        too_many="Use /workout start [goal:ZONE] [cadence:N], /workout stop or /workout status.",
    ),
    CommandSpec(
        "link",
        "/link spotify | /link pulsoid [TOKEN]",
        "Link Spotify (your taste) or Pulsoid (live heart rate; or paste a pulsoid.net/ui/keys TOKEN).",
        "accounts.link",
        (
            Option(
                "account",
                "Spotify for your taste, Pulsoid for your live heart rate",
                choices=ACCOUNTS,
                keyed=False,
            ),
            Option(
                "pasted",
                "Optional: a Pulsoid token (pulsoid.net/ui/keys), or the address Spotify sent you to",
                keyed=False,
            ),
        ),
        words=("account", "pasted..."),
    ),
    CommandSpec(
        "unlink",
        "/unlink spotify|pulsoid",
        "Unlink an account and delete its tokens.",
        "accounts.unlink",
        (
            Option(
                "account",
                "The account to unlink; its tokens are deleted",
                choices=ACCOUNTS,
                keyed=False,
            ),
        ),
        words=("account",),
    ),
    CommandSpec(
        "playlist",
        "/playlist [NAME]",
        "Your last recommendations as a private Spotify playlist (needs /link spotify).",
        "taste.playlist",
        (Option("name", "The playlist's name (default: beatmatch and today's date)", keyed=False),),
        words=("name...",),
    ),
    CommandSpec(
        "stats",
        "/stats",
        "A picture of your taste: its sound against the catalog, your top genres, your feedback.",
        "insight.stats",
    ),
    CommandSpec(
        "digest",
        "/digest [on|off]",
        "A weekly private message with 10 fresh recommendations (without on/off: is it on?).",
        "insight.digest",
        (
            Option(
                "state",
                "on or off; leave it out to see whether the digest is on",
                choices=("on", "off"),
                keyed=False,
            ),
        ),
        words=("state...",),
    ),
    CommandSpec(
        "forget",
        "/forget [yes]",
        "Erase everything beatmatch stores about you (it says what first, and asks).",
        "forget",
        (
            Option(
                "confirm",
                "yes erases at once; leave it out to see what would be erased and confirm",
                choices=("yes",),
                keyed=False,
            ),
        ),
        words=("confirm...",),
    ),
    CommandSpec(
        "wait",
        "/wait SECONDS",
        "Console only: let a running workout go on for a while.",
        fronts=("console",),
    ),
    CommandSpec("quit", "/quit", "Console only: leave.", fronts=("console",)),
)
COMMAND_NAMES: Mapping[str, CommandSpec] = {c.name: c for c in COMMANDS}
ALIASES: Mapping[str, str] = {
    "rec": "recommend",
    "recs": "recommend",
    "exit": "quit",
    "genres": "genre",
    "h": "help",
    "?": "help",
}
#: What a front's help adds below the commands it offers.
HELP_NOTES: Mapping[str, str] = {
    "console": "Start with /import (an Exportify CSV), then /recommend. No library? "
    "/start Daft Punk, Kendrick Lamar, As It Was gives a first guess from what you name.",
    "telegram": "Start by sending your Exportify CSV as a file, then /recommend — or, with no "
    "library, /start and 3–5 songs or artists you love (commas between). "
    "Rate tracks with the 👍/👎 buttons under them, or /like N. In a group, add my username "
    "to a command (/recommend@…) so it reaches me and not another bot.",
    "discord": "Start with /import (attach your Exportify CSV), then /recommend. "
    "Rate tracks with the 👍/👎 buttons under them. A list longer than ten tracks is one "
    "message: turn its pages with ◀ Prev and Next ▶ (anyone may, it changes nothing). Every "
    "command also works in a direct message "
    "with me and in private channels (group DMs): add me to your own account (Add App → Add to "
    "My Apps) to use me anywhere, even in servers I'm not in. Workout updates and the digest "
    "come as direct messages.",
}


def offered(front: str) -> tuple[CommandSpec, ...]:
    """The commands ``front`` offers, in registry order."""
    return tuple(spec for spec in COMMANDS if front in spec.fronts)


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
        if sep and key.lower() in spec.keyed:
            options[key.lower()] = value
        else:
            words.append(word)
    return ParsedCommand(name=name, words=tuple(words), options=options)


def bind(
    spec: CommandSpec, parsed: ParsedCommand, limits: Mapping[str, int] = DEFAULT_LIMITS
) -> dict[str, Any]:
    """The handler's arguments from a typed command: plain words go to ``spec.words`` in order
    (an option written ``name:value`` wins over a plain word), ints are parsed within limits."""
    words = list(parsed.words)
    texts: dict[str, str] = {}
    if spec.trailing and not parsed.options.get(spec.trailing):
        numbers = [i for i, word in enumerate(words) if _small_number(word)]
        if spec.trailing_anywhere and numbers:
            texts[spec.trailing] = words.pop(numbers[-1])
        elif len(words) > 1 and numbers and numbers[-1] == len(words) - 1:
            texts[spec.trailing] = words.pop()
    for name in spec.words:
        if not words:
            break
        if name.endswith("..."):
            texts[name[:-3]] = " ".join(words)
            words = []
        else:
            texts[name] = words.pop(0)
    if words and spec.too_many:
        raise BadInput(spec.too_many)
    for name, value in parsed.options.items():
        if value or name not in texts:
            texts[name] = value
    return {name: spec.option(name).value(text, limits) for name, text in texts.items()}


def _small_number(word: str) -> bool:
    """A plain word that reads as a count (up to three digits), not as a name or a year."""
    return word.isdigit() and len(word) < 4


def parse_int(value: str, what: str, low: int, high: int) -> int:
    """``value`` as an int within [low, high]; BadInput naming ``what`` otherwise."""
    try:
        number = int(value.strip())
    except (ValueError, AttributeError):
        shown = value if len(value) <= 20 else value[:20] + "…"
        raise BadInput(
            f"{what} must be a whole number from {low} to {high}, not “{shown}”."
        ) from None
    return check_int(number, what, low, high)


def check_int(number: int, what: str, low: int, high: int) -> int:
    """``number`` if within [low, high]; BadInput naming ``what`` and the range otherwise."""
    if not low <= number <= high:
        shown = str(number) if len(str(number)) <= 12 else str(number)[:12] + "…"
        raise BadInput(f"{what} must be from {low} to {high}; you gave {shown}.")
    return number


def parse_zone(text: str) -> int:
    """A heart-rate zone from "3" or its name ("moderate", "vigorous", …)."""
    word = text.strip().lower()
    for number, name in ZONE_NAMES.items():
        if word == name.lower() or word == name.lower().replace(" ", "-"):
            return number
    return parse_int(word, "The goal zone", 1, 5)


def check_args(
    spec: CommandSpec, args: Mapping[str, Any], limits: Mapping[str, int] = DEFAULT_LIMITS
) -> dict[str, Any]:
    """Arguments a front passed already typed (Discord's options), checked against the registry;
    None values are left out (an option not given)."""
    return {
        name: spec.option(name).check(value, limits)
        for name, value in args.items()
        if value is not None
    }


def help_text(name: str | None = None, front: str = "console") -> str:
    """The /help answer on ``front``: every command it offers with its usage, or one in detail."""
    if name:
        key = name.lstrip("/").lower()
        spec = COMMAND_NAMES.get(ALIASES.get(key, key))
        if spec is None or front not in spec.fronts:
            raise BadInput(f"There is no /{name.lstrip('/')[:30]}. Try /help.")
        return f"{spec.usage_for(front)}\n{spec.summary}"
    lines = ["beatmatch learns your taste and finds music for it. Commands:"]
    for spec in offered(front):
        lines.append(f"  {spec.usage_for(front)}\n      {spec.summary}")
    lines.append(HELP_NOTES[front])
    return "\n".join(lines)
