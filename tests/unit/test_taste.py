"""The per-listener taste model on a tiny catalog and a library with a clear taste."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from recommender.ensemble import BLEND_GRID, EnsembleSettings
from recommender.taste import (
    LIKE_WEIGHT,
    MIN_POSITIVES,
    NotEnoughTaste,
    TasteModel,
    TasteSettings,
    match_missingness,
    time_order,
)
from recommender.tracks import AUDIO_FEATURES, normalise_tracks

FAST = TasteSettings(ensemble=EnsembleSettings(rf_trees=20, xgb_rounds=20, n_jobs=1))
NAN = float("nan")


def _make(
    prefix: str, n: int, seed: int, artists: list[str] | str, energy: float | np.ndarray
) -> pd.DataFrame:
    """``n`` tracks with random features except ``energy``; ids ``<prefix>000``…"""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    features = {
        c: rng.uniform(0, 1, n)
        for c in ("danceability", "speechiness", "acousticness", "instrumentalness", "liveness")
    }
    features["valence"] = rng.uniform(0, 1, n)
    features["energy"] = np.broadcast_to(np.asarray(energy, dtype=float), (n,)).copy()
    frame = pd.DataFrame(
        {
            "name": [f"song {t}" for t in ids],
            "artists": [artists] * n if isinstance(artists, str) else artists,
            **features,
            "key": rng.integers(0, 12, n).astype(float),
            "mode": rng.integers(0, 2, n).astype(float),
            "loudness": rng.uniform(-20, -3, n),
            "tempo": rng.uniform(70, 180, n),
            "time_signature": 4.0,
            "popularity": rng.uniform(0, 100, n),
            "duration_ms": rng.uniform(120_000, 300_000, n),
            "explicit": 0.0,
        },
        index=pd.Index(ids, name="track_id"),
    )
    return normalise_tracks(frame)


def _library(tracks: pd.DataFrame, start: str = "2024-01-01") -> pd.DataFrame:
    """Library rows for ``tracks``, one a day in table order."""
    return pd.DataFrame(
        {
            "track_id": tracks.index,
            "source": "exportify",
            "rank": np.arange(1, len(tracks) + 1),
            "added_at": pd.date_range(start, periods=len(tracks), freq="D").astype(str),
        }
    )


# The listener: 50 high-energy tracks, 15 by Alpha, 15 by Beta, 20 by one-off artists.
TASTE_ARTISTS = ["Alpha"] * 15 + ["Beta"] * 15 + [f"Solo {i}" for i in range(20)]
TRACKS = _make("lib", 50, 0, TASTE_ARTISTS, np.random.default_rng(1).uniform(0.8, 1.0, 50))
LIBRARY = _library(TRACKS)
CATALOG = _make("cat", 600, 2, [f"Other {i % 60}" for i in range(600)], np.linspace(0, 1, 600))


@pytest.fixture(scope="module")
def model() -> TasteModel:
    return TasteModel.fit(LIBRARY, TRACKS, CATALOG, settings=FAST)


def _auc(better: np.ndarray, worse: np.ndarray) -> float:
    y = np.r_[np.ones(len(better)), np.zeros(len(worse))]
    return float(roc_auc_score(y, np.r_[better, worse]))


# ---------------------------------------------------------------- learning a clear taste


def test_unseen_high_energy_tracks_beat_low_energy_ones(model: TasteModel) -> None:
    high = _make("hi", 30, 3, [f"New {i}" for i in range(30)], 0.9)
    low = _make("lo", 30, 4, [f"New {i}" for i in range(30)], 0.1)
    assert _auc(model.score(high), model.score(low)) > 0.9


def test_unseen_tracks_of_a_library_artist_beat_strangers(model: TasteModel) -> None:
    alpha = _make("al", 30, 5, "alpha", 0.1)  # same energy as the strangers, lower case
    low = _make("lo", 30, 4, [f"New {i}" for i in range(30)], 0.1)
    assert _auc(model.score(alpha), model.score(low)) > 0.9


def test_score_has_one_value_per_candidate(model: TasteModel) -> None:
    scores = model.score(CATALOG)
    assert scores.shape == (len(CATALOG),)
    assert np.isfinite(scores).all()


def test_score_of_no_candidates_is_empty(model: TasteModel) -> None:
    assert model.score(CATALOG.iloc[0:0]).shape == (0,)


def test_info_counts_what_was_learned_from(model: TasteModel) -> None:
    assert model.trained_on == 50
    assert model.info["positives"] == 50.0
    assert model.info["negatives"] == float(len(CATALOG))  # a pool smaller than MIN_NEGATIVES
    assert model.info["dislikes"] == 0.0
    assert model.info["blend_rf_weight"] == model.ensemble.weight


def test_profile_comes_from_the_library(model: TasteModel) -> None:
    assert model.profile.artist_count["alpha"] == 15
    assert model.profile.artist_count["beta"] == 15
    assert "other 1" not in model.profile.artist_count


def test_library_tracks_are_not_sampled_as_negatives() -> None:
    catalog = pd.concat([CATALOG, TRACKS.iloc[:10]])  # the catalog holds 10 library tracks
    fitted = TasteModel.fit(LIBRARY, TRACKS, catalog, settings=FAST)
    assert fitted.info["negatives"] == float(len(CATALOG))


def test_fitting_is_deterministic_for_a_seed(model: TasteModel) -> None:
    again = TasteModel.fit(LIBRARY, TRACKS, CATALOG, settings=FAST)
    np.testing.assert_array_equal(again.score(CATALOG), model.score(CATALOG))


# ---------------------------------------------------------------- settings


def test_the_blend_is_fixed_unless_the_settings_ask_to_choose_it(model: TasteModel) -> None:
    assert not FAST.choose_blend
    assert model.ensemble.weight == FAST.blend_rf_weight
    assert model.ensemble.validation == {}


def test_choosing_the_blend_validates_on_the_newest_fifth_of_the_likes() -> None:
    fitted = TasteModel.fit(LIBRARY, TRACKS, CATALOG, settings=replace(FAST, choose_blend=True))
    assert fitted.ensemble.weight in BLEND_GRID
    assert fitted.ensemble.validation["validation_positives"] == 10.0
    assert fitted.info["blend_rf_weight"] == fitted.ensemble.weight


def test_the_full_model_leans_on_the_forest() -> None:
    assert 0.5 < TasteSettings().blend_rf_weight < 1.0


def test_quick_settings_are_lighter_and_never_choose_the_blend() -> None:
    full = TasteSettings(choose_blend=True)
    quick = full.quick()
    assert quick.negatives_per_positive < full.negatives_per_positive
    assert quick.ensemble.rf_trees < full.ensemble.rf_trees
    assert quick.ensemble.xgb_rounds < full.ensemble.xgb_rounds
    assert not quick.choose_blend
    assert quick.blend_rf_weight == 0.5


def test_quick_settings_keep_the_seed_and_the_threads() -> None:
    quick = TasteSettings(seed=3, ensemble=EnsembleSettings(n_jobs=1, seed=7)).quick()
    assert quick.seed == 3
    assert quick.ensemble.n_jobs == 1
    assert quick.ensemble.seed == 7


def test_a_quick_model_learns_a_clear_taste_too() -> None:
    quick = TasteSettings(ensemble=EnsembleSettings(n_jobs=1)).quick()
    fitted = TasteModel.fit(LIBRARY, TRACKS, CATALOG, settings=quick)
    high = _make("hi", 30, 3, [f"New {i}" for i in range(30)], 0.9)
    low = _make("lo", 30, 4, [f"New {i}" for i in range(30)], 0.1)
    assert _auc(fitted.score(high), fitted.score(low)) > 0.9
    assert fitted.ensemble.weight == 0.5


# ---------------------------------------------------------------- feedback


def test_disliked_tracks_are_used_as_hard_negatives() -> None:
    disliked = _make("dis", 6, 6, [f"Bad {i}" for i in range(6)], 0.95)
    tracks = pd.concat([TRACKS, disliked])
    feedback = dict.fromkeys(disliked.index, -1)
    fitted = TasteModel.fit(LIBRARY, tracks, CATALOG, feedback, settings=FAST)
    assert fitted.info["dislikes"] == 6.0
    assert fitted.info["positives"] == 50.0


def test_a_disliked_library_track_stops_being_a_positive() -> None:
    gone = TRACKS.index[-1]  # by "Solo 19", its artist's only track
    fitted = TasteModel.fit(LIBRARY, TRACKS, CATALOG, {gone: -1}, settings=FAST)
    assert fitted.info["positives"] == 49.0
    assert fitted.info["dislikes"] == 1.0
    assert "solo 19" not in fitted.profile.artist_count


def test_a_disliked_sound_scores_lower_than_before() -> None:
    # Dislikes in one corner: high energy with very high speechiness (rap-like talk-overs).
    rng = np.random.default_rng(7)
    disliked = _make("dis", 12, 8, [f"Talker {i}" for i in range(12)], 0.9)
    disliked["speechiness"] = rng.uniform(0.9, 1.0, 12)
    probe = _make("probe", 20, 9, [f"Probe {i}" for i in range(20)], 0.9)
    probe["speechiness"] = rng.uniform(0.9, 1.0, 20)
    tracks = pd.concat([TRACKS, disliked])
    plain = TasteModel.fit(LIBRARY, tracks, CATALOG, settings=FAST)
    taught = TasteModel.fit(
        LIBRARY, tracks, CATALOG, dict.fromkeys(disliked.index, -1), settings=FAST
    )
    assert taught.score(probe).mean() < plain.score(probe).mean()


def test_a_liked_track_becomes_a_positive() -> None:
    liked = CATALOG.index[0]
    tracks = pd.concat([TRACKS, CATALOG.loc[[liked]]])
    fitted = TasteModel.fit(LIBRARY, tracks, CATALOG, {liked: 1}, settings=FAST)
    assert fitted.info["positives"] == 51.0
    assert fitted.info["negatives"] == float(len(CATALOG) - 1)
    assert LIKE_WEIGHT > 1.0


def test_feedback_on_unknown_tracks_is_ignored() -> None:
    fitted = TasteModel.fit(LIBRARY, TRACKS, CATALOG, {"nowhere": 1, "gone": -1}, settings=FAST)
    assert fitted.info["positives"] == 50.0
    assert fitted.info["dislikes"] == 0.0


# ---------------------------------------------------------------- not enough taste


@pytest.mark.parametrize("size", [0, 1, MIN_POSITIVES - 1])
def test_too_small_a_library_is_not_enough_taste(size: int) -> None:
    library = LIBRARY.iloc[:size]
    with pytest.raises(NotEnoughTaste, match=f"only {size} library tracks"):
        TasteModel.fit(library, TRACKS, CATALOG, settings=FAST)


def test_tracks_without_features_do_not_count() -> None:
    tracks = TRACKS.copy()
    # Ten tracks, four of which keep their features; the others keep only 5 of 12.
    blanked = list(AUDIO_FEATURES[:7])
    tracks.loc[tracks.index[4:10], blanked] = np.nan
    with pytest.raises(NotEnoughTaste):
        TasteModel.fit(LIBRARY.iloc[:10], tracks, CATALOG, settings=FAST)


def test_five_tracks_with_features_are_enough() -> None:
    fitted = TasteModel.fit(LIBRARY.iloc[:MIN_POSITIVES], TRACKS, CATALOG, settings=FAST)
    assert fitted.trained_on == MIN_POSITIVES


def test_a_library_holding_the_whole_catalog_is_refused_with_a_reason() -> None:
    """Nothing left to learn against (a small catalog, a big library) is said, not a crash."""
    with pytest.raises(NotEnoughTaste, match="whole catalog"):
        TasteModel.fit(LIBRARY, TRACKS, TRACKS, settings=FAST)


def test_not_enough_taste_is_a_value_error() -> None:
    assert issubclass(NotEnoughTaste, ValueError)


# ---------------------------------------------------------------- matching missingness


def _missing_problem(
    n_pos: int, n_neg: int, p: float, q: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two columns: column 0 missing at rate p in positives and q in negatives; column 1 full."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n_pos + n_neg, 2))
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)].astype(int)
    x[:n_pos][rng.random(n_pos) < p, 0] = np.nan
    x[n_pos:][rng.random(n_neg) < q, 0] = np.nan
    return x, y


@pytest.mark.parametrize(("p", "q"), [(0.5, 0.0), (0.3, 0.1), (1.0, 0.0), (0.9, 0.5)])
def test_negatives_go_missing_as_often_as_positives(p: float, q: float) -> None:
    x, y = _missing_problem(2000, 6000, p, q)
    out = match_missingness(x, y, np.random.default_rng(1), columns=2)
    pos_rate = np.isnan(out[y == 1, 0]).mean()
    neg_rate = np.isnan(out[y == 0, 0]).mean()
    assert neg_rate == pytest.approx(pos_rate, abs=4 * np.sqrt(0.25 / 6000) + 0.01)


@pytest.mark.parametrize(("p", "q"), [(0.0, 0.3), (0.1, 0.5), (0.0, 1.0)])
def test_positives_go_missing_as_often_as_negatives(p: float, q: float) -> None:
    x, y = _missing_problem(3000, 3000, p, q)
    out = match_missingness(x, y, np.random.default_rng(1), columns=2)
    np.testing.assert_array_equal(out[y == 0], x[y == 0])  # the emptier side is left alone
    pos_rate = np.isnan(out[y == 1, 0]).mean()
    assert pos_rate == pytest.approx(q, abs=4 * np.sqrt(0.25 / 3000) + 0.01)


def test_nothing_missing_is_left_alone() -> None:
    x, y = _missing_problem(500, 1000, 0.0, 0.0)
    out = match_missingness(x, y, np.random.default_rng(1), columns=2)
    np.testing.assert_array_equal(out, x)


def test_a_field_only_library_tracks_have_cannot_tell_their_origin() -> None:
    # The library (like an Exportify file) knows release years; the catalog never does.
    library_tracks = TRACKS.assign(release_year=2020.0)
    model = TasteModel.fit(LIBRARY, library_tracks, CATALOG, settings=FAST)
    candidates = CATALOG.iloc[:50]
    with_year = candidates.assign(release_year=2020.0)
    np.testing.assert_array_equal(model.score(candidates), model.score(with_year))


@pytest.mark.parametrize("seed", range(3))
def test_matching_missingness_never_unmasks_or_touches_the_emptier_side(seed: int) -> None:
    x, y = _missing_problem(300, 900, 0.6, 0.2, seed)
    out = match_missingness(x, y, np.random.default_rng(seed), columns=2)
    assert np.isnan(out[np.isnan(x)]).all()
    np.testing.assert_array_equal(out[y == 1], x[y == 1])
    known = ~np.isnan(out)
    np.testing.assert_array_equal(out[known], x[known])  # values are masked, never changed


def test_matching_missingness_keeps_shape_and_input() -> None:
    x, y = _missing_problem(100, 300, 0.5, 0.0)
    before = x.copy()
    out = match_missingness(x, y, np.random.default_rng(0), columns=2)
    assert out.shape == x.shape
    np.testing.assert_array_equal(x, before)


def test_only_the_first_columns_are_matched() -> None:
    x, y = _missing_problem(500, 1000, 0.5, 0.0)
    x = np.c_[x[:, 1], x[:, 0]]  # the gappy column is now column 1
    out = match_missingness(x, y, np.random.default_rng(0), columns=1)
    np.testing.assert_array_equal(out, x)


def test_missing_popularity_in_the_library_tells_the_model_nothing() -> None:
    tracks = TRACKS.copy()
    tracks["popularity"] = np.nan  # Spotify no longer gives it; the catalog does
    fitted = TasteModel.fit(LIBRARY, tracks, CATALOG, settings=FAST)
    without = CATALOG.copy()
    without["popularity"] = np.nan
    np.testing.assert_allclose(fitted.score(without), fitted.score(CATALOG))


# ---------------------------------------------------------------- time order


def test_time_order_follows_added_at() -> None:
    library = pd.DataFrame(
        {
            "track_id": ["b", "a", "c"],
            "rank": [1, 2, 3],
            "added_at": ["2024-06-01T10:00:00Z", "2023-01-01T00:00:00Z", "2025-02-02T00:00:00Z"],
        }
    )
    order = time_order(library)
    assert list(order.sort_values().index) == ["a", "b", "c"]
    assert order["c"] - order["b"] == pytest.approx(
        (pd.Timestamp("2025-02-02") - pd.Timestamp("2024-06-01T10:00")).total_seconds()
    )


def test_time_order_falls_back_to_rank_where_added_at_is_missing() -> None:
    library = pd.DataFrame(
        {
            "track_id": ["dated", "top1", "top5", "junk"],
            "rank": [9, 1, 5, 2],
            "added_at": ["2020-01-01", None, "", "not a date"],
        }
    )
    order = time_order(library)
    # Rank 1 is the most recent of the undated; every dated track is newer than them.
    assert list(order.sort_values().index) == ["top5", "junk", "top1", "dated"]


def test_time_order_takes_the_latest_of_a_track_s_rows() -> None:
    library = pd.DataFrame(
        {
            "track_id": ["a", "a", "b"],
            "rank": [1, 2, 3],
            "added_at": ["2020-01-01", "2024-01-01", "2022-01-01"],
        }
    )
    order = time_order(library)
    assert order.index.is_unique
    assert order["a"] > order["b"]


def test_time_order_reads_dates_in_mixed_iso_formats() -> None:
    library = pd.DataFrame(
        {
            "track_id": ["day", "second", "fraction"],
            "rank": [1, 2, 3],
            "added_at": ["2024-01-01", "2024-06-01T10:00:00Z", "2025-01-01T00:00:00.250Z"],
        }
    )
    order = time_order(library)
    assert list(order.sort_values().index) == ["day", "second", "fraction"]
    assert (order > 1e9).all()  # all three read as dates, none fell back to rank


def test_time_order_without_rank_or_date_is_zero() -> None:
    library = pd.DataFrame({"track_id": ["x"], "rank": [None], "added_at": [None]})
    assert time_order(library)["x"] == 0.0


# ---------------------------------------------------------------- save / load


def test_save_load_round_trip(model: TasteModel, tmp_path: Path) -> None:
    path = tmp_path / "models" / "user1.joblib"
    model.save(path)
    loaded = TasteModel.load(path)
    np.testing.assert_allclose(loaded.score(CATALOG), model.score(CATALOG), rtol=0, atol=1e-12)
    assert loaded.info == model.info
    assert loaded.trained_on == model.trained_on
    assert dict(loaded.profile.artist_count) == dict(model.profile.artist_count)
    assert dict(loaded.profile.artist_weight) == dict(model.profile.artist_weight)
    assert loaded.profile.total_weight == model.profile.total_weight
    assert loaded.ensemble.weight == model.ensemble.weight
    assert [p.name for p in path.parent.iterdir()] == ["user1.joblib"]


@pytest.mark.parametrize(
    "payload", [{"format": 2, "model": None}, {"format": 1, "model": "nope"}, [1, 2, 3]]
)
def test_loading_something_else_is_a_value_error(payload: object, tmp_path: Path) -> None:
    path = tmp_path / "bad.joblib"
    joblib.dump(payload, path)  # e.g. a model pickled by an older beatmatch
    with pytest.raises(ValueError):
        TasteModel.load(path)
