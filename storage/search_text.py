"""How search text is folded into words, the same way for what is typed and what is indexed.

The track search index (migration ``m005_track_search``) uses SQLite FTS5's ``unicode61``
tokenizer with ``remove_diacritics 2``: case and accents never matter, and every character that
is not a letter or a digit separates words. Apostrophes are removed before indexing, so "Don't"
is the one word "dont" and ``dont stop me now`` finds it.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters removed (not turned into spaces) before a text is split into words.
APOSTROPHES = ("'", "\u2019", "\u02bc")
_WORD = re.compile(r"[^\W_]+")


def split_title_artist(query: str) -> list[tuple[str, str]]:
    """Ways to read "title - artist": split at the last " - ", then the first, then title only."""
    query = " ".join(query.split())
    readings: list[tuple[str, str]] = []
    for splitter in (query.rsplit(" - ", 1), query.split(" - ", 1)):
        if len(splitter) == 2 and splitter[0].strip() and splitter[1].strip():
            reading = (splitter[0].strip(), splitter[1].strip())
            if reading not in readings:
                readings.append(reading)
    readings.append((query, ""))
    return readings


def fold(text: str) -> str:
    """``text`` without accents, apostrophes or case: "Don’t Stop Me Now" → "dont stop me now"."""
    for mark in APOSTROPHES:
        text = text.replace(mark, "")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_words(text: str) -> list[str]:
    """The words of ``text`` as the index holds them: "CUFF IT - Beyoncé" → cuff, it, beyonce."""
    return _WORD.findall(fold(text))


def match_expression(words: list[str], *, prefix_last: bool = True, column: str = "") -> str:
    """An FTS5 MATCH expression asking for every word (the last one as a prefix, for text still
    being typed), optionally in one column. Words are quoted: nothing typed is FTS5 syntax."""
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    if prefix_last:
        quoted[-1] += "*"
    body = " ".join(quoted)
    return f"{column} : ({body})" if column else body


def title_phrase(words: list[str]) -> str:
    """An FTS5 expression for a title that starts with exactly ``words`` (an exact title is one
    of these, told apart by comparing its words afterwards)."""
    return 'name : ^"' + " ".join(words) + '"'
