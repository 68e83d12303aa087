"""Candidate pools: what may be recommended, which negatives to learn from, and diversity caps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from recommender.features import track_artist_keys
from recommender.song_key import song_key, title_key

MAX_PER_ARTIST = 2


def exclude(candidates: pd.DataFrame, track_ids: Iterable[str]) -> pd.DataFrame:
    """``candidates`` without the given track ids (the user's library, dislikes, …)."""
    drop = candidates.index.intersection(pd.Index(list(track_ids)))
    return candidates.drop(index=drop) if len(drop) else candidates


def merge_pools(*pools: pd.DataFrame) -> pd.DataFrame:
    """Several candidate tables as one, each track once (the first pool's row wins)."""
    frames = [p for p in pools if p is not None and len(p)]
    if not frames:
        return pools[0].iloc[0:0] if pools else pd.DataFrame()
    merged = pd.concat(frames)
    return merged[~merged.index.duplicated(keep="first")]


def song_hashes(tracks: pd.DataFrame, chunk: int = 4096) -> np.ndarray:
    """One 64-bit hash per row naming the song rather than the release: its ``song_key`` (title
    without feat./remaster/version noise, folded, with the primary artist), so an album version,
    a single, a "(feat. X)" release and a compilation copy of one song share it. A row without a
    title hashes to ``NO_SONG`` (matches nothing).
    Rows are keyed ``chunk`` at a time: the key strings of a whole catalog at once would leave
    ~10 MB of freed-but-held memory behind."""
    names, artists = tracks["name"].to_numpy(), tracks["artists"].to_numpy()
    out = np.empty(len(tracks), dtype=np.uint64)
    for start in range(0, len(tracks), chunk):
        stop = min(start + chunk, len(tracks))
        keys = [
            song_key(name, a)
            for name, a in zip(names[start:stop], artists[start:stop], strict=True)
        ]
        out[start:stop] = pd.util.hash_array(np.asarray(keys, dtype=object))
    return out


#: The hash of a row without a title.
NO_SONG = int(pd.util.hash_array(np.asarray([""], dtype=object))[0])


def sample_negatives(pool: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` tracks drawn uniformly without replacement from ``pool`` (all of it if smaller)."""
    if n >= len(pool):
        return pool
    picks = rng.choice(len(pool), size=n, replace=False)
    return pool.iloc[np.sort(picks)]


def cap_per_artist(
    ranked_ids: Sequence[str], tracks: pd.DataFrame, n: int, cap: int = MAX_PER_ARTIST
) -> list[str]:
    """The first ``n`` of ``ranked_ids`` keeping at most ``cap`` tracks per artist.

    A track counts against every one of its artists (a feature shares the cap of both) and is
    skipped if any of them is full. Tracks that are the same song as one already taken (the same
    folded title, ``title_key``, with an artist in common: album and single versions, "(feat. X)"
    releases, the artists listed in another order) are skipped too.
    """
    if n <= 0:
        return []
    per_artist: Counter[str] = Counter()
    seen_songs: set[tuple[str, str]] = set()
    chosen: list[str] = []
    for track_id in ranked_ids:
        row = tracks.loc[track_id]
        keys = track_artist_keys(str(row["artists"]))
        name = row["name"]
        title = title_key(name) if isinstance(name, str) and name.strip() else ""
        songs = {(title, key) for key in keys} if title else set()
        if songs & seen_songs:
            continue
        if any(per_artist[k] >= cap for k in keys):
            continue
        chosen.append(track_id)
        seen_songs.update(songs)
        per_artist.update(keys)
        if len(chosen) >= n:
            break
    return chosen
