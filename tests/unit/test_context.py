"""Context fit: moods, wanted tempo, heart-rate tempo bands and energy, all in [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.context import (
    MOOD_ALIASES,
    MOODS,
    Context,
    canonical_mood,
    context_fit,
    nearest_tempo,
    tempo_closeness,
)

NAN = float("nan")
FEATURES = (
    "danceability",
    "energy",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "valence",
    "tempo",
)


def _random_tracks(n: int, seed: int, missing: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "danceability": rng.uniform(0, 1, n),
            "energy": rng.uniform(0, 1, n),
            "loudness": rng.uniform(-40, 0, n),
            "mode": rng.integers(0, 2, n).astype(float),
            "speechiness": rng.uniform(0, 1, n),
            "acousticness": rng.uniform(0, 1, n),
            "instrumentalness": rng.uniform(0, 1, n),
            "valence": rng.uniform(0, 1, n),
            "tempo": rng.uniform(50, 220, n),
        },
        index=[f"t{i}" for i in range(n)],
    )
    if missing:
        for column in frame.columns:
            frame.loc[rng.random(n) < missing, column] = np.nan
    return frame


def _track(**values: float) -> pd.DataFrame:
    """One track, NaN for every feature not given."""
    return pd.DataFrame([{f: values.get(f, NAN) for f in FEATURES}], index=["t"])


ALL_CONTEXTS = [
    Context(),
    *[Context(mood=m) for m in MOODS],
    Context(bpm=128),
    Context(bpm=75),
    Context(tempo_band=(125, 135)),
    Context(tempo_band=(120, 120)),
    Context(energy=0.8),
    Context(mood="calm", bpm=90, tempo_band=(80, 100), energy=0.2, label="cool-down"),
]

# ---------------------------------------------------------------- moods


@pytest.mark.parametrize("mood", sorted(MOODS))
def test_every_mood_is_its_own_canonical_name(mood: str) -> None:
    assert canonical_mood(mood) == mood


@pytest.mark.parametrize(("alias", "mood"), sorted(MOOD_ALIASES.items()))
def test_aliases_name_a_mood(alias: str, mood: str) -> None:
    assert mood in MOODS
    assert canonical_mood(alias) == mood


@pytest.mark.parametrize(
    ("text", "mood"),
    [("Happy", "happy"), ("  CALM ", "calm"), ("Gym", "workout"), ("RUNNING", "workout")],
)
def test_mood_text_ignores_case_and_spaces(text: str, mood: str) -> None:
    assert canonical_mood(text) == mood


@pytest.mark.parametrize("text", ["", "   ", "angry", "happy sad", "workouts", "128"])
def test_unknown_mood_is_none(text: str) -> None:
    assert canonical_mood(text) is None


def test_every_mood_uses_features_a_track_has() -> None:
    for mood, targets in MOODS.items():
        assert set(targets) <= set(FEATURES), mood
        assert all(tolerance > 0 for _, tolerance in targets.values()), mood


# ---------------------------------------------------------------- the empty context


def test_empty_context_fits_everything_perfectly() -> None:
    tracks = _random_tracks(50, 0, missing=0.3)
    np.testing.assert_array_equal(context_fit(tracks, Context()), np.ones(50))


@pytest.mark.parametrize(
    ("context", "empty"),
    [
        (Context(), True),
        (Context(label="just a label"), True),
        (Context(mood="happy"), False),
        (Context(bpm=120), False),
        (Context(tempo_band=(120, 130)), False),
        (Context(energy=0.5), False),
    ],
)
def test_context_is_empty_only_without_constraints(context: Context, empty: bool) -> None:
    assert context.empty is empty


# ---------------------------------------------------------------- the range of the fit


@pytest.mark.parametrize("context", ALL_CONTEXTS)
@pytest.mark.parametrize("missing", [0.0, 0.4])
def test_context_fit_lies_in_zero_one(context: Context, missing: float) -> None:
    tracks = _random_tracks(300, 1, missing)
    fit = context_fit(tracks, context)
    assert fit.shape == (300,)
    assert not np.isnan(fit).any()
    assert ((fit >= 0.0) & (fit <= 1.0)).all()


@pytest.mark.parametrize("mood", sorted(MOODS))
def test_a_track_at_every_target_of_a_mood_fits_perfectly(mood: str) -> None:
    targets = {feature: target for feature, (target, _) in MOODS[mood].items()}
    assert context_fit(_track(**targets), Context(mood=mood))[0] == pytest.approx(1.0)


def test_context_fit_of_no_tracks() -> None:
    assert context_fit(_random_tracks(0, 0), Context(mood="happy")).shape == (0,)


# ---------------------------------------------------------------- tempo


@pytest.mark.parametrize("tempo", [140.0, 70.0, 280.0])
def test_tempo_closeness_honours_octaves(tempo: float) -> None:
    assert tempo_closeness(np.array([tempo]), 140.0, 6.0)[0] == pytest.approx(1.0)


def test_70_bpm_fits_a_140_target() -> None:
    fit = context_fit(_track(tempo=70.0), Context(bpm=140))
    assert fit[0] == pytest.approx(1.0)


@pytest.mark.parametrize(("tempo", "target"), [(100.0, 140.0), (105.0, 140.0), (180.0, 128.0)])
def test_tempo_off_by_a_non_octave_fits_badly(tempo: float, target: float) -> None:
    assert context_fit(_track(tempo=tempo), Context(bpm=target))[0] < 0.1


def test_tempo_closeness_is_one_tolerance_away_about_0_6() -> None:
    assert tempo_closeness(np.array([146.0]), 140.0, 6.0)[0] == pytest.approx(np.exp(-0.5))


def test_closer_tempo_fits_better() -> None:
    tempos = np.array([128.0, 131.0, 134.0, 140.0, 150.0])
    fit = context_fit(_track().reindex([0, 1, 2, 3, 4]).assign(tempo=tempos), Context(bpm=128))
    assert list(fit) == sorted(fit, reverse=True)


def test_a_tempo_band_prefers_its_middle() -> None:
    tracks = _track().reindex([0, 1, 2]).assign(tempo=[130.0, 125.0, 110.0])
    fit = context_fit(tracks, Context(tempo_band=(125, 135)))
    assert fit[0] == pytest.approx(1.0)
    assert fit[0] > fit[1] > fit[2]


def test_a_tempo_band_of_one_bpm_still_tolerates_a_little() -> None:
    fit = context_fit(_track(tempo=123.0), Context(tempo_band=(120, 120)))
    assert fit[0] == pytest.approx(np.exp(-0.5))  # half-width is at least 3 bpm


def test_a_half_tempo_track_fits_a_running_band() -> None:
    fit = context_fit(_track(tempo=85.0), Context(tempo_band=(165, 175)))
    assert fit[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("tempo", "target", "heard"),
    [
        (70.0, 140.0, 140.0),
        (140.0, 140.0, 140.0),
        (280.0, 140.0, 140.0),
        (100.0, 120.0, 100.0),
        (90.0, 170.0, 180.0),
    ],
)
def test_nearest_tempo(tempo: float, target: float, heard: float) -> None:
    assert nearest_tempo(tempo, target) == heard


# ---------------------------------------------------------------- moods and energy


def test_mood_calm_prefers_low_energy() -> None:
    tracks = _track().reindex([0, 1]).assign(energy=[0.2, 0.9])
    fit = context_fit(tracks, Context(mood="calm"))
    assert fit[0] > fit[1]


@pytest.mark.parametrize("mood", ["energetic", "party", "workout"])
def test_lively_moods_prefer_high_energy(mood: str) -> None:
    tracks = _track().reindex([0, 1]).assign(energy=[0.2, 0.9])
    fit = context_fit(tracks, Context(mood=mood))
    assert fit[1] > fit[0]


@pytest.mark.parametrize(("mood", "better", "worse"), [("happy", 0.85, 0.15), ("sad", 0.15, 0.85)])
def test_valence_moods(mood: str, better: float, worse: float) -> None:
    tracks = _track().reindex([0, 1]).assign(valence=[better, worse])
    fit = context_fit(tracks, Context(mood=mood))
    assert fit[0] > fit[1]


def test_focus_prefers_instrumentals() -> None:
    tracks = _track().reindex([0, 1]).assign(instrumentalness=[0.8, 0.0], speechiness=[0.03, 0.4])
    fit = context_fit(tracks, Context(mood="focus"))
    assert fit[0] > fit[1]


def test_energy_target_prefers_nearby_energy() -> None:
    tracks = _track().reindex([0, 1, 2]).assign(energy=[0.8, 0.6, 0.1])
    fit = context_fit(tracks, Context(energy=0.8))
    assert fit[0] == pytest.approx(1.0)
    assert fit[0] > fit[1] > fit[2]


# ---------------------------------------------------------------- missing values


@pytest.mark.parametrize("context", ALL_CONTEXTS[1:])
def test_nan_features_are_neutral(context: Context) -> None:
    assert context_fit(_track(), context)[0] == pytest.approx(0.5)


def test_a_known_good_feature_beats_an_unknown_one_which_beats_a_bad_one() -> None:
    tracks = _track().reindex([0, 1, 2]).assign(tempo=[128.0, NAN, 100.0])
    good, unknown, bad = context_fit(tracks, Context(bpm=128))
    assert good > unknown > bad


def test_tempo_closeness_of_nan_is_neutral() -> None:
    assert tempo_closeness(np.array([NAN]), 120.0, 6.0)[0] == 0.5
