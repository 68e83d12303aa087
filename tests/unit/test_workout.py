"""The live workout session: debounced zone changes, targets, segments, summary, restore."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from bot.core.workout.session import (
    SignalGap,
    Started,
    WorkoutEvent,
    WorkoutSession,
    ZoneChanged,
)
from bot.sources.simulated_heart import NO_MUSIC_RESPONSE, MusicResponse, Phase, SimulatedHeart
from recommender.heart import ZONE_TEMPO, HeartProfile, HeartResponseModel

# Reserve 120 bpm: zone 3 starts at 108, zone 4 at 132, zone 5 at 168.
PROFILE = HeartProfile(resting_hr=60, max_hr=180)
Z3, Z4, Z5 = 120.0, 150.0, 175.0


def _feed(session: WorkoutSession, hr: float, seconds: int) -> list[WorkoutEvent]:
    """``seconds`` one-hertz samples of a constant ``hr`` after the session's last sample."""
    start = session.last_t or 0.0
    events: list[WorkoutEvent] = []
    for k in range(1, seconds + 1):
        events += session.add_sample(start + k, hr)
    return events


def _changes(events: list[WorkoutEvent]) -> list[ZoneChanged]:
    return [e for e in events if isinstance(e, ZoneChanged)]


def test_first_sample_starts_the_session() -> None:
    session = WorkoutSession(PROFILE, started_at=0.0)
    assert session.add_sample(1.0, Z3) == [Started(1.0, Z3, 3)]
    assert session.zone == 3 and session.smoothed_hr == Z3


def test_zone_change_announced_only_after_20_seconds() -> None:
    session = WorkoutSession(PROFILE)
    _feed(session, Z3, 90)
    early = _feed(session, Z4, 19)
    assert _changes(early) == [] and session.zone == 3
    late = _changes(_feed(session, Z4, 10))
    assert [(c.old, c.new) for c in late] == [(3, 4)]
    assert 90 + 20 <= late[0].t <= 90 + 25  # held 20 s after smoothing crossed the boundary
    assert session.zone == 4


def test_brief_excursion_is_not_announced() -> None:
    session = WorkoutSession(PROFILE)
    _feed(session, Z3, 90)
    events = _feed(session, Z4, 15) + _feed(session, Z3, 120)
    assert _changes(events) == [] and session.zone == 3


def test_at_most_one_notification_per_minute() -> None:
    session = WorkoutSession(PROFILE)
    events = _feed(session, Z3, 90) + _feed(session, Z4, 30) + _feed(session, Z5, 200)
    changes = _changes(events)
    assert [(c.old, c.new) for c in changes] == [(3, 4), (4, 5)]
    assert changes[1].t - changes[0].t == pytest.approx(60.0)  # delayed, not lost
    assert session.zone == 5


def test_change_that_reverts_within_the_minute_is_not_announced() -> None:
    session = WorkoutSession(PROFILE)
    events = _feed(session, Z3, 90) + _feed(session, Z4, 25)
    events += _feed(session, Z5, 30) + _feed(session, Z4, 200)
    assert [(c.old, c.new) for c in _changes(events)] == [(3, 4)]
    assert session.summary().zone_changes == 3  # 3→4, 4→5, 5→4 all settled


def test_started_counts_as_the_first_notification() -> None:
    session = WorkoutSession(PROFILE)
    session.add_sample(1.0, 70.0)  # standing at the start: zone 1
    changes = _changes(_feed(session, Z4, 70))
    # Zone 4 settles ~25 s in, but the start message went out at t = 1.
    assert [(c.old, c.new, c.t) for c in changes] == [(1, 4, 61.0)]


def test_music_target_follows_the_settled_zone() -> None:
    session = WorkoutSession(PROFILE)
    _feed(session, Z3, 90)
    assert session.target().tempo == ZONE_TEMPO[3]
    _feed(session, Z4, 10)
    assert session.target().tempo == ZONE_TEMPO[3]  # not settled yet
    _feed(session, Z4, 20)
    assert session.target().tempo == ZONE_TEMPO[4]


def test_goal_mode_target_gives_a_direction() -> None:
    session = WorkoutSession(PROFILE, goal_zone=4)
    _feed(session, Z3, 30)
    assert session.target().direction == "raise"
    _feed(session, Z5, 40)
    assert session.target().direction == "lower"
    session.set_goal(None)
    assert session.target().direction is None


def test_cadence_target_comes_from_cadence() -> None:
    session = WorkoutSession(PROFILE, cadence=168)
    _feed(session, Z3, 5)
    target = session.target()
    assert target.from_cadence and target.tempo.low < 168 < target.tempo.high
    session.set_cadence(None)
    assert not session.target().from_cadence


