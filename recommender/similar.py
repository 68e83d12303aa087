"""/similar's ranking: tracks nearest in sound within the seed's genre distribution.

A seed's genres are a distribution (its catalog labels shared equally, or the classifier's
probabilities), not one label: a track whose genres carry little of the seed's mass must sound
much closer to be chosen than one in the seed's main genre, and a track in none of them is only
chosen when too few others are left. So a hip-hop seed the classifier gives 30 % "hardcore" stays
in hip-hop, and "As It Was" at 35 % pop / 20 % indie-pop does not turn into the Bollywood ballads
that happen to share its tempo.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recommender.candidates import cap_per_artist
from recommender.explain import sound_matrix
from recommender.song_key import title_key

#: Sound distance is counted in typical near-neighbour distances (the median of the nearest
#: ones in the seed's main genre); a candidate whose genres hold none of the seed's mass is GENRE_PENALTY of them further
#: away, one in a genre half as likely as the seed's main genre half that.
GENRE_PENALTY = 3.0
#: Genres under this probability are noise of the classifier: they do not make a track "in genre".
MIN_SHARE = 0.05
#: Sound neighbours considered before the per-artist cap: this many per wanted track, at least 200.
WIDTH = 20


def genre_affinity(
    track_ids: pd.Index, labels: pd.DataFrame, distribution: Mapping[str, float]
) -> np.ndarray:
    """For each track, the seed's probability of the track's likeliest-for-the-seed label,
    relative to the seed's top genre: 1 in the seed's main genre, 0 in none of its genres."""
    wanted = {g: p for g, p in distribution.items() if p >= MIN_SHARE}
    out = np.zeros(len(track_ids))
    if not wanted:
        return out
    top = max(wanted.values())
    rows = labels[labels["genre"].isin(list(wanted))]
    share = rows["genre"].map(wanted).astype(float) / top
    best = share.groupby(rows["track_id"].to_numpy()).max()
    return best.reindex(track_ids).fillna(0.0).to_numpy(dtype=float)


def similar_tracks(
    tracks: pd.DataFrame,
    labels: pd.DataFrame,
    seed: pd.DataFrame,
    distribution: Mapping[str, float],
    n: int,
    exclude: str = "",
) -> list[str]:
    """The ``n`` tracks of ``tracks`` (≤ 2 per artist) nearest to the one-row ``seed`` in sound,
    penalised by how little of the seed's genre ``distribution`` they carry; ``labels`` has the
    catalog's track_id/genre rows. The seed itself (id ``exclude``, or its title) is left out."""
    affinity = genre_affinity(tracks.index, labels, distribution)
    in_genre = affinity > 0
    if int(in_genre.sum()) >= max(50, 5 * n):
        tracks, affinity = tracks[in_genre], affinity[in_genre]
    width = max(200, n * WIDTH)
    distance = ((sound_matrix(tracks) - sound_matrix(seed)[0]) ** 2).sum(axis=1)
    if distribution and len(distance):
        # In units of a typical near neighbour's distance within the seed's main genre, so the
        # penalty means the same for a seed in a crowded corner of the catalog as in an empty one.
        main = distance[affinity >= 1.0] if (affinity >= 1.0).any() else distance
        scale = float(np.median(np.partition(main, min(width, len(main)) - 1)[:width]))
        distance = distance / max(scale, 1e-9) + GENRE_PENALTY * (1.0 - affinity)
    order = np.argsort(distance, kind="stable")[:width]
    # Other releases of the seed ("(feat. X)", remasters, remixes) are the same song, not a
    # neighbour.
    name = title_key(str(seed.iloc[0].get("name", "")))
    ids = [
        t
        for t in tracks.index[order]
        if t != exclude and title_key(str(tracks.at[t, "name"])) != name
    ]
    return cap_per_artist(ids, tracks, n)


def seed_distribution(
    labels: list[str], top: list[tuple[str, float]] | None = None
) -> dict[str, float]:
    """The seed's genre distribution: its catalog labels shared equally, else the classifier's
    probabilities (``top``), else nothing (rank by sound alone)."""
    if labels:
        return {g: 1.0 / len(labels) for g in labels}
    return {g: p for g, p in top or []}
