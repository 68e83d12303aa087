"""Finding stored tracks by what a listener typed, through the FTS5 index ``track_search``.

The index (migration ``m005_track_search``) holds every stored track's name and artists, folded
the way ``storage.search_text`` folds what is typed: any case, with or without accents and
punctuation. Every typed word must be in the name or the artists (the last one may be the start
of a word, for autocomplete). Exact titles come first — "Home" before "Home Again" — then catalog
tracks, then popular ones.
"""

from __future__ import annotations

import pandas as pd

from storage.access import Sqlite
from storage.migrations import without_apostrophes
from storage.search_text import match_expression, search_words, split_title_artist, title_phrase

#: What a search returns of each track (indexed by track_id), with ``exact`` (the title is
#: exactly what was typed as the title).
HIT_COLUMNS = ("name", "artists", "album", "release_year", "popularity", "in_catalog", "exact")
#: How many tracks whose title starts with the typed title are checked for an exact title.
_EXACT_CANDIDATES = 200
_SELECT = (
    "select t.id as track_id, t.name, t.artists, t.album, t.release_year, t.popularity, "
    "t.in_catalog from track_search s join tracks t on t.rowid = s.rowid "
    "where track_search match ? {only} "
    "order by t.in_catalog desc, coalesce(t.popularity, 0) desc, t.id limit ?"
)


def find_tracks(
    sql: Sqlite, text: str, limit: int = 25, *, catalog_only: bool = False, prefix: bool = True
) -> pd.DataFrame:
    """Stored tracks matching ``text`` ("title", "artist title" or "title - artist"), best first.

    ``prefix``: the last word may be unfinished (autocomplete). ``catalog_only``: only tracks of
    the imported catalog.
    """
    words = search_words(text)
    if not words or limit <= 0:
        return _empty()
    only = "and t.in_catalog = 1" if catalog_only else ""
    exact = _exact_titles(sql, text, only, prefix)
    general = _query(sql, match_expression(words, prefix_last=prefix), only, limit)
    general["exact"] = False
    hits = pd.concat([exact, general]) if len(exact) else general
    return hits[~hits.index.duplicated(keep="first")].iloc[:limit]


def _exact_titles(sql: Sqlite, text: str, only: str, prefix: bool) -> pd.DataFrame:
    """Tracks whose title is exactly the title of one reading of ``text`` (and whose artists
    hold that reading's artist words), in the readings' order."""
    found = []
    for title, artist in split_title_artist(text):
        title_words, artist_words = search_words(title), search_words(artist)
        if not title_words:
            continue
        expression = title_phrase(title_words)
        if artist_words:
            expression += " AND " + match_expression(
                artist_words, prefix_last=prefix, column="artists"
            )
        rows = _query(sql, expression, only, _EXACT_CANDIDATES)
        keep = [search_words(str(name)) == title_words for name in rows["name"]]
        found.append(rows[keep])
    if not found:
        return _empty()
    exact = pd.concat(found)
    exact["exact"] = True
    return exact


def _query(sql: Sqlite, expression: str, only: str, limit: int) -> pd.DataFrame:
    frame = sql.frame(_SELECT.format(only=only), [expression, int(limit)])
    return frame.set_index("track_id")


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(HIT_COLUMNS), index=pd.Index([], name="track_id"))


def rebuild(sql: Sqlite) -> int:
    """Index every stored track afresh (after anything that renumbered ``tracks``' rowids);
    returns how many tracks are indexed."""
    with sql.tx() as db:
        db.execute("insert into track_search (track_search) values ('delete-all')")
        db.execute(
            "insert into track_search (rowid, name, artists) select rowid, "
            f"{without_apostrophes('name')}, {without_apostrophes('artists')} from tracks"
        )
        return int(db.execute("select count(*) from tracks").fetchone()[0])
