"""A listener's Spotify world for tests and the bench: a library on the fake Spotify whose tracks
are partly in the catalog, partly known only to the fake ReccoBeats, and partly unknown anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.tracks import AUDIO_FEATURES
from tests.fakes.fake_reccobeats import FakeReccoBeats
from tests.fakes.fake_spotify import FakeSpotify
from tests.fakes.spotify_data import FakePlaylist, FakeUser, spotify_id, track_object

RANGES = ("short", "medium", "long")


@dataclass
class World:
    """What was put where (ids by where their features live)."""

    user: FakeUser
    in_catalog: list[str] = field(default_factory=list)
    in_reccobeats: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    followed_playlist: str = ""
    search_only: list[str] = field(default_factory=list)

    @property
    def library_ids(self) -> set[str]:
        """Every track the user has (saved, top lists, own playlists)."""
        user = self.user
        ids = {t for t, _ in user.saved}
        ids |= {t for rows in user.top_tracks.values() for t in rows}
        ids |= {
            t
            for p in user.playlists
            if p.owner_id == user.user_id or p.collaborative
            for t, _ in p.items
        }
        return ids


def _features(row: pd.Series, rng: np.random.Generator) -> dict[str, float]:
    out = {}
    for c in AUDIO_FEATURES:
        value = row.get(c)
        if pd.notna(value):
            jitter = 0.0 if c in ("key", "mode", "time_signature") else rng.normal(0, 0.01)
            out[c] = float(value) + float(jitter)
    return out


def _details(row: pd.Series) -> dict[str, float]:
    """The popularity and duration ReccoBeats' /track gives, taken from a catalog row."""
    pairs = (("popularity", "popularity"), ("durationMs", "duration_ms"))
    return {ours: float(row[theirs]) for ours, theirs in pairs if pd.notna(row.get(theirs))}


def populate(
    spotify: FakeSpotify,
    recco: FakeReccoBeats,
    catalog: pd.DataFrame,
    *,
    saved: int = 60,
    in_catalog: float = 0.5,
    in_reccobeats: float = 0.35,
    playlist_items: int = 30,
    search_only: int = 40,
    seed: int = 5,
) -> World:
    """A listener with ``saved`` saved tracks, top lists for three ranges, three playlists of
    their own (one collaborative), one they only follow, and search tracks outside the catalog."""
    rng = np.random.default_rng(seed)
    user = spotify.add_user(FakeUser("ann.spotify", "Ann Listener"))
    world = World(user=user)
    rows = catalog.sample(n=min(len(catalog), saved + 3 * playlist_items), random_state=seed)
    templates = catalog.sample(n=min(len(catalog), 500), random_state=seed + 1)
    ids: list[str] = []
    total = saved + 3 * playlist_items
    for i in range(total):
        share = i / max(total, 1)
        if share < in_catalog and i < len(rows):
            row = rows.iloc[i]
            track_id = str(rows.index[i])
            artists = [a.strip() for a in str(row["artists"]).split(";") if a.strip()] or ["?"]
            spotify.catalog.add(
                track_object(track_id, str(row["name"]), artists, str(row["album"]))
            )
            world.in_catalog.append(track_id)
        else:
            track_id = spotify_id(f"library-{seed}-{i}")
            artist = f"Library Artist {i % 23}"
            spotify.catalog.add(track_object(track_id, f"Library Song {i}", [artist]))
            if share < in_catalog + in_reccobeats:
                template = templates.iloc[i % len(templates)]
                recco.features[track_id] = _features(template, rng)
                recco.details[track_id] = _details(template)
                spotify.catalog.features[track_id] = recco.features[track_id]
                world.in_reccobeats.append(track_id)
            else:
                world.unknown.append(track_id)
        ids.append(track_id)
    order = list(rng.permutation(total))
    saved_ids = [ids[j] for j in order[:saved]]
    user.saved = [
        (t, f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z") for n, t in enumerate(saved_ids)
    ]
    for k, name in enumerate(RANGES):
        user.top_tracks[name] = saved_ids[k * 5 : k * 5 + 20]
        artists = [
            a["name"] for t in user.top_tracks[name] for a in spotify.catalog.tracks[t]["artists"]
        ]
        user.top_artists[name] = list(dict.fromkeys(artists))[:10]
    rest = [ids[j] for j in order[saved:]]
    for k in range(3):
        chunk = rest[k * playlist_items : (k + 1) * playlist_items] + saved_ids[k : k + 3]
        owner = user.user_id if k < 2 else "someone.else"
        playlist = FakePlaylist(
            spotify_id(f"pl-{seed}-{k}"), f"Mix {k}", owner, collaborative=k == 2
        )
        playlist.items = [(t, "2025-06-01T00:00:00Z") for t in chunk]
        spotify.catalog.add_playlist(playlist, user)
    stranger = spotify_id(f"stranger-{seed}")
    spotify.catalog.add(track_object(stranger, "Not Yours", ["Other Artist"]))
    followed = FakePlaylist(spotify_id(f"followed-{seed}"), "Followed", "someone.else")
    followed.items = [(stranger, "2025-01-01T00:00:00Z")]
    spotify.catalog.add_playlist(followed, user)
    world.followed_playlist = followed.playlist_id
    for i in range(search_only):
        track_id = spotify_id(f"search-{seed}-{i}")
        spotify.catalog.add(track_object(track_id, f"Search Song {i}", [f"Search Artist {i % 7}"]))
        template = templates.iloc[(i * 7) % len(templates)]
        recco.features[track_id] = _features(template, rng)
        recco.details[track_id] = _details(template)
        world.search_only.append(track_id)
    return world
