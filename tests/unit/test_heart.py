"""Heart-rate arithmetic: HRmax, %HRR zones, smoothing, music targets, learned HR response."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from recommender.heart import (
    MIN_SEGMENTS,
    ZONE_ENERGY,
    ZONE_TEMPO,
    HeartProfile,
    HeartRateSmoother,
    HeartResponseModel,
    TempoBand,
    fold_tempo,
    goal_direction,
    goal_hr_band,
    hrmax_zone,
    karvonen_target_hr,
    music_target,
    percent_hrr,
    tanaka_hrmax,
    tempo_fit,
    tempo_fits,
    tempo_from_cadence,
    toward_goal,
    zone_for_pct_hrr,
    zone_name,
)


@pytest.mark.parametrize(("age", "expected"), [(30, 187.0), (50, 173.0), (20, 194.0)])
def test_tanaka_hrmax(age: int, expected: float) -> None:
    assert tanaka_hrmax(age) == pytest.approx(expected)


def test_max_hr_override_beats_tanaka() -> None:
    assert HeartProfile(age=40, max_hr=195).effective_max_hr == 195.0
    assert HeartProfile(age=40).effective_max_hr == pytest.approx(180.0)


def test_percent_hrr_is_karvonen() -> None:
    assert percent_hrr(120, resting_hr=60, max_hr=180) == pytest.approx(50.0)
    assert karvonen_target_hr(0.5, resting_hr=60, max_hr=180) == pytest.approx(120.0)


ZONE_EDGES = [(-10, 1), (0, 1), (29.9, 1), (30, 2), (39.9, 2), (40, 3), (59.9, 3), (60, 4)]
ZONE_EDGES += [(89.9, 4), (90, 5), (130, 5)]


@pytest.mark.parametrize(("pct", "zone"), ZONE_EDGES)
def test_zones_are_acsm_hrr_classes(pct: float, zone: int) -> None:
    assert zone_for_pct_hrr(pct) == zone


def test_zones_have_names() -> None:
    assert [zone_name(z) for z in range(1, 6)] == [
        "very light",
        "light",
        "moderate",
        "vigorous",
        "near-max",
    ]


@pytest.mark.parametrize(
    ("hr", "zone"), [(80, 0), (100, 1), (115, 2), (130, 3), (150, 4), (185, 5)]
)
def test_hrmax_zone_for_display(hr: float, zone: int) -> None:
    assert hrmax_zone(hr, max_hr=180) == zone


def test_empty_profile_uses_age_30_and_resting_60() -> None:
    profile = HeartProfile()
    assert profile.effective_resting_hr == 60.0
    assert profile.effective_max_hr == pytest.approx(187.0)
    assert profile.defaults_in_use() == ("age", "resting_hr")


def test_defaults_in_use_ignores_age_when_max_hr_given() -> None:
    assert HeartProfile(max_hr=190).defaults_in_use() == ("resting_hr",)
    assert HeartProfile(age=25, resting_hr=50).defaults_in_use() == ()


IMPOSSIBLE = [{"age": 3}, {"resting_hr": 10}, {"max_hr": 300}, {"goal_zone": 6}, {"cadence": 20}]
IMPOSSIBLE += [{"resting_hr": 110, "max_hr": 130}]


@pytest.mark.parametrize("kwargs", IMPOSSIBLE)
def test_profile_rejects_impossible_values(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        HeartProfile(**kwargs)


def test_profile_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        HeartProfile().age = 40  # type: ignore[misc]


def test_profile_zone_bounds_tile_the_reserve() -> None:
    bounds = HeartProfile(resting_hr=60, max_hr=180).zone_bounds()
    assert [b[0] for b in bounds] == [1, 2, 3, 4, 5]
    assert bounds[0][1] == 60 and bounds[-1][2] == 180
    assert [b[2] for b in bounds[:-1]] == [b[1] for b in bounds[1:]]
    assert bounds[2][1] == pytest.approx(108.0)  # 40 % of 120 above 60


def test_smoother_damps_sensor_noise() -> None:
    rng = np.random.default_rng(0)
    smoother = HeartRateSmoother()
    raw = 130 + rng.normal(0, 4, 600)
    smoothed = [smoother.update(float(t), float(hr)) for t, hr in enumerate(raw)]
    assert np.std(smoothed[60:]) < np.std(raw) / 2
    assert np.mean(smoothed[60:]) == pytest.approx(130, abs=1)


def test_smoother_follows_a_step_with_its_time_constant() -> None:
    smoother = HeartRateSmoother(tau_seconds=5.0)
    smoother.update(0.0, 100.0)
    value = [smoother.update(float(t), 140.0) for t in range(1, 6)][-1]
    assert value == pytest.approx(100 + 40 * (1 - math.exp(-1)), abs=0.01)


def test_smoother_weighs_irregular_samples_by_elapsed_time() -> None:
    fast, slow = HeartRateSmoother(), HeartRateSmoother()
    fast.update(0.0, 100.0)
    slow.update(0.0, 100.0)
    for k in range(1, 21):
        fast.update(k * 0.5, 140.0)
    slow.update(10.0, 140.0)
    assert fast.value == pytest.approx(slow.value, abs=0.01)


def test_smoother_restarts_after_a_gap() -> None:
    smoother = HeartRateSmoother(reset_after=30.0)
    smoother.update(0.0, 100.0)
    assert smoother.update(60.0, 150.0) == 150.0


@pytest.mark.parametrize(
    ("zone", "low", "high"),
    [(1, 115, 125), (2, 115, 125), (3, 125, 135), (4, 130, 145), (5, 130, 145)],
)
def test_target_tempo_band_per_zone(zone: int, low: float, high: float) -> None:
    target = music_target(zone)
    assert (target.tempo.low, target.tempo.high) == (low, high)
    assert target.direction is None and not target.from_cadence


def test_target_energy_rises_with_zone() -> None:
    energies = [music_target(z).energy for z in range(1, 6)]
    assert energies == sorted(energies) and len(set(energies)) == 5


@pytest.mark.parametrize(
    ("cadence", "bpm"), [(170, 170.0), (90, 90.0), (200, 200.0), (220, 110.0), (240, 120.0)]
)
def test_cadence_maps_to_half_or_full_tempo(cadence: int, bpm: float) -> None:
    assert tempo_from_cadence(cadence) == bpm


def test_cadence_outside_any_tempo_has_none() -> None:
    assert tempo_from_cadence(50) is None
    assert tempo_from_cadence(450) is None


def test_cadence_target_brackets_the_step_rate() -> None:
    target = music_target(3, cadence=170)
    assert target.from_cadence
    assert target.tempo.low < 170 < target.tempo.high
    assert target.tempo.high - target.tempo.low < 10


@pytest.mark.parametrize(
    ("track", "target", "expected"),
    [(70, 140, 140), (250, 128, 125), (128, 128, 128), (90, 120, 90), (180, 95, 90)],
)
def test_fold_tempo_picks_the_nearest_octave(track: float, target: float, expected: float) -> None:
    assert fold_tempo(track, target) == pytest.approx(expected)


def test_fold_tempo_keeps_unknown_tempo_unknown() -> None:
    assert math.isnan(fold_tempo(float("nan"), 120))


def test_tempo_fit_is_one_inside_and_decays_outside() -> None:
    band = TempoBand(125, 135)
    assert tempo_fit(130, band) == 1.0
    assert tempo_fit(65, band) == 1.0  # half-time reads as 130
    near, far = tempo_fit(140, band), tempo_fit(150, band)
    assert 1.0 > near > far > 0.0
    assert tempo_fit(100, band) < 0.1


def test_tempo_fit_of_unknown_tempo_is_neutral() -> None:
    assert tempo_fit(float("nan"), TempoBand(125, 135)) == 0.5


def test_tempo_fits_vectorised_matches_scalar() -> None:
    band = TempoBand(130, 145)
    tempos = np.array([60.0, 99.0, 128.0, 150.0, np.nan, 290.0])
    assert tempo_fits(tempos, band) == pytest.approx([tempo_fit(t, band) for t in tempos])


@pytest.mark.parametrize(
    ("zone", "goal", "direction"), [(2, 4, "raise"), (4, 4, "hold"), (5, 3, "lower")]
)
def test_goal_direction(zone: int, goal: int, direction: str) -> None:
    assert goal_direction(zone, goal) == direction


def test_goal_mode_raises_tempo_and_energy_below_goal() -> None:
    target = music_target(2, goal_zone=4)
    assert target.direction == "raise"
    assert target.tempo.centre > ZONE_TEMPO[4].centre
    assert target.energy > ZONE_ENERGY[4]


def test_goal_mode_lowers_tempo_and_energy_above_goal() -> None:
    target = music_target(5, goal_zone=3)
    assert target.direction == "lower"
    assert target.tempo.centre < ZONE_TEMPO[3].centre
    assert target.energy < ZONE_ENERGY[3]


def test_goal_mode_holds_at_goal() -> None:
    target = music_target(3, goal_zone=3)
    assert (target.direction, target.tempo, target.energy) == (
        "hold",
        ZONE_TEMPO[3],
        ZONE_ENERGY[3],
    )


def test_goal_mode_with_cadence_nudges_tempo_by_a_few_percent() -> None:
    centre = music_target(2, goal_zone=4, cadence=160).tempo.centre
    assert 160 < centre <= 160 * 1.03


def _synthetic_segments(n: int, seed: int = 0) -> pd.DataFrame:
    """Segments whose ΔHR is a known linear function of the features, plus noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tempo": rng.uniform(95, 165, n),
            "energy": rng.uniform(0.2, 1.0, n),
            "loudness": rng.uniform(-14, -3, n),
            "danceability": rng.uniform(0.3, 0.9, n),
            "start_hr": rng.uniform(90, 160, n),
        }
    )
    frame["delta_hr"] = (
        0.2 * frame["tempo"]
        + 10 * frame["energy"]
        - 0.5 * frame["start_hr"]
        + 30
        + rng.normal(0, 1, n)
    )
    return frame


