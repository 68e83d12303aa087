"""The feature matrix: folded tempo, the taste profile and artist affinity with leave-one-out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recommender.features import (
    AFFINITY_FEATURES,
    ARTIST_ALPHA,
    BASE_FEATURES,
    FEATURE_NAMES,
    TasteProfile,
    affinity_features,
    artist_key,
    base_features,
    feature_matrix,
    fold_tempo,
    track_artist_keys,
)
from recommender.tracks import normalise_tracks

NAN = float("nan")
SHARE_MAX, SHARE_SUM, KNOWN_FRACTION, COUNT_LOG = range(4)


def _tracks(artists: dict[str, str], **columns: list[float]) -> pd.DataFrame:
    """A normalised track table with the given artists cell per id (and optional columns)."""
    frame = pd.DataFrame(
        {"name": [f"song {t}" for t in artists], "artists": list(artists.values()), **columns},
        index=pd.Index(list(artists), name="track_id"),
    )
    return normalise_tracks(frame)


# A library of five tracks: Alpha on three, Beta on one (a feature with Alpha), Gamma on one.
LIBRARY = _tracks(
    {
        "l1": "Alpha",
        "l2": "Alpha",
        "l3": "Alpha;Beta",
        "l4": "Gamma",
        "l5": "Delta",
    }
)
ONES = pd.Series(1.0, index=LIBRARY.index)


def _affinity(candidates: pd.DataFrame, self_weight: pd.Series | None = None) -> np.ndarray:
    return affinity_features(candidates, TasteProfile.from_library(LIBRARY), self_weight)


# ---------------------------------------------------------------- tempo folding


@pytest.mark.parametrize(
    ("tempo", "folded"),
    [
        (70.0, 140.0),
        (140.0, 140.0),
        (35.0, 140.0),
        (280.0, 140.0),
        (80.0, 80.0),
        (159.0, 159.0),
        (160.0, 80.0),
        (200.0, 100.0),
        (60.0, 120.0),
    ],
)
def test_fold_tempo_lands_in_one_octave(tempo: float, folded: float) -> None:
    assert fold_tempo(np.array([tempo]))[0] == pytest.approx(folded)


def test_fold_tempo_puts_every_tempo_in_80_to_160() -> None:
    tempos = np.linspace(20, 400, 500)
    folded = fold_tempo(tempos)
    assert folded.min() >= 80.0
    assert folded.max() < 160.0


def test_fold_tempo_keeps_nan_and_shape() -> None:
    tempos = np.array([[70.0, NAN, 150.0], [NAN, 200.0, 90.0]])
    folded = fold_tempo(tempos)
    assert folded.shape == (2, 3)
    assert np.isnan(folded[0, 1])
    assert np.isnan(folded[1, 0])
    assert folded[0, 0] == pytest.approx(140.0)


def test_fold_tempo_does_not_modify_its_input() -> None:
    tempos = np.array([70.0, 200.0])
    fold_tempo(tempos)
    assert tempos.tolist() == [70.0, 200.0]


@pytest.mark.parametrize("low", [60.0, 90.0])
def test_fold_tempo_honours_low(low: float) -> None:
    folded = fold_tempo(np.linspace(30, 300, 100), low=low)
    assert folded.min() >= low
    assert folded.max() < 2 * low


# ---------------------------------------------------------------- artist keys


@pytest.mark.parametrize(
    "name", ["Daft Punk", "daft punk", "DAFT PUNK", " Daft   Punk ", "daft\tpunk"]
)
def test_artist_key_ignores_case_and_spaces(name: str) -> None:
    assert artist_key(name) == "daft punk"


def test_track_artist_keys_split_and_normalise() -> None:
    assert track_artist_keys(" Ingrid  Michaelson ; ZAYN") == ["ingrid michaelson", "zayn"]
    assert track_artist_keys("") == []


# ---------------------------------------------------------------- taste profile


def test_profile_counts_library_tracks_per_artist() -> None:
    profile = TasteProfile.from_library(LIBRARY)
    assert profile.artist_count == {"alpha": 3, "beta": 1, "gamma": 1, "delta": 1}
    assert profile.artist_weight == {"alpha": 3.0, "beta": 1.0, "gamma": 1.0, "delta": 1.0}
    assert profile.total_weight == 5.0


def test_profile_sums_weights_and_defaults_missing_ones_to_one() -> None:
    weights = pd.Series({"l1": 1.5, "l2": 0.5, "l3": 1.0, "l4": 2.0})  # l5 missing → 1
    profile = TasteProfile.from_library(LIBRARY, weights)
    assert profile.artist_weight["alpha"] == pytest.approx(3.0)
    assert profile.artist_weight["beta"] == pytest.approx(1.0)
    assert profile.artist_weight["gamma"] == pytest.approx(2.0)
    assert profile.artist_weight["delta"] == pytest.approx(1.0)
    assert profile.total_weight == pytest.approx(6.0)
    assert profile.artist_count["alpha"] == 3  # counts stay counts


def test_an_artist_named_twice_on_a_track_counts_once() -> None:
    profile = TasteProfile.from_library(_tracks({"x": "Alpha;alpha ; ALPHA"}))
    assert profile.artist_count == {"alpha": 1}
    assert profile.artist_weight == {"alpha": 1.0}


def test_profile_matches_artists_case_and_space_insensitively() -> None:
    profile = TasteProfile.from_library(_tracks({"x": "Daft Punk", "y": "daft  PUNK"}))
    assert profile.artist_count == {"daft punk": 2}


def test_empty_profile() -> None:
    profile = TasteProfile()
    assert profile.total_weight == 0.0
    assert dict(profile.artist_count) == {}


# ---------------------------------------------------------------- affinity features


def test_affinity_features_shape() -> None:
    assert _affinity(LIBRARY).shape == (5, len(AFFINITY_FEATURES))


@pytest.mark.parametrize("track_id", ["l4", "l5"])
def test_library_track_does_not_vouch_for_itself(track_id: str) -> None:
    row = _affinity(LIBRARY.loc[[track_id]], self_weight=ONES)[0]
    assert row.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_without_leave_one_out_a_library_track_vouches_for_itself() -> None:
    row = _affinity(LIBRARY.loc[["l4"]])[0]
    assert row[SHARE_MAX] == pytest.approx(1 / (5 + ARTIST_ALPHA))


def test_leave_one_out_keeps_the_other_tracks_of_the_artist() -> None:
    row = _affinity(LIBRARY.loc[["l1"]], self_weight=ONES)[0]
    denom = 5 + ARTIST_ALPHA
    assert row[SHARE_MAX] == pytest.approx(2 / denom)
    assert row[SHARE_SUM] == pytest.approx(2 / denom)
    assert row[KNOWN_FRACTION] == 1.0
    assert row[COUNT_LOG] == pytest.approx(math.log1p(2))


def test_leave_one_out_subtracts_the_track_from_each_of_its_artists() -> None:
    # l3 is Alpha;Beta: without itself Alpha keeps 2, Beta keeps nothing.
    row = _affinity(LIBRARY.loc[["l3"]], self_weight=ONES)[0]
    denom = 5 + ARTIST_ALPHA
    assert row[SHARE_MAX] == pytest.approx(2 / denom)
    assert row[SHARE_SUM] == pytest.approx(2 / denom)
    assert row[KNOWN_FRACTION] == 0.5


def test_self_weight_of_other_tracks_does_not_apply() -> None:
    candidate = _tracks({"new": "Gamma"})
    row = _affinity(candidate, self_weight=ONES)[0]  # "new" is not in self_weight
    assert row[SHARE_MAX] == pytest.approx(1 / (5 + ARTIST_ALPHA))


@pytest.mark.parametrize("library_size", [1, 4, 20, 100])
def test_artist_shares_are_smoothed_with_artist_alpha(library_size: int) -> None:
    ids = {f"l{i}": ("Solo" if i == 0 else f"Other {i}") for i in range(library_size)}
    profile = TasteProfile.from_library(_tracks(ids))
    row = affinity_features(_tracks({"new": "Solo"}), profile)[0]
    assert row[SHARE_MAX] == pytest.approx(1 / (library_size + ARTIST_ALPHA))


def test_one_track_of_one_does_not_make_a_favourite() -> None:
    """Smoothing: one track in a one-track library is a weaker signal than 10 in 20."""
    small = TasteProfile.from_library(_tracks({"a": "Solo"}))
    ids = {f"l{i}": ("Fav" if i < 10 else f"Other {i}") for i in range(20)}
    large = TasteProfile.from_library(_tracks(ids))
    solo = affinity_features(_tracks({"n": "Solo"}), small)[0, SHARE_MAX]
    fav = affinity_features(_tracks({"n": "Fav"}), large)[0, SHARE_MAX]
    assert fav > solo


@pytest.mark.parametrize("cell", ["alpha", "ALPHA", "  Alpha  ", "alpha;nobody"])
def test_artist_matching_ignores_case_and_spaces(cell: str) -> None:
    row = _affinity(_tracks({"new": cell}))[0]
    assert row[SHARE_MAX] == pytest.approx(3 / (5 + ARTIST_ALPHA))


@pytest.mark.parametrize(
    ("cell", "share_max", "share_sum", "known", "count_log"),
    [
        ("Alpha;Nobody", 3, 3, 0.5, math.log1p(3)),
        ("Alpha;Beta", 3, 4, 1.0, math.log1p(3)),
        ("Beta;Gamma;Nobody", 1, 2, 2 / 3, math.log1p(1)),
        ("Nobody;Someone", 0, 0, 0.0, 0.0),
    ],
)
def test_tracks_with_several_artists(
    cell: str, share_max: float, share_sum: float, known: float, count_log: float
) -> None:
    row = _affinity(_tracks({"new": cell}))[0]
    denom = 5 + ARTIST_ALPHA
    assert row[SHARE_MAX] == pytest.approx(share_max / denom)
    assert row[SHARE_SUM] == pytest.approx(share_sum / denom)
    assert row[KNOWN_FRACTION] == pytest.approx(known)
    assert row[COUNT_LOG] == pytest.approx(count_log)


@pytest.mark.parametrize("cell", ["", ";", "Nobody"])
def test_unknown_or_missing_artists_have_zero_affinity(cell: str) -> None:
    assert _affinity(_tracks({"new": cell}))[0].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_affinity_with_an_empty_profile_is_zero() -> None:
    assert not affinity_features(LIBRARY, TasteProfile()).any()


def test_tracks_sharing_an_artists_cell_differ_only_by_their_own_weight() -> None:
    # l1 and "new" are both by Alpha: only the library track leaves itself out.
    candidates = pd.concat([LIBRARY.loc[["l1"]], _tracks({"new": "Alpha", "other": "alpha"})])
    rows = _affinity(candidates, self_weight=ONES)
    denom = 5 + ARTIST_ALPHA
    assert rows[:, SHARE_MAX].tolist() == pytest.approx([2 / denom, 3 / denom, 3 / denom])


def _affinity_row_by_row(
    tracks: pd.DataFrame, profile: TasteProfile, self_weight: pd.Series
) -> np.ndarray:
    """The definition, one track at a time: what the grouped computation must equal."""
    out = np.zeros((len(tracks), len(AFFINITY_FEATURES)))
    denom = profile.total_weight + ARTIST_ALPHA
    for row, (track_id, artists) in enumerate(tracks["artists"].items()):
        keys = set(track_artist_keys(artists))
        if keys:
            own = float(self_weight.get(track_id, 0.0))
            counts = [max(profile.artist_weight.get(k, 0.0) - own, 0.0) for k in keys]
            out[row] = (
                max(counts) / denom,
                sum(counts) / denom,
                sum(1 for c in counts if c > 0) / len(counts),
                math.log1p(max(counts)),
            )
    return out


def test_affinity_of_many_tracks_matches_the_definition_row_by_row() -> None:
    rng = np.random.default_rng(0)
    names = ["Alpha", "beta", "GAMMA ", "Delta", "Nobody", "Some  One", ""]
    cells = {f"t{i}": ";".join(rng.choice(names, size=rng.integers(1, 4))) for i in range(400)}
    tracks = _tracks(cells)
    profile = TasteProfile.from_library(tracks.iloc[:60], pd.Series(1.0, index=tracks.index))
    self_weight = pd.Series(rng.uniform(0.5, 1.5, 60), index=tracks.index[:60])
    np.testing.assert_allclose(
        affinity_features(tracks, profile, self_weight),
        _affinity_row_by_row(tracks, profile, self_weight),
        rtol=1e-12,
    )


# ---------------------------------------------------------------- base features and the matrix


def test_feature_names_are_base_then_affinity() -> None:
    assert (*BASE_FEATURES, *AFFINITY_FEATURES) == FEATURE_NAMES
    assert len(FEATURE_NAMES) == 21
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert "release_year" in BASE_FEATURES  # kept, and equalised by match_missingness


def test_base_features_derive_duration_minutes_and_folded_tempo() -> None:
    tracks = _tracks({"a": "X"}, duration_ms=[180_000.0], tempo=[70.0])
    row = base_features(tracks)[0]
    assert row[BASE_FEATURES.index("duration_min")] == pytest.approx(3.0)
    assert row[BASE_FEATURES.index("tempo")] == pytest.approx(70.0)
    assert row[BASE_FEATURES.index("tempo_folded")] == pytest.approx(140.0)


def test_feature_matrix_shape_and_dtype() -> None:
    matrix = feature_matrix(LIBRARY, TasteProfile.from_library(LIBRARY), ONES)
    assert matrix.shape == (len(LIBRARY), len(FEATURE_NAMES))
    assert matrix.dtype == np.float32


def test_feature_matrix_of_no_tracks() -> None:
    matrix = feature_matrix(LIBRARY.iloc[0:0], TasteProfile.from_library(LIBRARY))
    assert matrix.shape == (0, len(FEATURE_NAMES))


def test_feature_matrix_keeps_missing_values_missing() -> None:
    tracks = _tracks(
        {"a": "Alpha", "b": "Nobody"},
        energy=[NAN, 0.7],
        tempo=[0.0, 120.0],  # tempo 0 is unknown
        popularity=[NAN, 0.0],
    )
    matrix = feature_matrix(tracks, TasteProfile.from_library(LIBRARY))
    a, b = matrix
    for name in ("energy", "tempo", "tempo_folded", "popularity", "duration_min", "valence"):
        assert np.isnan(a[FEATURE_NAMES.index(name)]), name
    assert b[FEATURE_NAMES.index("energy")] == pytest.approx(0.7)
    assert b[FEATURE_NAMES.index("popularity")] == 0.0
    # Affinity is always known.
    assert not np.isnan(matrix[:, len(BASE_FEATURES) :]).any()


def test_feature_matrix_columns_follow_feature_names() -> None:
    values = {name: [float(i + 2)] for i, name in enumerate(BASE_FEATURES[:12])}  # all > 1
    tracks = _tracks({"a": "Nobody"}, **values, popularity=[42.0], explicit=[1.0])
    row = feature_matrix(tracks, TasteProfile())[0]
    for name, (value,) in values.items():
        assert row[FEATURE_NAMES.index(name)] == pytest.approx(value, rel=1e-6), name
    assert row[FEATURE_NAMES.index("popularity")] == 42.0
    assert row[FEATURE_NAMES.index("explicit")] == 1.0


# ---------------------------------------------------------------- library artists
