"""The live workout session: heart-rate samples in, zone decisions and notifications out.

One ``WorkoutSession`` per listener, fed by the Pulsoid WebSocket or the simulator. It is pure
state (no I/O, no clock of its own: every call carries its sample time) and cheap per sample, so a
thousand sessions at 1 Hz fit comfortably in one process. Zones are beatmatch's ACSM %HRR classes
from ``recommender.heart``.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recommender.heart import (
    ZONE_LOWER_PCT_HRR,
    HeartProfile,
    HeartRateSmoother,
    MusicTarget,
    karvonen_target_hr,
    music_target,
)

#: A new zone must hold this long (sample time) before it counts: strides and noise cross
#: boundaries for a few seconds all the time.
ZONE_HOLD_S = 20.0
#: At most one notification per this many seconds; a change inside it waits, it is not dropped.
NOTIFY_INTERVAL_S = 60.0
#: Pulsoid treats 30 s without a frame as "monitor offline".
SIGNAL_GAP_S = 30.0
#: Readings outside this range are strap glitches (contact loss reads 0 or 255).
PLAUSIBLE_HR = (25.0, 250.0)
#: Segments shorter than this say more about smoothing lag than about the music.
MIN_SEGMENT_S = 30.0
#: When a track's length is unknown, assume it stopped shaping the heart after this long.
DEFAULT_TRACK_S = 240.0
SEGMENT_FEATURES: tuple[str, ...] = ("tempo", "energy", "loudness", "danceability", "valence")


@dataclass(frozen=True)
class Started:
    """The first sample of the session arrived."""

    t: float
    hr: float
    zone: int


@dataclass(frozen=True)
class ZoneChanged:
    """The listener settled in a new zone (held ≥ 20 s); notify them."""

    t: float
    old: int
    new: int
    hr: float


@dataclass(frozen=True)
class SignalGap:
    """Samples resumed after the monitor was silent for ``gap_s`` seconds."""

    t: float
    gap_s: float


WorkoutEvent = Started | ZoneChanged | SignalGap


@dataclass(frozen=True)
class Suggestion:
    """A track suggested at time ``t`` with the features the response model needs."""

    t: float
    track_id: str
    title: str
    features: dict[str, float]
    duration_s: float | None


@dataclass(frozen=True)
class SentTrack:
    """A track a workout message showed the listener at time ``t``."""

    t: float
    track_id: str
    title: str


@dataclass(frozen=True)
class WorkoutSummary:
    """End-of-session numbers for the reply and the chart caption."""

    duration_s: float
    samples: int
    avg_hr: float | None
    max_hr: float | None
    time_in_zone_s: dict[int, float]
    zone_changes: int
    notifications: int
    tracks_suggested: int  # every track the workout's messages showed the listener
    defaults_in_use: tuple[str, ...]


class WorkoutSession:
    """State machine of one live workout; ``add_sample`` is the hot path."""

    def __init__(
        self,
        profile: HeartProfile,
        goal_zone: int | None = None,
        cadence: int | None = None,
        started_at: float = 0.0,
        keep_samples: bool = True,
    ) -> None:
        """``goal_zone`` and ``cadence`` fall back to the profile's when None. Without
        ``keep_samples`` the readings are not kept (storage has them): memory stays flat
        however long the workout, but ``samples()`` and ``segments()`` are empty."""
        self.profile = profile
        self.keep_samples = keep_samples
        self.started_at = started_at
        self.goal_zone = goal_zone if goal_zone is not None else profile.goal_zone
        self.cadence = cadence if cadence is not None else profile.cadence
        rest, top = profile.effective_resting_hr, profile.effective_max_hr
        # Zone k starts at the k-th bound: a bisect replaces the %HRR arithmetic per sample.
        self._bounds = [karvonen_target_hr(p / 100.0, rest, top) for p in ZONE_LOWER_PCT_HRR[1:]]
        self._smoother = HeartRateSmoother()
        self._times = array("d")
        self._raw = array("d")
        self._smoothed = array("d")
        self._suggestions: list[Suggestion] = []
        self._sent: list[SentTrack] = []
        self._last_t: float | None = None
        self._count = 0
        self._hr_sum = 0.0
        self._hr_max = 0.0
        self._time_in_zone = dict.fromkeys(range(1, 6), 0.0)
        self._instant_zone = 1
        self._zone: int | None = None
        self._announced: int | None = None
        self._candidate: int | None = None
        self._candidate_since = 0.0
        self._last_notified = float("-inf")
        self._zone_changes = 0
        self._notifications = 0
        self._target: MusicTarget | None = None

    @property
    def zone(self) -> int | None:
        """The settled zone (held ≥ 20 s), None before the first sample."""
        return self._zone

    @property
    def smoothed_hr(self) -> float | None:
        """The latest smoothed heart rate."""
        return self._smoother.value

    @property
    def last_t(self) -> float | None:
        """Time of the latest accepted sample."""
        return self._last_t

    def add_sample(self, t: float, hr: float) -> list[WorkoutEvent]:
        """Take one reading (s, bpm) and return its events; stale/implausible ones are dropped."""
        last = self._last_t
        if not PLAUSIBLE_HR[0] <= hr <= PLAUSIBLE_HR[1] or (last is not None and t <= last):
            return []
        events: list[WorkoutEvent] = []
        if last is not None:
            gap = t - last
            if gap > SIGNAL_GAP_S:
                events.append(SignalGap(t, gap))
                self._candidate = None  # a zone can't be "held" across a silence
            else:
                self._time_in_zone[self._instant_zone] += gap
        smoothed = self._smoother.update(t, hr)
        zone = bisect.bisect_right(self._bounds, smoothed) + 1
        self._instant_zone = zone
        self._last_t = t
        if self.keep_samples:
            self._times.append(t)
            self._raw.append(hr)
            self._smoothed.append(smoothed)
        self._count += 1
        self._hr_sum += hr
        if hr > self._hr_max:
            self._hr_max = hr

        if self._zone is None:
            self._zone = self._announced = zone
            self._last_notified = t
            events.append(Started(t, float(hr), zone))
            return events
        if zone == self._zone:
            self._candidate = None
        elif zone != self._candidate:
            self._candidate, self._candidate_since = zone, t
        elif t - self._candidate_since >= ZONE_HOLD_S:
            self._zone, self._candidate = zone, None
            self._zone_changes += 1
            self._target = None
        # Announce the settled zone as it is now: a change that reverted while we waited for the
        # minute to pass was transient and is not worth a message.
        if self._zone != self._announced and t - self._last_notified >= NOTIFY_INTERVAL_S:
            assert self._announced is not None
            events.append(ZoneChanged(t, self._announced, self._zone, float(round(smoothed))))
            self._announced, self._last_notified = self._zone, t
            self._notifications += 1
        return events

    def target(self) -> MusicTarget:
        """What the music should be now (zone 1 warm-up before the first sample)."""
        if self._target is None:
            self._target = music_target(self._zone or 1, self.goal_zone, self.cadence)
        return self._target

    def set_goal(self, goal_zone: int | None) -> None:
        """Change (or clear) the goal zone mid-session."""
        if goal_zone is not None and not 1 <= goal_zone <= 5:
            raise ValueError(f"goal zone must be 1–5, got {goal_zone}")
        self.goal_zone, self._target = goal_zone, None

    def set_cadence(self, cadence: int | None) -> None:
        """Change (or clear) the step cadence the music should match."""
        self.cadence, self._target = cadence, None

    def record_suggestion(
        self, t: float, track_id: str, features: Mapping[str, Any] | pd.Series | None = None
    ) -> None:
        """Log that ``track_id`` was suggested at ``t``; ``features`` is its track-table row."""
        values = {name: _number(features, name) for name in SEGMENT_FEATURES}
        duration_ms = _number(features, "duration_ms")
        title = features.get("name") if features is not None else None
        self._suggestions.append(
            Suggestion(
                t=t,
                track_id=track_id,
                title=title.strip() if isinstance(title, str) and title.strip() else track_id,
                features=values,
                duration_s=duration_ms / 1000.0 if duration_ms == duration_ms else None,
            )
        )

    def record_sent(self, t: float, tracks: Iterable[tuple[str, str]]) -> None:
        """Log the (track_id, title) pairs a message showed the listener at ``t``."""
        self._sent.extend(SentTrack(t, track_id, title) for track_id, title in tracks)

    def sent(self) -> list[SentTrack]:
        """Every track shown to the listener, in time order (the summary and chart count these)."""
        return sorted(self._sent, key=lambda s: s.t)

    def samples(self) -> list[tuple[float, float]]:
        """Every accepted raw sample as (t, hr)."""
        return list(zip(self._times, self._raw, strict=True))

    def suggestions(self) -> list[Suggestion]:
        """Every suggestion, in time order."""
        return sorted(self._suggestions, key=lambda s: s.t)

    def chart_suggestions(self) -> list[tuple[float, str]]:
        """(t, title) pairs for ``workout_chart_png``: the tracks shown to the listener."""
        return [(s.t, s.title) for s in self.sent()]

    def segments(self) -> pd.DataFrame:
        """One row per suggested track: features, start HR and HR change while it played."""
        columns = ["track_id", "start_t", "end_t", "duration_s", "start_hr", "end_hr", "delta_hr"]
        rows: list[dict[str, Any]] = []
        if self._times:
            times = np.frombuffer(self._times, dtype=float)
            smoothed = np.frombuffer(self._smoothed, dtype=float)
            ordered = self.suggestions()
            for k, s in enumerate(ordered):
                end = min(s.t + (s.duration_s or DEFAULT_TRACK_S), float(times[-1]))
                if k + 1 < len(ordered):
                    end = min(end, ordered[k + 1].t)
                # First reading once the track started, last one before it stopped shaping HR.
                first = int(np.searchsorted(times, s.t, side="left"))
                last = int(np.searchsorted(times, end, side="right")) - 1
                if last <= first or times[last] - times[first] < MIN_SEGMENT_S:
                    continue
                if np.max(np.diff(times[first : last + 1])) > SIGNAL_GAP_S:
                    continue  # the monitor dropped out: the change is not measured
                start_hr, end_hr = float(smoothed[first]), float(smoothed[last])
                rows.append(
                    {
                        "track_id": s.track_id,
                        "start_t": float(times[first]),
                        "end_t": float(times[last]),
                        "duration_s": float(times[last] - times[first]),
                        "start_hr": start_hr,
                        "end_hr": end_hr,
                        "delta_hr": end_hr - start_hr,
                        **s.features,
                    }
                )
        return pd.DataFrame(rows, columns=[*columns, *SEGMENT_FEATURES])

    def summary(self) -> WorkoutSummary:
        """Duration, average/max HR, time per zone, zone changes and tracks shown so far.

        The one source of the average and peak: the chart's headline takes them from here."""
        n = self._count
        return WorkoutSummary(
            duration_s=(self._last_t - self.started_at) if self._last_t is not None else 0.0,
            samples=n,
            avg_hr=self._hr_sum / n if n else None,
            max_hr=self._hr_max if n else None,
            time_in_zone_s=dict(self._time_in_zone),
            zone_changes=self._zone_changes,
            notifications=self._notifications,
            tracks_suggested=len(self._sent),
            defaults_in_use=self.profile.defaults_in_use(),
        )

    @classmethod
    def restore(
        cls,
        samples: Iterable[tuple[float, float]],
        suggestions: Iterable[tuple[float, str, Mapping[str, Any] | pd.Series | None]],
        profile: HeartProfile,
        goal_zone: int | None = None,
        cadence: int | None = None,
        started_at: float | None = None,
        keep_samples: bool = True,
        sent: Iterable[tuple[float, str, str]] = (),
    ) -> WorkoutSession:
        """Rebuild a session after a restart by replaying stored samples; events are not re-sent.
        ``sent``: the (t, track_id, title) the workout's messages showed."""
        ordered = sorted(samples)
        if started_at is None:
            started_at = ordered[0][0] if ordered else 0.0
        session = cls(profile, goal_zone, cadence, started_at, keep_samples)
        for t, hr in ordered:
            session.add_sample(t, hr)
        for t, track_id, features in suggestions:
            session.record_suggestion(t, track_id, features)
        for t, track_id, title in sent:
            session.record_sent(t, [(track_id, title)])
        return session


def _number(features: Mapping[str, Any] | pd.Series | None, name: str) -> float:
    """A float feature from a row, NaN when absent or not numeric."""
    if features is None:
        return float("nan")
    try:
        value = features.get(name)
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")