def test_response_model_recovers_linear_coefficients() -> None:
    coef = HeartResponseModel().fit(_synthetic_segments(300)).coefficients()
    assert coef["tempo"] == pytest.approx(0.2, abs=0.02)
    assert coef["energy"] == pytest.approx(10, abs=1)
    assert coef["start_hr"] == pytest.approx(-0.5, abs=0.03)
    assert abs(coef["loudness"]) < 0.1 and abs(coef["danceability"]) < 2


def test_response_model_is_ready_only_with_enough_segments() -> None:
    assert not HeartResponseModel().fit(_synthetic_segments(MIN_SEGMENTS - 1)).is_ready
    assert HeartResponseModel().fit(_synthetic_segments(MIN_SEGMENTS)).is_ready


def test_unfitted_response_model_predicts_no_change() -> None:
    tracks = _synthetic_segments(3)
    assert not HeartResponseModel().is_ready
    assert HeartResponseModel().predict_delta(tracks, 120.0).tolist() == [0.0, 0.0, 0.0]


def test_response_model_round_trips_through_json() -> None:
    model = HeartResponseModel().fit(_synthetic_segments(50))
    restored = HeartResponseModel.from_dict(json.loads(json.dumps(model.to_dict())))
    tracks = _synthetic_segments(5, seed=1)
    assert restored.predict_delta(tracks, 130.0) == pytest.approx(
        model.predict_delta(tracks, 130.0)
    )
    assert restored.is_ready and restored.coefficients() == pytest.approx(model.coefficients())


