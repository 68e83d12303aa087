"""Playlist sequencing: Camelot keys, tempo compatibility, ordering and the coherence metric."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from recommender.sequencing import (
    _greedy,
    camelot_code,
    coherence,
    keys_compatible,
    order_playlist,
    tempo_compatible,
    transition_cost,
    transition_costs,
)

NAN = float("nan")


def _tracks(n: int, seed: int = 0, missing: float = 0.0) -> pd.DataFrame:
    """A random track table of ``n`` rows; ``missing`` is the share of NaN per feature."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "key": rng.integers(0, 12, n).astype(float),
            "mode": rng.integers(0, 2, n).astype(float),
            "tempo": rng.uniform(70, 180, n),
            "energy": rng.uniform(0, 1, n),
            "valence": rng.uniform(0, 1, n),
            "danceability": rng.uniform(0.2, 0.95, n),
        },
        index=pd.Index([f"t{i:03d}" for i in range(n)], name="track_id"),
    )
    if missing:
        for column in frame.columns:
            frame.loc[rng.random(n) < missing, column] = np.nan
    return frame


# The reference's four checks, then E minor, F major, G major and D minor.
CAMELOT = [(0, 1, "8B"), (9, 0, "8A"), (11, 1, "1B"), (8, 0, "1A"), (4, 0, "9A"), (5, 1, "7B")]
CAMELOT += [(7, 1, "9B"), (2, 0, "7A")]


@pytest.mark.parametrize(("key", "mode", "code"), CAMELOT)
def test_camelot_code_matches_the_reference(key: int, mode: int, code: str) -> None:
    assert camelot_code(key, mode) == code


@pytest.mark.parametrize(("key", "mode"), [(NAN, 1), (-1, 0), (None, 1), (3, NAN), (12, 1)])
def test_unknown_key_has_no_camelot_code(key: float | None, mode: float) -> None:
    assert camelot_code(key, mode) is None


def test_same_key_is_compatible() -> None:
    assert keys_compatible("8B", "8B")


@pytest.mark.parametrize(("a", "b"), [("8B", "9B"), ("8A", "7A"), ("5B", "4B")])
def test_neighbouring_number_same_letter_is_compatible(a: str, b: str) -> None:
    assert keys_compatible(a, b) and keys_compatible(b, a)


def test_wheel_wraps_from_12_to_1() -> None:
    assert keys_compatible("12A", "1A")
    assert keys_compatible("1B", "12B")


def test_relative_minor_is_compatible() -> None:
    assert keys_compatible(camelot_code(0, 1), camelot_code(9, 0))  # C major ↔ A minor


@pytest.mark.parametrize(("a", "b"), [("8B", "10B"), ("8B", "9A"), ("8B", "2B"), ("1A", "11A")])
def test_distant_keys_are_not_compatible(a: str, b: str) -> None:
    assert not keys_compatible(a, b)


def test_unknown_key_is_not_compatible() -> None:
    assert not keys_compatible(None, "8B")
    assert not keys_compatible(None, None)


@pytest.mark.parametrize(("a", "b"), [(120, 126), (120, 113), (128, 128), (100, 105.9)])
def test_tempo_within_six_percent_is_compatible(a: float, b: float) -> None:
    assert tempo_compatible(a, b)


@pytest.mark.parametrize(("a", "b"), [(120, 128), (120, 112), (100, 150)])
def test_tempo_beyond_six_percent_is_not_compatible(a: float, b: float) -> None:
    assert not tempo_compatible(a, b)


@pytest.mark.parametrize(("a", "b"), [(70, 140), (140, 71), (128, 250)])
def test_double_and_half_time_are_compatible(a: float, b: float) -> None:
    assert tempo_compatible(a, b)


def test_tempo_tolerance_is_configurable() -> None:
    assert tempo_compatible(120, 129, tolerance=0.08)
    assert not tempo_compatible(120, 124, tolerance=0.02)


def test_unknown_tempo_is_not_compatible() -> None:
    assert not tempo_compatible(NAN, 120)


def test_transition_cost_prefers_the_smooth_neighbour() -> None:
    here = {"key": 0, "mode": 1, "tempo": 124, "energy": 0.6, "valence": 0.5, "danceability": 0.6}
    smooth = {
        "key": 9,
        "mode": 0,
        "tempo": 126,
        "energy": 0.65,
        "valence": 0.5,
        "danceability": 0.6,
    }
    clash = {"key": 6, "mode": 1, "tempo": 100, "energy": 0.1, "valence": 0.5, "danceability": 0.6}
    assert transition_cost(here, here) == 0.0
    assert transition_cost(here, smooth) < transition_cost(here, clash)


def test_transition_cost_folds_octave_errors() -> None:
    base = {"key": 0, "mode": 1, "energy": 0.6, "valence": 0.5, "danceability": 0.6}
    assert transition_cost({**base, "tempo": 128}, {**base, "tempo": 64}) == pytest.approx(0.0)


