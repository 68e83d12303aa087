"""One key per song, whatever the release: "pushin P (feat. Young Thug)" by Gunna and "Pushin P" by
Gunna, Future and Young Thug are one song; "Intro" by two artists are two.

The key is the title folded (case, accents, punctuation, and release noise such as "feat. X",
"Remastered 2011", "Radio Edit", "Live", "Mono", "Skrillex Remix" in brackets or after " - ") joined to the primary
artist (the first one listed, folded the same way): featured artists come and go between releases,
the primary artist stays. A remix counts as the song it remixes: a listener who owns "HUMBLE."
is not offered "HUMBLE. - SKRILLEX REMIX" as something new.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Words that mark a bracketed or " - " part of a title as release noise, not the song's name.
NOISE_WORDS: tuple[str, ...] = (
    "feat",
    "ft",
    "featuring",
    "with",
    "remaster",
    "remastered",
    "version",
    "edit",
    "live",
    "mono",
    "stereo",
    "single",
    "album",
    "explicit",
    "clean",
    "bonus",
    "deluxe",
    "original",
    "mix",
    "remix",
    "from",
    "prod",
    "acoustic",
)
_NOISE = "|".join(NOISE_WORDS)
#: A bracketed part naming release noise: "(feat. X)", "[Remastered 2009]", "(Radio Edit)".
_BRACKETED = re.compile(rf"[(\[][^()\[\]]*\b(?:{_NOISE})\b[^()\[\]]*[)\]]", re.IGNORECASE)
#: A " - " tail naming release noise: " - Remastered 2011", " - Live at Wembley", " - Mono".
_DASH_TAIL = re.compile(rf"\s[-–—]\s.*\b(?:{_NOISE})\b.*$", re.IGNORECASE)
#: An unbracketed "feat. X" / "ft. X" / "featuring X" tail.
_FEAT_TAIL = re.compile(r"\s(?:feat\.?|ft\.|featuring)\s.*$", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")


#: A cheap test for titles that may carry noise (most titles don't: the regexes are skipped).
_MAYBE_NOISE = re.compile(r"[(\[]|\s[-–—]\s|\bf(?:ea)?t", re.IGNORECASE)


def fold(text: str) -> str:
    """``text`` in lower case without accents or punctuation, words single-spaced."""
    if text.isascii():
        return " ".join(_NOT_WORD.sub(" ", text.lower()).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", plain).split())


@lru_cache(maxsize=200_000)
def title_key(title: str) -> str:
    """The song's name in a title, folded: "No More ?'s" → "no more s", "Pushin P (feat. Young
    Thug)" → "pushin p". A title that is nothing but noise or punctuation keeps its own fold (or
    its lower-cased text), so it still names one song."""
    raw = " ".join(str(title).split())
    stripped = raw
    if _MAYBE_NOISE.search(raw):
        stripped = _BRACKETED.sub(" ", stripped)
        stripped = _DASH_TAIL.sub("", stripped)
        stripped = _FEAT_TAIL.sub("", stripped)
    return fold(stripped) or fold(raw) or raw.casefold()


@lru_cache(maxsize=100_000)
def primary_artist(artists: str) -> str:
    """The first artist of a ";"-separated artists cell, folded ("" when there is none)."""
    for name in str(artists).split(";"):
        if name.strip():
            return fold(name) or name.strip().casefold()
    return ""


def song_key(title: object, artists: object) -> str:
    """One key per song: the folded title and primary artist ("" for a row without a title,
    which matches no song)."""
    if not isinstance(title, str) or not title.strip():
        return ""
    return f"{title_key(title)}\x1f{primary_artist(str(artists or ''))}"