def test_response_model_refuses_other_features() -> None:
    stored = HeartResponseModel().fit(_synthetic_segments(20)).to_dict()
    stored["features"] = ["tempo"]
    with pytest.raises(ValueError):
        HeartResponseModel.from_dict(stored)


def test_response_model_copes_with_missing_features() -> None:
    segments = _synthetic_segments(40)
    segments.loc[::3, "loudness"] = np.nan
    model = HeartResponseModel().fit(segments)
    tracks = pd.DataFrame({"tempo": [140.0, np.nan], "energy": [0.8, 0.5]})  # no loudness column
    predicted = model.predict_delta(tracks, np.array([120.0, 120.0]))
    assert predicted.shape == (2,) and np.isfinite(predicted).all()


def test_response_model_reads_half_time_tempo_as_full_time() -> None:
    model = HeartResponseModel().fit(_synthetic_segments(60))
    tracks = pd.DataFrame({"tempo": [70.0, 140.0], "energy": [0.7, 0.7]})
    slow, fast = model.predict_delta(tracks, 120.0)
    assert slow == pytest.approx(fast)


def test_goal_hr_band_is_the_zone_in_bpm() -> None:
    profile = HeartProfile(resting_hr=60, max_hr=180)
    assert goal_hr_band(profile, 4) == (132.0, 168.0)
    with pytest.raises(ValueError):
        goal_hr_band(profile, 6)


def test_toward_goal_credits_landing_nearest_the_middle_of_the_goal() -> None:
    # Zone 4 of a 60/180 heart is 132–168 bpm; its middle half 141–159.
    credit = toward_goal(np.array([120.0, 130.0, 141.0, 150.0, 159.0, 175.0]), 132.0, 168.0)
    assert credit[2] == credit[3] == credit[4] == 1.0
    assert credit[0] < credit[1] < 1.0 and credit[5] < 1.0
    assert credit[1] == pytest.approx(math.exp(-11.0 / 5.0))


def test_toward_goal_prefers_nobody_when_every_track_lands_alike() -> None:
    assert np.all(toward_goal(np.full(4, 110.0), 132.0, 168.0) == 1.0)
    assert toward_goal(np.array([np.nan, 120.0]), 132.0, 168.0)[0] == 0.5
    assert np.all(toward_goal(np.array([np.nan]), 132.0, 168.0) == 0.5)