def test_transition_cost_treats_every_compatible_key_alike() -> None:
    base = {"tempo": 124, "energy": 0.6, "valence": 0.5, "danceability": 0.6}
    c_major = {**base, "key": 0, "mode": 1}  # 8B

    def cost_to(key: int, mode: int) -> float:
        return transition_cost(c_major, {**base, "key": key, "mode": mode})

    relative_minor, fifth_up, fifth_down = cost_to(9, 0), cost_to(7, 1), cost_to(5, 1)
    assert 0 < relative_minor == fifth_up == fifth_down < cost_to(6, 1)  # F♯ major clashes


def _path_cost(tracks: pd.DataFrame, ids: list[str]) -> float:
    """Sum of transition costs along ``ids``."""
    matrix = transition_costs(tracks)
    rows = [tracks.index.get_loc(i) for i in ids]
    return float(sum(matrix[a, b] for a, b in pairwise(rows)))


def test_order_playlist_improves_on_nearest_neighbour() -> None:
    tracks = _tracks(60, seed=9)
    ordered = order_playlist(tracks)
    start = tracks.index.get_loc(ordered[0])
    greedy = [str(tracks.index[i]) for i in _greedy(transition_costs(tracks), start)]
    assert _path_cost(tracks, ordered) < _path_cost(tracks, greedy) - 1e-6
    assert _path_cost(tracks, ordered) < 0.7 * _path_cost(tracks, list(tracks.index))


def test_transition_costs_are_symmetric_and_match_pairwise() -> None:
    tracks = _tracks(12, missing=0.2)
    matrix = transition_costs(tracks)
    assert matrix.shape == (12, 12)
    assert np.allclose(matrix, matrix.T)
    assert matrix[2, 7] == pytest.approx(transition_cost(tracks.iloc[2], tracks.iloc[7]))


def test_order_playlist_returns_each_track_once() -> None:
    tracks = _tracks(40)
    ordered = order_playlist(tracks)
    assert sorted(ordered) == sorted(tracks.index)


def test_order_playlist_starts_with_the_given_track() -> None:
    assert order_playlist(_tracks(20), start="t013")[0] == "t013"


def test_order_playlist_rejects_an_unknown_start() -> None:
    with pytest.raises(ValueError):
        order_playlist(_tracks(5), start="nope")


def test_order_playlist_opens_with_the_calmest_track() -> None:
    tracks = _tracks(30)
    assert order_playlist(tracks)[0] == tracks["energy"].idxmin()


def test_order_playlist_of_tiny_tables() -> None:
    assert order_playlist(_tracks(0)) == []
    assert order_playlist(_tracks(1)) == ["t000"]


def test_order_playlist_recovers_a_tempo_and_energy_ramp() -> None:
    n = 15
    ramp = pd.DataFrame(
        {
            "key": 0.0,
            "mode": 1.0,
            "tempo": np.linspace(100, 150, n),
            "energy": np.linspace(0.3, 0.9, n),
        },
        index=[f"r{i:02d}" for i in range(n)],
    )
    shuffled = ramp.sample(frac=1.0, random_state=3)
    assert order_playlist(shuffled) == list(ramp.index)


def test_ordered_playlist_is_more_coherent_than_its_input_order() -> None:
    tracks = _tracks(60, seed=4)
    ordered = tracks.loc[order_playlist(tracks)]
    assert coherence(ordered, tracks) > coherence(tracks, tracks) + 0.25


def test_order_playlist_copes_with_missing_features() -> None:
    tracks = _tracks(50, missing=0.3)
    ordered = order_playlist(tracks)
    assert sorted(ordered) == sorted(tracks.index)


def test_coherence_matches_the_reference_formula() -> None:
    # Two reference rows: every random pair differs by exactly 1 in energy and 10 in tempo.
    reference = pd.DataFrame({"energy": [0.0, 1.0], "tempo": [120.0, 130.0]})
    ordered = pd.DataFrame({"energy": [0.0, 0.5, 1.0], "tempo": [120.0, 121.0, 123.0]})
    energy = 1 - 0.5 / 1.0
    tempo = 1 - 1.5 / 10.0
    assert coherence(ordered, reference) == pytest.approx((energy + tempo) / 2)


def test_coherence_of_identical_neighbours_is_one() -> None:
    reference = _tracks(50)
    same = pd.DataFrame([reference.iloc[0]] * 10)
    assert coherence(same, reference) == pytest.approx(1.0)


def test_coherence_of_random_order_is_near_zero() -> None:
    reference = _tracks(2000, seed=1)
    assert abs(coherence(reference, reference)) < 0.05


def test_coherence_is_nan_safe() -> None:
    tracks = _tracks(40, missing=0.3)
    assert math.isfinite(coherence(tracks, tracks))
    empty = pd.DataFrame({"energy": [NAN, NAN]})
    assert math.isnan(coherence(empty, tracks))


def test_coherence_is_deterministic_for_a_seed() -> None:
    tracks = _tracks(30)
    ordered = tracks.loc[order_playlist(tracks)]
    assert coherence(ordered, tracks, rng_seed=5) == coherence(ordered, tracks, rng_seed=5)
