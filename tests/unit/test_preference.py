"""The preference score: how strongly a listener's own data says they like a library track."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.preference import (
    ARTIST_RANGE_WEIGHTS,
    FREQUENCY_CAP,
    RANGE_WEIGHTS,
    TOP_LIST_LENGTH,
    W_FREQUENCY,
    W_POPULARITY,
    W_TOP_ARTISTS,
    W_TOP_TRACKS,
    positive_weights,
    preference_scores,
    rank_relevance,
)

NAN = float("nan")


def _tracks(popularity: dict[str, float], artists: dict[str, str] | None = None) -> pd.DataFrame:
    """Track table with popularity per id and (by default) one distinct artist per track."""
    ids = list(popularity)
    artists = artists or {}
    return pd.DataFrame(
        {
            "popularity": [popularity[t] for t in ids],
            "artists": [artists.get(t, f"Artist {t}") for t in ids],
        },
        index=pd.Index(ids, name="track_id"),
    )


def _library(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["track_id", "source", "rank"])


def _top_artists(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["artist", "time_range", "rank"])


# ---------------------------------------------------------------- the documented weights


def test_weights_sum_to_one() -> None:
    assert sum((W_POPULARITY, W_FREQUENCY, W_TOP_TRACKS, W_TOP_ARTISTS)) == pytest.approx(1.0)


@pytest.mark.parametrize("weights", [RANGE_WEIGHTS, ARTIST_RANGE_WEIGHTS])
def test_time_range_weights_sum_to_one_and_favour_recent(weights: dict[str, float]) -> None:
    short, medium, long = weights.values()
    assert short + medium + long == pytest.approx(1.0)
    assert short > medium > long


def test_popularity_weighs_least() -> None:
    assert min(W_FREQUENCY, W_TOP_TRACKS, W_TOP_ARTISTS) > W_POPULARITY


def test_top_lists_weigh_more_than_saves() -> None:
    assert W_TOP_TRACKS > W_FREQUENCY


# ---------------------------------------------------------------- rank relevance


@pytest.mark.parametrize(
    ("rank", "relevance"),
    [
        (1, 1.0),
        (2, 1.0 - 1 / TOP_LIST_LENGTH),
        (26, 0.5),
        (TOP_LIST_LENGTH, 1 / TOP_LIST_LENGTH),
        (TOP_LIST_LENGTH + 1, 0.0),
        (500, 0.0),
        (0, 0.0),
        (-3, 0.0),
        (None, 0.0),
        (NAN, 0.0),
        (float("inf"), 0.0),
    ],
)
def test_rank_relevance(rank: float | None, relevance: float) -> None:
    assert rank_relevance(rank) == pytest.approx(relevance)  # type: ignore[arg-type]


def test_rank_relevance_falls_with_rank() -> None:
    values = [rank_relevance(r) for r in range(1, TOP_LIST_LENGTH + 1)]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == len(values)


# ---------------------------------------------------------------- each term on a hand-built library


def test_a_track_in_three_sources_beats_one_in_one() -> None:
    library = _library(
        ("many", "saved", NAN),
        ("many", "playlist", NAN),
        ("many", "exportify", NAN),
        ("one", "saved", NAN),
    )
    scores = preference_scores(library, _tracks({"many": 50, "one": 50}))
    assert scores["many"] > scores["one"]
    assert scores["many"] - scores["one"] == pytest.approx(W_FREQUENCY * 2 / FREQUENCY_CAP)


def test_the_same_source_twice_counts_once() -> None:
    library = _library(("twice", "playlist", 3), ("twice", "playlist", 9), ("once", "playlist", 1))
    scores = preference_scores(library, _tracks({"twice": 50, "once": 50}))
    assert scores["twice"] == pytest.approx(scores["once"])


def test_frequency_saturates_at_the_cap() -> None:
    sources = ["saved", "playlist", "exportify", "radio", "queue", "other"]
    library = _library(
        *[("all", s, NAN) for s in sources],
        *[("four", s, NAN) for s in sources[:FREQUENCY_CAP]],
    )
    scores = preference_scores(library, _tracks({"all": 50, "four": 50}))
    assert scores["all"] == pytest.approx(scores["four"])


def test_rank_one_of_top_short_beats_rank_50_of_top_long() -> None:
    library = _library(("fresh", "top_short", 1), ("old", "top_long", 50))
    scores = preference_scores(library, _tracks({"fresh": 50, "old": 50}))
    assert scores["fresh"] > scores["old"]
    expected = W_TOP_TRACKS * (RANGE_WEIGHTS["top_short"] * 1.0 - RANGE_WEIGHTS["top_long"] / 50)
    assert scores["fresh"] - scores["old"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("better", "worse"),
    [("top_short", "top_medium"), ("top_medium", "top_long"), ("top_short", "top_long")],
)
def test_same_rank_in_a_recent_range_beats_an_old_one(better: str, worse: str) -> None:
    library = _library(("a", better, 5), ("b", worse, 5))
    scores = preference_scores(library, _tracks({"a": 50, "b": 50}))
    assert scores["a"] > scores["b"]


@pytest.mark.parametrize("source", ["top_short", "top_medium", "top_long"])
def test_a_better_rank_beats_a_worse_one(source: str) -> None:
    library = _library(("high", source, 2), ("low", source, 40))
    scores = preference_scores(library, _tracks({"high": 50, "low": 50}))
    assert scores["high"] > scores["low"]


def test_a_top_track_beats_a_saved_one() -> None:
    library = _library(("top", "top_medium", 10), ("saved", "saved", NAN))
    scores = preference_scores(library, _tracks({"top": 50, "saved": 50}))
    assert scores["top"] > scores["saved"]


def test_the_best_rank_of_a_track_in_one_range_counts() -> None:
    library = _library(("a", "top_short", 30), ("a", "top_short", 1), ("b", "top_short", 1))
    scores = preference_scores(library, _tracks({"a": 50, "b": 50}))
    assert scores["a"] == pytest.approx(scores["b"])


def test_a_top_artist_lifts_their_tracks() -> None:
    library = _library(("theirs", "saved", NAN), ("other", "saved", NAN))
    tracks = _tracks({"theirs": 50, "other": 50}, {"theirs": "Fav", "other": "Someone"})
    scores = preference_scores(library, tracks, _top_artists(("Fav", "short", 1)))
    expected = W_TOP_ARTISTS * ARTIST_RANGE_WEIGHTS["short"]
    assert scores["theirs"] - scores["other"] == pytest.approx(expected)


@pytest.mark.parametrize("cell", ["fav", " FAV ", "Someone;Fav", "Fav;Someone"])
def test_a_top_artist_is_matched_on_any_artist_of_a_track(cell: str) -> None:
    library = _library(("t", "saved", NAN), ("u", "saved", NAN))
    tracks = _tracks({"t": 50, "u": 50}, {"t": cell, "u": "Someone"})
    scores = preference_scores(library, tracks, _top_artists(("Fav", "medium", 1)))
    assert scores["t"] > scores["u"]


def test_a_top_artist_in_every_range_reaches_the_full_term() -> None:
    library = _library(("t", "saved", NAN), ("u", "saved", NAN))
    tracks = _tracks({"t": 50, "u": 50}, {"t": "Fav", "u": "Someone"})
    top = _top_artists(("Fav", "short", 1), ("Fav", "medium", 1), ("Fav", "long", 1))
    scores = preference_scores(library, tracks, top)
    assert scores["t"] - scores["u"] == pytest.approx(W_TOP_ARTISTS)


def test_an_unknown_time_range_adds_nothing() -> None:
    library = _library(("t", "saved", NAN), ("u", "saved", NAN))
    tracks = _tracks({"t": 50, "u": 50}, {"t": "Fav", "u": "Someone"})
    scores = preference_scores(library, tracks, _top_artists(("Fav", "forever", 1)))
    assert scores["t"] == pytest.approx(scores["u"])


def test_popularity_matters_but_least() -> None:
    library = _library(
        ("hit", "saved", NAN), ("obscure", "saved", NAN), ("favourite", "top_short", 1)
    )
    scores = preference_scores(library, _tracks({"hit": 100, "obscure": 0, "favourite": 0}))
    assert scores["hit"] - scores["obscure"] == pytest.approx(W_POPULARITY)
    # The listener's own top list outweighs the world's whole popularity range.
    assert scores["favourite"] > scores["hit"]


def test_unknown_popularity_counts_as_middling() -> None:
    library = _library(("unknown", "saved", NAN), ("middle", "saved", NAN))
    scores = preference_scores(library, _tracks({"unknown": NAN, "middle": 50}))
    assert scores["unknown"] == pytest.approx(scores["middle"])


def test_a_track_missing_from_the_table_still_gets_a_score() -> None:
    library = _library(("ghost", "saved", NAN), ("known", "saved", NAN))
    scores = preference_scores(library, _tracks({"known": 50}))
    assert scores["ghost"] == pytest.approx(scores["known"])


# ---------------------------------------------------------------- the score as a whole


def test_the_best_possible_track_scores_one() -> None:
    library = _library(
        ("best", "saved", NAN),
        ("best", "top_short", 1),
        ("best", "top_medium", 1),
        ("best", "top_long", 1),
    )
    tracks = _tracks({"best": 100}, {"best": "Fav"})
    top = _top_artists(("Fav", "short", 1), ("Fav", "medium", 1), ("Fav", "long", 1))
    assert preference_scores(library, tracks, top)["best"] == pytest.approx(1.0)


def test_the_least_a_saved_track_scores() -> None:
    scores = preference_scores(_library(("t", "saved", NAN)), _tracks({"t": 0}))
    assert scores["t"] == pytest.approx(W_FREQUENCY / FREQUENCY_CAP)


@pytest.mark.parametrize("seed", range(5))
def test_scores_lie_in_zero_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"t{i}" for i in range(40)]
    sources = ["saved", "playlist", "exportify", "top_short", "top_medium", "top_long"]
    library = _library(
        *[
            (str(rng.choice(ids)), str(rng.choice(sources)), float(rng.integers(-5, 80)))
            for _ in range(150)
        ]
    )
    popularity = {t: float(rng.uniform(-20, 130)) for t in ids}  # out-of-range values too
    artists = {t: f"A{rng.integers(5)};A{rng.integers(5)}" for t in ids}
    top = _top_artists(
        *[(f"a{i}", r, float(rng.integers(1, 60))) for i in range(5) for r in ("short", "long")]
    )
    scores = preference_scores(library, _tracks(popularity, artists), top)
    assert scores.between(0.0, 1.0).all()
    assert not scores.isna().any()


def test_one_score_per_distinct_library_track() -> None:
    library = _library(("b", "saved", NAN), ("a", "top_short", 3), ("b", "top_long", 4))
    scores = preference_scores(library, _tracks({"a": 50, "b": 50}))
    assert list(scores.index) == ["b", "a"]
    assert scores.name == "preference"


def test_an_empty_library_has_no_scores() -> None:
    scores = preference_scores(_library(), _tracks({"a": 50}))
    assert scores.empty


# ---------------------------------------------------------------- positive weights


@pytest.mark.parametrize(("score", "weight"), [(0.0, 0.5), (0.25, 0.75), (1.0, 1.5)])
def test_positive_weight_is_one_half_plus_score(score: float, weight: float) -> None:
    weights = positive_weights(pd.Series({"t": score}))
    assert weights["t"] == pytest.approx(weight)
    assert weights.name == "weight"


def test_favourites_count_up_to_three_times_a_plain_save() -> None:
    library = _library(
        ("plain", "saved", NAN),
        ("best", "saved", NAN),
        ("best", "top_short", 1),
        ("best", "top_medium", 1),
        ("best", "top_long", 1),
    )
    tracks = _tracks({"plain": 0, "best": 100}, {"plain": "X", "best": "Fav"})
    top = _top_artists(("Fav", "short", 1), ("Fav", "medium", 1), ("Fav", "long", 1))
    weights = positive_weights(preference_scores(library, tracks, top))
    assert weights["best"] == pytest.approx(1.5)
    assert 2.0 < weights["best"] / weights["plain"] <= 3.0