def test_goal_and_cadence_default_to_the_profile() -> None:
    profile = HeartProfile(resting_hr=60, max_hr=180, goal_zone=3, cadence=170)
    session = WorkoutSession(profile)
    assert (session.goal_zone, session.cadence) == (3, 170)
    assert WorkoutSession(profile, goal_zone=5).goal_zone == 5


def test_target_before_any_sample_is_a_warm_up() -> None:
    assert WorkoutSession(PROFILE).target().zone == 1


def test_implausible_and_stale_samples_are_ignored() -> None:
    session = WorkoutSession(PROFILE)
    _feed(session, Z3, 10)
    assert session.add_sample(11.0, 0.0) == []
    assert session.add_sample(11.0, 255.0) == []
    assert session.add_sample(5.0, Z5) == []  # out of order: Pulsoid orders by arrival
    assert session.summary().samples == 10 and session.last_t == 10.0


def test_signal_gap_is_reported_and_not_counted_as_zone_time() -> None:
    session = WorkoutSession(PROFILE)
    _feed(session, Z3, 10)
    events = session.add_sample(100.0, Z3)
    assert events == [SignalGap(100.0, 90.0)]
    assert sum(session.summary().time_in_zone_s.values()) == pytest.approx(9.0)


def test_summary_counts_time_in_zone_and_changes() -> None:
    session = WorkoutSession(PROFILE, started_at=0.0)
    _feed(session, Z3, 120)
    _feed(session, Z4, 120)
    session.record_suggestion(5.0, "a", {"name": "A"})
    session.record_sent(5.0, [("a", "A")])
    summary = session.summary()
    assert summary.duration_s == 240.0 and summary.samples == 240
    assert summary.avg_hr == pytest.approx((Z3 + Z4) / 2)
    assert summary.max_hr == Z4
    assert summary.time_in_zone_s[3] == pytest.approx(122, abs=3)  # smoothing lag ~3 s
    assert summary.time_in_zone_s[4] == pytest.approx(117, abs=3)
    assert (summary.zone_changes, summary.notifications, summary.tracks_suggested) == (1, 1, 1)
    assert summary.defaults_in_use == ()


def test_segments_measure_hr_change_per_suggested_track() -> None:
    session = WorkoutSession(PROFILE, started_at=0.0)
    session.record_suggestion(0.0, "calm", {"tempo": 118.0, "energy": 0.4, "duration_ms": 60_000})
    session.record_suggestion(60.0, "push", pd.Series({"tempo": 140.0, "energy": 0.9}))
    _feed(session, 100.0, 60)
    _feed(session, 130.0, 60)
    segments = session.segments()
    assert list(segments["track_id"]) == ["calm", "push"]
    calm, push = segments.iloc[0], segments.iloc[1]
    assert calm["delta_hr"] == pytest.approx(0.0, abs=0.5)
    assert push["start_hr"] == pytest.approx(100.0, abs=0.5)
    assert push["delta_hr"] == pytest.approx(30.0, abs=1.0)
    assert push["tempo"] == 140.0 and np.isnan(push["loudness"])


def test_short_or_interrupted_suggestions_make_no_segment() -> None:
    session = WorkoutSession(PROFILE, started_at=0.0)
    session.record_suggestion(1.0, "skipped")
    session.record_suggestion(10.0, "interrupted")
    _feed(session, Z3, 60)
    session.add_sample(200.0, Z3)
    _feed(session, Z3, 20)
    assert session.segments().empty


def test_segment_ends_when_the_track_ends() -> None:
    session = WorkoutSession(PROFILE, started_at=0.0)
    session.record_suggestion(1.0, "short", {"duration_ms": 45_000})
    _feed(session, Z3, 300)
    assert session.segments()["duration_s"].tolist() == [45.0]


