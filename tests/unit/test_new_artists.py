"""Discovery: the new-artist split keeps the later likes by artists not liked before."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.evaluation.new_artists import evaluate_new_artists, new_artist_entries
from recommender.evaluation.next_likes import NextLikesSplit
from recommender.tracks import normalise_tracks

# Fifteen likes, one a day: twelve earlier ones (artists A0..A5, twice each), then three later.
ARTISTS = {f"L{i:02d}": f"A{i % 6}" for i in range(12)}
ARTISTS.update({"L12": "A3", "L13": "New One;new two", "L14": "Fresh;a1"})
LIBRARY = normalise_tracks(
    pd.DataFrame(
        {"name": [f"song {t}" for t in ARTISTS], "artists": list(ARTISTS.values())},
        index=pd.Index(list(ARTISTS), name="track_id"),
    )
)
ENTRIES = pd.DataFrame(
    {
        "track_id": list(reversed(ARTISTS)),  # an export lists the newest first
        "rank": range(1, 16),
        "added_at": [f"2024-01-{d:02d}T12:00:00Z" for d in range(15, 0, -1)],
    }
)


def test_only_later_likes_by_artists_absent_from_the_earlier_part_are_kept() -> None:
    kept = new_artist_entries(LIBRARY, ENTRIES)
    # L12 is by A3 (liked before), L14 shares "a1" (case folded): only L13 is by new artists.
    assert list(kept["track_id"])[-1:] == ["L13"]
    assert "L12" not in set(kept["track_id"]) and "L14" not in set(kept["track_id"])


def test_the_most_recent_four_times_n_earlier_likes_are_kept_so_the_cut_falls_between() -> None:
    kept = new_artist_entries(LIBRARY, ENTRIES)
    assert list(kept["track_id"]) == ["L08", "L09", "L10", "L11", "L13"]


def test_no_new_artist_later_like_gives_no_rows() -> None:
    library = LIBRARY.assign(artists="Same")
    assert new_artist_entries(library, ENTRIES).empty


def test_the_evaluation_tests_only_new_artist_likes_and_never_offers_owned_tracks() -> None:
    catalog = normalise_tracks(
        pd.DataFrame(
            {"name": ["x", "y", "L02 again"], "artists": ["Other", "Another", "A2"]},
            index=pd.Index(["cat0", "cat1", "L02"], name="track_id"),
        )
    )
    seen: list[NextLikesSplit] = []

    def ranker(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
        seen.append(split)
        return np.arange(len(split.candidates), dtype=float)

    result = evaluate_new_artists(catalog, LIBRARY, ENTRIES, ranker=ranker)
    assert (result["train"], result["test"]) == (4, 1)
    assert seen[0].test_ids == ["L13"]
    assert set(seen[0].candidates.index) == {"cat0", "cat1", "L13"}
