"""Web API JSON → the core's plain data. Reads both envelopes: 2026's ``items``/``item`` and the
older ``tracks``/``track``; local files, episodes and unavailable (null) entries are skipped."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bot.core.ports import Page, SpotifyArtist, SpotifyPlaylist, SpotifyProfile, SpotifyTrack
from bot.sources.backoff import MalformedResponse
from recommender.tracks import AUDIO_FEATURES

T = TypeVar("T")
_ID = re.compile(r"^[A-Za-z0-9]{22}$")
PLAYLIST_URL = "https://open.spotify.com/playlist/{}"


def _field(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def _object(raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise MalformedResponse("Spotify")
    return raw


def parse_track(raw: Any, added_at: str | None = None) -> SpotifyTrack | None:
    """A TrackObject, or None for episodes, local files and removed tracks."""
    if not isinstance(raw, Mapping) or raw.get("is_local"):
        return None
    if raw.get("type", "track") != "track":
        return None
    track_id = str(raw.get("id") or "")
    if not _ID.match(track_id):
        return None
    album = _field(raw, "album")
    year = str(album.get("release_date") or "")[:4]
    external = _field(raw, "external_ids")
    duration = raw.get("duration_ms")
    explicit = raw.get("explicit")
    return SpotifyTrack(
        track_id=track_id,
        name=str(raw.get("name") or ""),
        artists=tuple(
            str(a.get("name") or "")
            for a in raw.get("artists") or []
            if isinstance(a, Mapping) and a.get("name")
        ),
        album=str(album.get("name") or ""),
        duration_ms=float(duration) if isinstance(duration, int | float) else None,
        explicit=bool(explicit) if isinstance(explicit, bool) else None,
        release_year=int(year) if year.isdigit() else None,
        isrc=str(external.get("isrc") or ""),
        added_at=added_at,
    )


def parse_entry(raw: Any) -> SpotifyTrack | None:
    """A saved-track or playlist entry: ``{"added_at", "item"}`` (2026) or ``{"added_at", "track"}``."""
    if not isinstance(raw, Mapping) or raw.get("is_local"):
        return None
    inner = raw.get("item") if raw.get("item") is not None else raw.get("track")
    added = raw.get("added_at")
    return parse_track(inner, str(added) if added else None)


def parse_page(raw: Any, parse: Callable[[Any], T | None]) -> Page[T]:
    """A paging object: the parsed items (unparseable ones dropped), the total and the offset."""
    body = _object(raw)
    items = body.get("items")
    if not isinstance(items, list):
        raise MalformedResponse("Spotify")
    parsed = [p for p in (parse(i) for i in items) if p is not None]
    total = body.get("total")
    offset = body.get("offset")
    return Page(
        items=tuple(parsed),
        total=int(total) if isinstance(total, int) else len(items),
        offset=int(offset) if isinstance(offset, int) else 0,
    )


def parse_artist(raw: Any) -> SpotifyArtist | None:
    """An ArtistObject of a top-artists page."""
    if not isinstance(raw, Mapping) or not raw.get("name"):
        return None
    return SpotifyArtist(artist_id=str(raw.get("id") or ""), name=str(raw["name"]))


def parse_playlist(raw: Any) -> SpotifyPlaylist | None:
    """A (simplified) PlaylistObject; the item count comes from ``items`` (2026) or ``tracks``."""
    if not isinstance(raw, Mapping) or not raw.get("id"):
        return None
    ref = raw.get("items") if isinstance(raw.get("items"), Mapping) else raw.get("tracks")
    total = ref.get("total") if isinstance(ref, Mapping) else None
    owner = _field(raw, "owner")
    urls = _field(raw, "external_urls")
    playlist_id = str(raw["id"])
    return SpotifyPlaylist(
        playlist_id=playlist_id,
        name=str(raw.get("name") or ""),
        owner_id=str(owner.get("id") or ""),
        collaborative=bool(raw.get("collaborative")),
        total=int(total) if isinstance(total, int) else 0,
        url=str(urls.get("spotify") or PLAYLIST_URL.format(playlist_id)),
    )


def parse_profile(raw: Any) -> SpotifyProfile:
    """``GET /me``: the account's id and display name."""
    body = _object(raw)
    user_id = str(body.get("id") or "")
    if not user_id:
        raise MalformedResponse("Spotify")
    return SpotifyProfile(user_id=user_id, display_name=str(body.get("display_name") or ""))


def parse_search(raw: Any) -> list[SpotifyTrack]:
    """The tracks of a search answer."""
    tracks = _object(raw).get("tracks")
    if tracks is None:
        return []
    return list(parse_page(tracks, parse_track).items)


def parse_audio_features(raw: Any) -> dict[str, dict[str, float]]:
    """The legacy ``{"audio_features": [...]}``: features of the tracks Spotify knew."""
    rows = _object(raw).get("audio_features") or []
    out: dict[str, dict[str, float]] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping) or not row.get("id"):
            continue
        out[str(row["id"])] = {
            c: float(row[c]) for c in AUDIO_FEATURES if isinstance(row.get(c), int | float)
        }
    return out
