"""Turning what a user typed into a track: a Spotify id, URL or URI, or "title - artist"."""

from __future__ import annotations

import re

import pandas as pd

from bot.core.errors import BadInput
from storage.search_text import search_words, split_title_artist

__all__ = [
    "clean_query",
    "looks_like_link",
    "parse_track_ref",
    "search_frame",
    "split_title_artist",
]

_ID = r"[A-Za-z0-9]{22}"
_PATTERNS = (
    re.compile(rf"^(?P<id>{_ID})$"),
    re.compile(rf"^spotify:track:(?P<id>{_ID})$"),
    re.compile(
        rf"^(?:https?://)?open\.spotify\.com/(?:intl-[a-z-]+/)?(?:embed/)?track/(?P<id>{_ID})"
        r"(?:[/?#].*)?$"
    ),
)
MAX_QUERY = 200


def parse_track_ref(text: str) -> str | None:
    """The Spotify track id in ``text`` (bare id, spotify:track: URI or open.spotify.com URL)."""
    candidate = text.strip().strip("<>")
    for pattern in _PATTERNS:
        match = pattern.match(candidate)
        if match:
            return match.group("id")
    return None


def looks_like_link(text: str) -> bool:
    """True if ``text`` is some URL or URI (so a failed parse deserves a precise message)."""
    lowered = text.strip().lower()
    return lowered.startswith(("http://", "https://", "spotify:", "open.spotify.com"))


def clean_query(text: str) -> str:
    """The user's search text, checked: not empty, not absurdly long, printable."""
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    if not text:
        raise BadInput(
            "Tell me which track: a Spotify link, a spotify:track: URI, an id, or “title - artist”."
        )
    if len(text) > MAX_QUERY:
        raise BadInput(
            f"That is {len(text):,} characters; a track name or link is at most {MAX_QUERY}."
        )
    return text


def search_frame(
    tracks: pd.DataFrame, title: str, artist: str = "", limit: int = 5
) -> pd.DataFrame:
    """Rows of a track table matching title (and artist) in any case, with or without accents and
    punctuation, exact titles and popular tracks first. It reads every row: for small tables
    (the demo catalog); stored tracks are searched through ``TrackStore.find_tracks``."""
    wanted = _words(title)
    if tracks.empty or not wanted:
        return tracks.iloc[0:0]
    names = tracks["name"].map(_words)
    mask = names.str.contains(wanted, regex=False, na=False)
    if artist:
        artists = tracks["artists"].map(_words)
        mask &= artists.str.contains(_words(artist), regex=False, na=False)
    hits = tracks[mask]
    if hits.empty:
        return hits
    exact = (names[mask] == wanted).astype(int)
    order = pd.DataFrame({"exact": exact, "pop": hits["popularity"].fillna(0)})
    order = order.sort_values(["exact", "pop"], ascending=False)
    return hits.loc[order.index[:limit]]


def _words(text: object) -> str:
    """``text`` as its folded words, space-separated ("Don’t Stop!" → "dont stop")."""
    return " ".join(search_words(str(text or "")))
