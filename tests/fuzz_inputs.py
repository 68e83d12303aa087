"""Hypothesis strategies for what people type at the bot: every command and option of the registry.

Used by the dispatcher fuzz test (``tests/integration/test_dispatch_fuzz.py``, a fixed number of
examples) and by ``bench/fuzz.py`` (thousands). ``command_lines`` draws typed lines as the console
and Telegram pass them to ``bot.core.dispatch.handle_text``; ``typed_calls`` draws a command name
and already typed options as Discord passes them to ``run_typed``.

Every command and option comes from ``bot.core.commands.COMMANDS``, so a command added there is
fuzzed without a change here. Values mix the well-formed with the hostile: unicode (right-to-left,
emoji, combining marks, lone surrogates), control characters and NUL, huge, negative, float and
NaN numbers, very long words and lines, repeated options, odd spacing, and paths of every kind.

Paths and catalog tracks are written as placeholders (``{fifo}``, ``{catalog_id}``, …) that the
fuzz world (``tests.fuzz_world``) replaces with the real ones of its temporary directory, so a
failing input reads the same in every run and can be kept as an ``@example``.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st

from bot.core.commands import (
    ALIASES,
    CLEAR_WORDS,
    COMMANDS,
    MAX_COMMAND_CHARS,
    CommandSpec,
    Option,
    offered,
)
from bot.core.dispatch import deep_link
from recommender.heart import ZONE_NAMES

#: Placeholders the fuzz world fills in: files of every kind for /import, and catalog tracks.
PATH_PLACEHOLDERS: tuple[str, ...] = (
    "{good_csv}",  # a real Exportify export of catalog tracks
    "{bad_csv}",  # a CSV without Exportify's columns
    "{empty_file}",
    "{binary_file}",  # random bytes, NULs included
    "{directory}",
    "{fifo}",  # a named pipe: opening it for reading would wait forever
    "{fifo_link}",  # a symbolic link to the pipe
    "{loop_link}",  # a symbolic link to itself
    "{dangling_link}",
    "{sparse_file}",  # larger than any export, made of holes
    "{spaced dir}/liked songs.csv",  # the good export under a folder with a space in its name
)
TRACK_PLACEHOLDERS: tuple[str, ...] = ("{catalog_id}", "{catalog_title}", "{catalog_artist}")
PLACEHOLDERS: tuple[str, ...] = (*PATH_PLACEHOLDERS, *TRACK_PLACEHOLDERS)

#: Characters that have broken text handling somewhere before.
ODD_CHARS: tuple[str, ...] = (
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x1b",
    "\x7f",
    "\x85",
    "\u00a0",
    "\u200b",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u202e",  # right-to-left override
    "\u2028",
    "\u2066",
    "\ufeff",
    "\ufffd",
    "\u0301",  # combining acute
    "\u0336",
    "\ud800",  # lone surrogates: a console reads undecodable bytes as these
    "\udc80",
    "\udfff",
    "İ",  # lower() makes it two characters
    "ß",
    "ﬀ",
    "٣",
    "５",
    "²",
    "Ⅻ",
    "−",
    "👩\u200d👩\u200d👧",
    "🇺🇦",
    "🎵",
    "שלום",
    "مرحبا",
    "音楽",
    "%s",
    "%(x)s",
    "{}",
    "{0}",
    "\\",
    '"',
    "'",
    "`",
    "<",
    ">",
    "&",
    "*",
    "_",
    "~",
    "|",
    "@everyone",
    "<@123>",
    "</b>",
    "${IFS}",
    "$(id)",
    "../",
    ";",
    "\u0000\u0000",
)
SEPARATORS: tuple[str, ...] = (
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\u00a0",
    "\u2003",
    "\u3000",
    "\u200b",
)
NUMBER_WORDS: tuple[str, ...] = (
    "0",
    "1",
    "3",
    "5",
    "10",
    "50",
    "51",
    "100",
    "999",
    "1000",
    "-1",
    "-0",
    "+5",
    "05",
    "007",
    "5.0",
    "5.",
    ".5",
    "1e3",
    "1e309",
    "-1e309",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "0x10",
    "0b11",
    "0o7",
    "1_000",
    "1,000",
    "½",
    "1/2",
    "−5",
    "٣",
    "٣٠",
    "５",
    "²",
    "Ⅻ",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "18446744073709551616",
    "9" * 40,
    "-" + "9" * 40,
    "9" * 1500,
    "4\u0301",
    "5\x00",
    " 5 ",
)
ZONE_WORDS: tuple[str, ...] = (
    *(name for name in ZONE_NAMES.values()),
    *(name.replace(" ", "-") for name in ZONE_NAMES.values()),
    *(name.upper() for name in ZONE_NAMES.values()),
    "zone3",
    "z3",
    "max",
)
TRACK_REFS: tuple[str, ...] = (
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com/intl-de/track/4uLU6hMCjMI75M1A2tKUQC?si=abc",
    "open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC",
    "<https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC>",
    "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
    "spotify:album:4uLU6hMCjMI75M1A2tKUQC",
    "spotify:track:",
    "4uLU6hMCjMI75M1A2tKUQC",
    "4uLU6hMCjMI75M1A2tKUQ",
    "https://open.spotify.com/track/",
    "https://example.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "http://[::1/track",
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC" + "x" * 300,
    "Halo - Beyoncé",
    " - ",
    "-",
    "- -",
    "title -",
    "- artist",
    '"quoted" - "artist"',
    "%",
    "_",
    "\\",
    ".*",
    "[",
    "(?P<x>",
    "' OR 1=1 --",
    "1",
    "2",
    "0",
    "-1",
    "99",
)
PASTED: tuple[str, ...] = (
    "http://127.0.0.1:8888/callback?code=abc&state=xyz",
    "http://127.0.0.1:8888/callback?state=xyz",
    "http://127.0.0.1:8888/callback?error=access_denied&state=xyz",
    "http://127.0.0.1:8888/callback?code=abc",
    "http://[::1]:8888/callback?code=a&state=b",
    "http://[::1:8888/callback?code=a&state=b",
    "http://[/callback?state=b",
    "http://127.0.0.1:99999/callback?state=b",
    "http://127.0.0.1:8888/callback?state=" + "s" * 500,
    "https://example.com/callback?code=a&state=b",
    "ftp://127.0.0.1/callback?state=b",
    "00000000-0000-0000-0000-000000000000",
    "d9f8a1c2-3b4e-4f5a-8b6c-7d8e9f0a1b2c",
    "x" * 15,
    "x" * 16,
    "x" * 200,
    "x" * 201,
    "token\x00with\x00nul",
    "tökén-with-ümlauts-inside",
    "token\x7fdel\x1besc-chars",
    "токен-кириллица-подлиннее",
    "\ud800-lone-surrogate-token",
    "Bearer abcdefabcdefabcdef",
)
PATH_WORDS: tuple[str, ...] = (
    *PATH_PLACEHOLDERS,
    "/dev/zero",
    "/dev/null",
    "/dev/urandom",
    "/dev/stdin",
    "/proc/self/mem",
    "/proc/self/environ",
    "/proc/self/fd/0",
    "/etc/passwd",
    "/",
    ".",
    "..",
    "~",
    "~root",
    "~nosuchuser/liked.csv",
    "/nonexistent/liked.csv",
    "liked.csv",
    "../../../../etc/shadow",
    "file:///etc/passwd",
    '"/tmp/liked songs.csv"',
    "C:\\Users\\me\\liked.csv",
    "/tmp/" + "a" * 300 + ".csv",
    "/tmp/" + "/".join(["d" * 200] * 30) + ".csv",
    "/tmp/" + "a" * 255,
    "/tmp/x\x00y.csv",
    "/tmp/\ud800.csv",
    "/tmp/\udc80\udcff.csv",
    "-",
    "--help",
    "*",
    "/tmp/*.csv",
)
HELP_TOPICS: tuple[str, ...] = (
    *(spec.name for spec in COMMANDS),
    *(f"/{spec.name}" for spec in COMMANDS),
    *ALIASES,
    "//help",
    "nosuchcommand",
    "HELP",
    "/",
)
PLAYLIST_WORDS: tuple[str, ...] = ("yes", "no", "y", "n", "true", "false", "on", "off", "YES")
UNKNOWN_HEADS: tuple[str, ...] = (
    "",
    "/",
    "recommendd",
    "ｒｅｃｏｍｍｅｎｄ",
    "İmport",
    "help\u200b",
    "@beatmatch_bot",
    "sudo",
)

#: An option of a command, as (command, option) names, that takes a special kind of value.
SPECIAL_VALUES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("import", "path"): PATH_WORDS,
    ("genre", "track"): (*TRACK_REFS, *TRACK_PLACEHOLDERS),
    ("similar", "track"): (*TRACK_REFS, *TRACK_PLACEHOLDERS),
    ("like", "track"): (*TRACK_REFS, "{catalog_id}"),
    ("dislike", "track"): (*TRACK_REFS, "{catalog_id}"),
    ("link", "pasted"): PASTED,
    ("help", "topic"): HELP_TOPICS,
    ("recommend", "playlist"): PLAYLIST_WORDS,
    ("playlist", "name"): PLAYLIST_WORDS,
}


def odd_text(max_size: int = 24) -> st.SearchStrategy[str]:
    """Short text of any unicode, odd characters and pieces more often than chance gives them."""
    pieces = st.one_of(st.characters(), st.sampled_from(ODD_CHARS))
    return st.lists(pieces, max_size=max_size).map("".join)


def long_word() -> st.SearchStrategy[str]:
    """A piece of text repeated into a very long word (up to past the command limit)."""
    return st.builds(
        lambda piece, times: piece * times,
        st.sampled_from(("a", "9", "é", "🎵", "\u0301", "\x00", "ab-", "%s")),
        st.integers(min_value=100, max_value=MAX_COMMAND_CHARS + 50),
    )


def numbers() -> st.SearchStrategy[str]:
    """Number-like words: edge cases, any integer, any float (NaN and infinities too)."""
    return st.one_of(
        st.sampled_from(NUMBER_WORDS),
        st.integers().map(str),
        st.integers(min_value=-300, max_value=300).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    )


def case_variants(word: str) -> st.SearchStrategy[str]:
    """``word`` as typed, upper-cased or title-cased."""
    return st.sampled_from((word, word.upper(), word.title()))


def option_values(spec: CommandSpec, option: Option) -> st.SearchStrategy[str]:
    """What a user may write for ``option`` of ``spec``: sensible values and hostile ones."""
    hostile = st.one_of(odd_text(), numbers(), long_word())
    special = SPECIAL_VALUES.get((spec.name, option.name))
    choices: list[st.SearchStrategy[str]] = []
    if special:
        choices.append(st.sampled_from(special))
    if option.choices:
        choices.append(st.sampled_from(option.choices).flatmap(case_variants))
    if option.kind == "int":
        choices.append(numbers())
    if option.kind == "zone":
        choices.extend([numbers(), st.sampled_from(ZONE_WORDS)])
    if option.clearable:
        choices.append(st.sampled_from(CLEAR_WORDS))
    choices.append(hostile)
    return st.one_of(*choices)


def command_words(spec: CommandSpec) -> st.SearchStrategy[list[str]]:
    """The words after ``/name``: plain words for its positional options, ``key:value`` options
    (keys in any case, repeated, or of other commands), stray words, in any order."""
    positional = {word.removesuffix("...") for word in spec.words}
    plain = [o for o in spec.options if o.kind != "file" and (not o.keyed or o.name in positional)]
    keyed = [o for o in spec.options if o.keyed]
    pieces: list[st.SearchStrategy[str]] = [st.one_of(odd_text(), numbers())]
    pieces += [option_values(spec, o) for o in plain]
    pieces += [
        st.builds(
            lambda key, value: f"{key}:{value}",
            case_variants(o.name),
            option_values(spec, o),
        )
        for o in keyed
    ]
    other_keys = sorted({o.name for c in COMMANDS for o in c.options} - set(spec.keyed))
    pieces.append(
        st.builds(lambda key, value: f"{key}:{value}", st.sampled_from(other_keys), odd_text(8))
    )
    pieces.append(st.sampled_from((":", "::", ":5", "key:", ":value")))
    sensible = st.lists(st.one_of(*pieces[1:]), max_size=4)
    anything = st.lists(st.one_of(*pieces, long_word()), max_size=8)
    return st.one_of(sensible, anything)


def head_of(spec: CommandSpec) -> st.SearchStrategy[str]:
    """How a command is named: its name or an alias, in any case, maybe with ``@botname``."""
    names = [spec.name, *(alias for alias, name in ALIASES.items() if name == spec.name)]
    return st.builds(
        lambda name, suffix: name + suffix,
        st.sampled_from(names).flatmap(case_variants),
        st.sampled_from(("", "", "", "@beatmatch_bot", "@", "@@x", "@\u202eyo")),
    )


def joined(words: list[str], separators: list[str]) -> str:
    """``words`` joined by ``separators`` in turn (a single space when they run out)."""
    out = ""
    for i, word in enumerate(words):
        out += word if i == 0 else (separators[i - 1] if i - 1 < len(separators) else " ") + word
    return out


def spec_line(spec: CommandSpec) -> st.SearchStrategy[str]:
    """A typed line for ``spec``."""
    return st.builds(
        lambda lead, head, first, words, seps, tail: (
            f"{lead}/{head}{first}" + joined(words, seps) + tail
        ),
        st.sampled_from(("",) * 12 + (" ", "\n", "\u200b", "\ufeff")),
        head_of(spec),
        st.sampled_from((" ", " ", " ", "  ", "\t", "")),
        command_words(spec),
        st.lists(st.sampled_from(SEPARATORS), max_size=8),
        st.sampled_from(("", "", "", " ", "\n", "\x00", "  \t")),
    )


def other_lines() -> st.SearchStrategy[str]:
    """What is not a well-formed command: plain text, pasted addresses, deep links, nothing."""
    return st.one_of(
        odd_text(60),
        st.sampled_from(PASTED),
        st.builds(
            lambda head, payload: f"/start {payload}" if head else f"/START@bot {payload}",
            st.booleans(),
            st.one_of(st.sampled_from(("link_spotify", "link_pulsoid", "link_x", "")), odd_text()),
        ),
        st.builds(lambda head, rest: f"/{head} {rest}", st.sampled_from(UNKNOWN_HEADS), odd_text()),
        st.sampled_from(("", " ", "\n", "/", "//", "/ help", "\x00", "/\x00")),
        st.builds(
            lambda word, pad: word + " " * pad,
            st.sampled_from(("/help", "/stats", "/genre x")),
            st.integers(min_value=MAX_COMMAND_CHARS - 20, max_value=MAX_COMMAND_CHARS + 20),
        ),
    )


#: Well-formed values of the options whose values are special, by (command, option).
GOOD_VALUES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("import", "path"): ("{good_csv}", "{spaced dir}/liked songs.csv", "{bad_csv}"),
    ("genre", "track"): (
        *TRACK_PLACEHOLDERS,
        "https://open.spotify.com/track/{catalog_id}",
        "spotify:track:{catalog_id}",
        TRACK_REFS[0],
    ),
    ("similar", "track"): (*TRACK_PLACEHOLDERS, "spotify:track:{catalog_id}"),
    ("like", "track"): ("1", "2", "3", "10", "{catalog_id}"),
    ("dislike", "track"): ("1", "4", "{catalog_id}"),
    ("link", "pasted"): ("", PASTED[0], PASTED[11]),
    ("help", "topic"): HELP_TOPICS,
    ("recommend", "playlist"): ("no", "yes", "Morning run"),
    ("playlist", "name"): ("", "Morning run"),
}


def good_value(spec: CommandSpec, option: Option) -> st.SearchStrategy[str]:
    """A value of ``option`` that the command accepts (or is meant to)."""
    good = GOOD_VALUES.get((spec.name, option.name))
    if good:
        return st.sampled_from(good)
    if option.choices:
        return st.sampled_from(option.choices)
    if option.kind == "int":
        low, high = option.limits()
        return st.integers(min_value=low, max_value=high).map(str)
    if option.kind == "zone":
        named = tuple(word for word in ZONE_WORDS if " " not in word)
        return st.one_of(st.integers(min_value=1, max_value=5).map(str), st.sampled_from(named))
    return st.sampled_from(("beatmatch", "Halo", "x"))


def good_line(spec: CommandSpec) -> st.SearchStrategy[str]:
    """A well-formed line for ``spec``: its positional words in order, some options keyed — so
    that the fuzz also reaches deep into every command, not only into its argument checks."""
    positional = [o for o in spec.options if o.name in {w.removesuffix("...") for w in spec.words}]
    keyed = [o for o in spec.options if o.keyed and o not in positional]
    # Each positional word is there three times in four; the words after a missing one are too.
    words = st.tuples(
        *(
            st.sampled_from((True, True, True, False)).flatmap(
                lambda given, o=o: good_value(spec, o) if given else st.just("")
            )
            for o in positional
        )
    ).map(lambda values: values[: values.index("")] if "" in values else values)
    options = st.tuples(
        *(
            st.one_of(st.just(""), good_value(spec, o).map(lambda v, k=o.name: f"{k}:{v}"))
            for o in keyed
        )
    )
    return st.builds(
        lambda head, first, rest: " ".join(w for w in (f"/{head}", *first, *rest) if w),
        head_of(spec),
        words,
        options,
    )


def command_lines() -> st.SearchStrategy[str]:
    """Typed lines for every command of the registry, well-formed or hostile (most draws), and
    lines that aren't a command at all."""
    good = st.one_of(*(good_line(spec) for spec in COMMANDS if spec.handler))
    hostile = st.one_of(*(spec_line(spec) for spec in COMMANDS))
    return st.one_of(good, good, hostile, hostile, other_lines())


