"""Turning what a user typed into a track: a Spotify id, URL or URI, or "title - artist"."""

from __future__ import annotations

import re

import pandas as pd

from bot.core.errors import BadInput

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
    """Rows of a track table matching title (and artist), exact titles and popular tracks first."""
    if tracks.empty:
        return tracks
    names = tracks["name"].str.lower()
    wanted = title.lower()
    mask = names.str.contains(wanted, regex=False, na=False)
    if artist:
        mask &= tracks["artists"].str.lower().str.contains(artist.lower(), regex=False, na=False)
    hits = tracks[mask]
    if hits.empty:
        return hits
    exact = (hits["name"].str.lower() == wanted).astype(int)
    order = pd.DataFrame({"exact": exact, "pop": hits["popularity"].fillna(0)})
    order = order.sort_values(["exact", "pop"], ascending=False)
    return hits.loc[order.index[:limit]]