def test_restore_rebuilds_state_after_a_restart() -> None:
    live = WorkoutSession(PROFILE, goal_zone=4, started_at=0.0)
    heart = SimulatedHeart(PROFILE, seed=2)
    stored: list[tuple[float, str, dict[str, Any] | None]] = []
    for t in range(1, 601):
        if t % 90 == 1:
            track = {"tempo": 120.0 + t % 40, "energy": 0.5 + (t % 7) / 20, "name": f"song {t}"}
            live.record_suggestion(float(t), f"id{t}", track)
            live.record_sent(float(t), [(f"id{t}", f"song {t}")])
            stored.append((float(t), f"id{t}", track))
        live.add_sample(float(t), heart.step(1.0))
    shown = [(s.t, s.track_id, s.title) for s in live.sent()]
    restored = WorkoutSession.restore(
        live.samples(), stored, PROFILE, goal_zone=4, started_at=0.0, sent=shown
    )
    assert restored.summary() == live.summary()
    assert (restored.zone, restored.smoothed_hr, restored.target()) == (
        live.zone,
        live.smoothed_hr,
        live.target(),
    )
    pd.testing.assert_frame_equal(restored.segments(), live.segments())
    assert restored.chart_suggestions() == live.chart_suggestions()
    for t in range(601, 721):
        hr = heart.step(1.0)
        assert restored.add_sample(float(t), hr) == live.add_sample(float(t), hr)


def _simulated_segments(response: MusicResponse, sessions: int) -> pd.DataFrame:
    """Segments of simulated 30-minute sessions playing random tracks of 60–120 s."""
    rng = np.random.default_rng(11)
    plan = [Phase("easy", 600, 0.45), Phase("tempo run", 600, 0.65), Phase("steady", 600, 0.55)]
    frames = []
    for seed in range(sessions):
        heart = SimulatedHeart(PROFILE, seed=seed, plan=plan, response=response)
        session = WorkoutSession(PROFILE, started_at=0.0)
        next_change = 0.0
        while not heart.finished:
            if heart.t >= next_change:
                track = {
                    "tempo": rng.uniform(90, 170),
                    "energy": rng.uniform(0.2, 1.0),
                    "loudness": rng.uniform(-14, -3),
                    "danceability": rng.uniform(0.3, 0.9),
                    "duration_ms": rng.uniform(60, 120) * 1000,
                }
                heart.set_track(track)
                session.record_suggestion(heart.t, f"s{seed}-{heart.t:.0f}", track)
                next_change = heart.t + track["duration_ms"] / 1000
            hr = heart.step(1.0)
            session.add_sample(heart.t, hr)
        frames.append(session.segments())
    return pd.concat(frames, ignore_index=True)


def test_learned_response_recovers_simulated_coefficients() -> None:
    response = MusicResponse(tempo_bpm_per_bpm=0.15, energy_bpm_per_unit=12.0)
    model = HeartResponseModel().fit(_simulated_segments(response, sessions=12))
    coef = model.coefficients()
    assert model.is_ready
    # A ~90 s track lets a 30 s heart reach ~95 % of its new demand: the slope is a bit smaller.
    assert 0.5 * 0.15 < coef["tempo"] < 1.3 * 0.15
    assert 0.5 * 12.0 < coef["energy"] < 1.3 * 12.0
    assert coef["start_hr"] < -0.5  # the heart relaxes toward the demand


def test_no_music_response_learns_no_music_effect() -> None:
    coef = (
        HeartResponseModel().fit(_simulated_segments(NO_MUSIC_RESPONSE, sessions=12)).coefficients()
    )
    assert abs(coef["tempo"]) < 0.05  # true effect in the other test: 0.15
    assert abs(coef["energy"]) < 5.0  # true effect in the other test: 12


def test_a_session_without_kept_samples_still_decides_and_summarises() -> None:
    kept, lean = WorkoutSession(PROFILE), WorkoutSession(PROFILE, keep_samples=False)
    for session in (kept, lean):
        _feed(session, Z3, 90)
        _feed(session, Z4, 40)
    assert lean.samples() == [] and lean.segments().empty
    assert lean.summary() == kept.summary()
    assert (lean.zone, lean.smoothed_hr, lean.target()) == (
        kept.zone,
        kept.smoothed_hr,
        kept.target(),
    )


def test_a_summary_with_no_time_in_any_zone_says_nothing_of_zones() -> None:
    from bot.core.workout.messages import summary_text
    from bot.core.workout.session import WorkoutSummary

    one_reading = WorkoutSummary(
        duration_s=0.0,
        samples=1,
        avg_hr=92.0,
        max_hr=92.0,
        time_in_zone_s={1: 0.0},
        zone_changes=0,
        notifications=0,
        tracks_suggested=1,
        defaults_in_use=(),
    )
    text = summary_text(one_reading)
    assert "Time in" not in text and " . " not in text
    assert text.startswith("0.0 min, average 92 bpm, max 92 bpm. 0 zone changes")
    longer = WorkoutSummary(600.0, 120, 140.0, 160.0, {2: 300.0, 3: 300.0}, 2, 2, 6, ())
    assert "Time in zone 2 5.0 min, zone 3 5.0 min. 2 zone changes" in summary_text(longer)