def typed_value(spec: CommandSpec, option: Option) -> st.SearchStrategy[object]:
    """A value as Discord passes it: an int for a whole-number option (any size: the registry,
    not Discord's range check, must hold the line), an int or a word for a zone, text otherwise;
    None when the option is left out."""
    ints = st.one_of(st.integers(), st.integers(min_value=-5, max_value=300))
    if option.kind == "int":
        return st.one_of(st.none(), ints)
    if option.kind == "zone":
        return st.one_of(st.none(), ints, option_values(spec, option))
    return st.one_of(st.none(), option_values(spec, option))


def typed_calls(front: str = "discord") -> st.SearchStrategy[tuple[str, dict[str, object]]]:
    """(command name, typed options) for every command ``front`` offers, as it passes them on."""
    specs = [spec for spec in offered(front) if spec.handler]
    return st.one_of(
        *(
            st.fixed_dictionaries(
                {},
                optional={o.name: typed_value(spec, o) for o in spec.options if o.kind != "file"},
            ).map(lambda options, name=spec.name: (name, options))
            for spec in specs
        )
    )


def aimed_at(text: str) -> str:
    """The command a line is meant for ("(not a command)" when it names none), for counting."""
    words = deep_link(text).strip().split()
    if not words or not words[0].startswith("/"):
        return "(not a command)"
    name = words[0][1:].split("@", 1)[0].lower()
    name = ALIASES.get(name, name)
    return name if any(spec.name == name for spec in COMMANDS) else "(unknown command)"
