"""What the fake Spotify knows: tracks, accounts with their libraries, and the /v1 routes over them.

Track objects carry the fields a Development-Mode app still gets in 2026 (no ``popularity``,
``available_markets`` or ``preview_url``; ``external_ids.isrc`` is back).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.fake_spotify import FakeSpotify

GONE_404 = ("recommendations", "browse", "markets")
URI = re.compile(r"^spotify:track:[A-Za-z0-9]{22}$")


FIELD_FILTER = re.compile(r'(track|artist):"([^"]*)"')


def _matches(track: dict[str, Any], filters: dict[str, str]) -> bool:
    """Whether ``track`` fits every ``track:``/``artist:`` filter (case-insensitive, in part)."""
    name = str(track.get("name", "")).lower()
    artists = " ".join(str(a.get("name", "")) for a in track.get("artists", [])).lower()
    wanted_name = filters.get("track", "").lower()
    wanted_artist = filters.get("artist", "").lower()
    return wanted_name in name and wanted_artist in artists


def spotify_id(text: str) -> str:
    """A deterministic 22-character base62-looking id."""
    return "s" + hashlib.sha256(text.encode()).hexdigest()[:21]


def track_object(
    track_id: str, name: str, artists: list[str], album: str = "", year: int = 2020
) -> dict[str, Any]:
    """A 2026 TrackObject."""
    return {
        "id": track_id,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
        "name": name,
        "artists": [{"id": spotify_id(a), "name": a, "type": "artist"} for a in artists],
        "album": {
            "id": spotify_id(album or name),
            "name": album or name,
            "release_date": f"{year}-05-01",
        },
        "duration_ms": 200_000,
        "explicit": False,
        "is_local": False,
        "external_ids": {"isrc": "QZ" + track_id[:10].upper()},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
    }


@dataclass
class FakePlaylist:
    """A playlist and its items (track ids with their added_at)."""

    playlist_id: str
    name: str
    owner_id: str
    collaborative: bool = False
    public: bool = False
    description: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FakeUser:
    """A Spotify account and its library."""

    user_id: str
    display_name: str
    saved: list[tuple[str, str]] = field(default_factory=list)
    top_tracks: dict[str, list[str]] = field(default_factory=dict)
    top_artists: dict[str, list[str]] = field(default_factory=dict)
    playlists: list[FakePlaylist] = field(default_factory=list)
    premium: bool = True
    #: Spotify open and playing on some device (``POST /me/player/queue`` needs one).
    active_device: bool = True
    #: Track URIs queued through ``POST /me/player/queue``, in order.
    queue: list[str] = field(default_factory=list)


@dataclass
class SpotifyCatalog:
    """Every track the fake knows, the legacy features, and the /v1 routes."""

    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    playlists: dict[str, FakePlaylist] = field(default_factory=dict)

    def add(self, track: dict[str, Any]) -> str:
        """Know a track; returns its id."""
        self.tracks[track["id"]] = track
        return str(track["id"])

    def add_playlist(self, playlist: FakePlaylist, listed_by: FakeUser) -> FakePlaylist:
        """A playlist in ``listed_by``'s list (their own, or one they follow)."""
        self.playlists[playlist.playlist_id] = playlist
        listed_by.playlists.append(playlist)
        return playlist

    def _simplified(self, spotify: FakeSpotify, p: FakePlaylist) -> dict[str, Any]:
        return {
            "id": p.playlist_id,
            "name": p.name,
            "type": "playlist",
            "uri": f"spotify:playlist:{p.playlist_id}",
            "collaborative": p.collaborative,
            "public": p.public,
            "description": p.description,
            "owner": {"id": p.owner_id, "type": "user"},
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{p.playlist_id}"},
            "items": {
                "href": f"{spotify.base}/v1/playlists/{p.playlist_id}/items",
                "total": len(p.items),
            },
        }

    async def route(
        self, spotify: FakeSpotify, user: FakeUser, request: web.Request, parts: list[str]
    ) -> web.StreamResponse:
        """The Web API as of 2026."""
        from tests.fakes.fake_spotify import api_error

        method, q = request.method, request.query
        if parts and parts[0] in GONE_404:
            return api_error(404, "Service unavailable")
        if parts == ["tracks"] or parts[:1] == ["users"]:
            return api_error(403, "Forbidden")
        if parts[:1] in (["audio-features"], ["audio-analysis"]):
            if not spotify.legacy or parts[0] != "audio-features":
                return api_error(403, "Forbidden")
            ids = [i for i in q.get("ids", "").split(",") if i]
            if len(ids) > 100:
                return api_error(400, "Too many ids requested")
            rows = [{**self.features[i], "id": i} if i in self.features else None for i in ids]
            return web.json_response({"audio_features": rows})
        if method == "GET" and parts == ["me"]:
            return web.json_response(
                {
                    "id": user.user_id,
                    "display_name": user.display_name,
                    "type": "user",
                    "uri": f"spotify:user:{user.user_id}",
                }
            )
        if method == "GET" and parts == ["me", "tracks"]:
            entries = [{"added_at": at, "track": self.tracks[t]} for t, at in user.saved]
            return spotify.page(request, entries)
        if method == "GET" and parts[:2] == ["me", "top"] and len(parts) == 3:
            time_range = q.get("time_range", "medium_term")
            if time_range not in ("short_term", "medium_term", "long_term"):
                return api_error(400, "Invalid time range")
            key = time_range.removesuffix("_term")
            if parts[2] == "tracks":
                return spotify.page(request, [self.tracks[t] for t in user.top_tracks.get(key, [])])
            names = user.top_artists.get(key, [])
            return spotify.page(
                request, [{"id": spotify_id(a), "name": a, "type": "artist"} for a in names]
            )
        if parts == ["me", "playlists"]:
            if method == "GET":
                return spotify.page(request, [self._simplified(spotify, p) for p in user.playlists])
            if method == "POST":
                body = await spotify.json_body(request)
                if not isinstance(body, dict) or not body.get("name"):
                    return api_error(400, "Missing required field: name")
                public = bool(body.get("public", True))
                needed = "playlist-modify-public" if public else "playlist-modify-private"
                if needed not in spotify.granted(request):
                    return api_error(403, "Insufficient client scope")
                playlist = FakePlaylist(
                    "p" + secrets.token_hex(10),
                    str(body["name"]),
                    user.user_id,
                    bool(body.get("collaborative")),
                    public,
                    str(body.get("description") or ""),
                )
                self.add_playlist(playlist, user)
                return web.json_response(self._simplified(spotify, playlist), status=201)
        if parts[:1] == ["tracks"] and len(parts) == 2 and method == "GET":
            track = self.tracks.get(parts[1])
            return web.json_response(track) if track else api_error(404, "Non existing id")
        if parts[:1] == ["playlists"] and len(parts) == 3:
            return await self._playlist_items(spotify, user, request, parts[1], parts[2])
        if parts == ["search"] and method == "GET":
            return self._search(spotify, request)
        return api_error(404, "Service not found")

    async def _playlist_items(
        self, spotify: FakeSpotify, user: FakeUser, request: web.Request, pid: str, what: str
    ) -> web.StreamResponse:
        from tests.fakes.fake_spotify import api_error

        playlist = self.playlists.get(pid)
        if what == "tracks":  # gone in 2026, every verb
            return api_error(403, "Forbidden")
        if what != "items" or playlist is None:
            return api_error(404, "Not found")
        if playlist.owner_id != user.user_id and not playlist.collaborative:
            return api_error(403, "Forbidden")
        if request.method == "GET":
            entries = [
                {
                    "added_at": at,
                    "added_by": {"id": playlist.owner_id},
                    "is_local": False,
                    "item": self.tracks[t],
                }
                for t, at in playlist.items
            ]
            return spotify.page(request, entries, default=100, limit_max=50)
        if request.method == "POST":
            body = await spotify.json_body(request)
            uris = body.get("uris") if isinstance(body, dict) else body
            if request.query.get("uris"):
                uris = request.query["uris"].split(",")
            if not isinstance(uris, list) or not uris:
                return api_error(400, "No uris provided")
            if len(uris) > 100:
                return api_error(400, "Too many items requested")
            if not all(isinstance(u, str) and URI.match(u) for u in uris):
                return api_error(400, "Invalid track uri")
            ids = [u.removeprefix("spotify:track:") for u in uris]
            playlist.items.extend((i, "2026-07-01T00:00:00Z") for i in ids)
            return web.json_response({"snapshot_id": secrets.token_hex(8)}, status=201)
        return api_error(405, "Method not allowed")

    def _search(self, spotify: FakeSpotify, request: web.Request) -> web.Response:
        from tests.fakes.fake_spotify import api_error

        q = request.query
        try:
            limit, offset = int(q.get("limit", 5)), int(q.get("offset", 0))
        except ValueError:
            return api_error(400, "Invalid limit")
        if not 0 <= limit <= 10:
            return api_error(400, "Invalid limit")
        if not 0 <= offset <= 1000:
            return api_error(400, "Invalid offset")
        if not q.get("q") or "track" not in q.get("type", "").split(","):
            return api_error(400, "Bad search query")
        pool = list(self.tracks.values())
        filters = dict(FIELD_FILTER.findall(q["q"]))
        if filters:  # track:"…" artist:"…" narrow the results, as on Spotify
            matching = [t for t in pool if _matches(t, filters)]
            items = matching[offset : offset + limit]
        else:  # free text: a stable but arbitrary slice (what random wildcard queries need)
            start = int(hashlib.sha256(q["q"].encode()).hexdigest(), 16) + offset
            items = [pool[(start + i) % len(pool)] for i in range(limit)] if pool else []
        body = {
            "href": f"{spotify.base}{request.path_qs}",
            "items": items,
            "limit": limit,
            "offset": offset,
            "total": 1000 + 10,
            "next": None,
            "previous": None,
        }
        return web.json_response({"tracks": body})
