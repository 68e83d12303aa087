"""Taste that moves: a like weighs less the longer before the listener's newest it was made."""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.features import TasteProfile
from recommender.preference import UNDATED_AGE_DAYS, like_age_days, recency_factors
from recommender.taste import TasteSettings, taste_weights

NEWEST = "2026-06-12T09:00:00Z"


def _library(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    """Library rows (track_id, source, added_at), ranks in row order."""
    return pd.DataFrame(
        [(t, s, i + 1, a) for i, (t, s, a) in enumerate(rows)],
        columns=["track_id", "source", "rank", "added_at"],
    )


def _tracks(*ids: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"popularity": [50.0] * len(ids), "artists": [f"Artist {t}" for t in ids]},
        index=pd.Index(list(ids), name="track_id"),
    )


LIBRARY = _library(
    ("new", "exportify", NEWEST),
    ("year", "exportify", "2025-06-12T09:00:00Z"),
    ("three", "exportify", "2023-06-13T09:00:00Z"),
)


def test_a_like_a_half_life_old_weighs_half_and_the_newest_full() -> None:
    factors = recency_factors(LIBRARY, 365.0)
    assert factors["new"] == pytest.approx(1.0)
    assert factors["year"] == pytest.approx(0.5)
    assert factors["three"] == pytest.approx(0.125, rel=0.01)


def test_without_a_half_life_every_like_weighs_the_same() -> None:
    assert set(recency_factors(LIBRARY, None)) == {1.0}


def test_short_term_tops_count_as_newer_than_long_term_ones() -> None:
    library = _library(
        ("short", "top_short", None), ("medium", "top_medium", None), ("long", "top_long", None)
    )
    ages = like_age_days(library)
    assert ages["short"] == UNDATED_AGE_DAYS["top_short"]
    factors = recency_factors(library, 365.0)
    assert factors["short"] > factors["medium"] > factors["long"]


def test_a_track_in_several_rows_takes_its_youngest_and_undated_playlists_the_median() -> None:
    library = _library(
        ("old", "exportify", "2020-01-01T00:00:00Z"),
        ("old", "top_short", None),
        ("mid", "saved", "2025-06-12T09:00:00Z"),
        ("new", "saved", NEWEST),
        ("list", "playlist", None),
    )
    factors = recency_factors(library, 365.0)
    assert factors["old"] == pytest.approx(2 ** (-14 / 365))
    assert factors["list"] == pytest.approx(factors.median())


def test_the_taste_model_weighs_recent_likes_more_and_so_do_their_artists() -> None:
    tracks = _tracks("new", "year", "three")
    weights, _ = taste_weights(
        LIBRARY, tracks, half_life_days=TasteSettings().recency_half_life_days
    )
    flat, _ = taste_weights(LIBRARY, tracks)
    assert weights["new"] == pytest.approx(flat["new"])
    assert weights["new"] > weights["year"] > weights["three"]
    assert flat["new"] == pytest.approx(flat["three"])
    profile = TasteProfile.from_library(tracks, weights)
    assert profile.artist_weight["artist new"] > 4 * profile.artist_weight["artist three"]


def test_a_like_pressed_in_the_chat_keeps_its_full_weight_whatever_the_recency() -> None:
    tracks = _tracks("new", "year", "three")
    weights, _ = taste_weights(LIBRARY, tracks, {"three": 1}, half_life_days=365.0)
    assert weights["three"] >= 1.5
