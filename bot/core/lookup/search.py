"""Track search for /genre, /similar and autocomplete: what a listener typed → catalog tracks.

Stored tracks (the imported catalog and every track the bot has stored) are found through the
database's FTS5 index (``storage.track_search``): any case, with or without accents and
punctuation, exact titles first, then popular tracks, in a few milliseconds over 76k tracks.
The synthetic demo catalog lives only in memory and is searched directly (it is small).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.track_refs import search_frame
from storage.search_text import search_words, split_title_artist
from storage.track_store import TrackStore

#: The longest label Discord shows for an autocomplete choice.
LABEL_LIMIT = 100


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete choice: the track's id and the label shown for it."""

    track_id: str
    label: str


class TrackFinder:
    """Finds tracks by name and artists in the stored tracks (and the demo catalog, when used)."""

    def __init__(self, catalog: CatalogState, tracks: TrackStore) -> None:
        self.catalog = catalog
        self.tracks = tracks

    def find(self, text: str, limit: int = 25) -> pd.DataFrame:
        """Tracks matching ``text`` (blocking: reads SQLite), best first, with the columns of
        ``storage.track_search.HIT_COLUMNS``. The last word may be unfinished."""
        hits = self.tracks.find_tracks(text, limit)
        if not self.catalog.is_demo:
            return hits
        demo = self._demo_hits(text, limit)
        both = pd.concat([demo, hits]) if len(hits) else demo
        both = both[~both.index.duplicated(keep="first")]
        return both.sort_values("exact", ascending=False, kind="stable").iloc[:limit]

    async def suggest(self, text: str, limit: int = 25) -> list[Suggestion]:
        """Up to ``limit`` choices for what is typed so far, each label told apart from the
        others by album and year when titles and artists are the same, and none twice."""
        if len(text.strip()) < 2 or not search_words(text):
            return []
        hits = await asyncio.to_thread(self.find, text, limit * 2)
        return suggestions(hits, limit)

    def _demo_hits(self, text: str, limit: int) -> pd.DataFrame:
        """The demo catalog's tracks matching ``text``, exact titles marked."""
        for title, artist in split_title_artist(text):
            rows = search_frame(self.catalog.tracks, title, artist, limit=limit)
            if len(rows):
                hits = rows[["name", "artists", "album", "release_year", "popularity"]].copy()
                hits["in_catalog"] = 1
                hits["exact"] = [search_words(str(n)) == search_words(title) for n in rows["name"]]
                return hits
        return self.catalog.tracks.iloc[0:0][["name", "artists", "album"]].assign(exact=False)


def suggestions(hits: pd.DataFrame, limit: int) -> list[Suggestion]:
    """Labelled choices for search hits: "Title — Artists", with "(Album, Year)" added where two
    hits would otherwise read the same; a label that is still the same is offered once."""
    bases = [_base(row) for _, row in hits.iterrows()]
    clashing = {b for b in bases if bases.count(b) > 1}
    seen: set[str] = set()
    out: list[Suggestion] = []
    for (track_id, row), base in zip(hits.iterrows(), bases, strict=True):
        detail = _detail(row) if base in clashing else ""
        suffix = f" ({detail})" if detail else ""
        label = _shorten(base, LABEL_LIMIT - len(suffix)) + suffix
        if label.casefold() in seen:
            continue
        seen.add(label.casefold())
        out.append(Suggestion(str(track_id), label))
        if len(out) == limit:
            break
    return out


def _base(row: pd.Series) -> str:
    artists = str(row.get("artists") or "").replace(";", ", ")
    name = str(row.get("name") or "Untitled")
    return f"{name} — {artists}" if artists else name


def _detail(row: pd.Series) -> str:
    """ "Album, Year" of a hit (what is known of them)."""
    parts = [str(row.get("album") or "").strip()]
    year = row.get("release_year")
    if year is not None and isinstance(year, int | float) and not math.isnan(year) and year > 0:
        parts.append(str(int(year)))
    return ", ".join(p for p in parts if p)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"
