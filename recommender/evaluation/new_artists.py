"""Discovery under the next-likes protocol: can the ranker find later likes by artists the listener
had not liked before?

Much of next-likes Recall@100 comes from "more by artists you have". This variant keeps, of the
later 20 %, only the n likes none of whose artists occurs in the earlier 80 %, and of the earlier
80 % only the most recent 4 × n likes, so the same 80 % cut falls exactly between the two parts:
the ordinary protocol (:func:`recommender.evaluation.next_likes.evaluate_next_likes`) then measures
new-artist Recall@K. The rest of the library stays out of the candidates (it is owned).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from recommender.evaluation.next_likes import (
    Ranker,
    beatmatch_ranker,
    evaluate_next_likes,
)
from recommender.features import track_artist_keys
from recommender.taste import time_order


def artist_keys_of(tracks: pd.DataFrame, ids: Iterable[str]) -> set[str]:
    """The artist keys of the tracks ``ids`` (those ``tracks`` holds)."""
    wanted = tracks.index.intersection(pd.Index(list(ids)))
    return {key for cell in tracks.loc[wanted, "artists"] for key in track_artist_keys(str(cell))}


def new_artist_entries(
    library_tracks: pd.DataFrame, entries: pd.DataFrame, train_fraction: float = 0.8
) -> pd.DataFrame:
    """The library rows of the new-artist split, oldest first: the most recent
    ``train_fraction / (1 - train_fraction)`` × n earlier likes, then the n later likes by artists
    absent from the whole earlier part. Empty when no later like is by a new artist."""
    rows = entries.drop_duplicates("track_id").copy()
    rows["source"] = rows.get("source", "exportify")
    order = time_order(rows).reindex(rows["track_id"]).to_numpy()
    rows = rows.iloc[np.argsort(order, kind="stable")]
    cut = round(len(rows) * train_fraction)
    train, test = rows.iloc[:cut], rows.iloc[cut:]
    known = artist_keys_of(library_tracks, train["track_id"])
    artists = library_tracks["artists"].reindex(test["track_id"].to_list()).fillna("")
    fresh = [
        not (set(track_artist_keys(str(cell))) & known) and bool(str(cell))
        for cell in artists.to_numpy()
    ]
    new = test[np.asarray(fresh, dtype=bool)]
    if new.empty:
        return rows.iloc[0:0]
    keep = round(len(new) * train_fraction / (1.0 - train_fraction))
    return pd.concat([train.iloc[max(len(train) - keep, 0) :], new])


def evaluate_new_artists(
    catalog: pd.DataFrame,
    library_tracks: pd.DataFrame,
    entries: pd.DataFrame,
    *,
    seed: int = 0,
    ranker: Ranker = beatmatch_ranker,
) -> dict[str, float | int]:
    """The next-likes JSON object over the new-artist split (``test`` = the n new-artist likes)."""
    kept = new_artist_entries(library_tracks, entries)
    owned = pd.Index(entries["track_id"].astype(str).unique())
    others = catalog.drop(index=catalog.index.intersection(owned.difference(kept["track_id"])))
    return evaluate_next_likes(others, library_tracks, kept, seed=seed, ranker=ranker)
