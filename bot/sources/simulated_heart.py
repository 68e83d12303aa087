"""A deterministic simulated heart for the console and tests: a plan drives a 1st-order heart.

The heart rate relaxes toward a demand-driven target with a time constant of ~30 s (the usual
on-kinetics of HR after a change of effort), the music adds a little demand (faster and more
energetic tracks raise it), and the reading carries sensor noise. Everything is seeded, so two
runs with the same seed, plan and track changes give the same numbers. Each reading is logged at
DEBUG level as it is handed out (``simulated heart: t=…``), so a test can tell from outside how
far a stream had got — for instance when the process was killed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.heart import HeartProfile, fold_tempo, karvonen_target_hr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Phase:
    """One stretch of the plan: ``intensity`` is the fraction of heart-rate reserve it demands."""

    name: str
    duration_s: float
    intensity: float


@dataclass(frozen=True)
class MusicResponse:
    """How much the current track adds to the demanded HR, in bpm, around a neutral track."""

    tempo_bpm_per_bpm: float = 0.15
    energy_bpm_per_unit: float = 12.0
    neutral_tempo: float = 120.0
    neutral_energy: float = 0.6

    def demand(self, tempo: float, energy: float) -> float:
        """Extra demanded HR (bpm) for a track; unknown features add nothing."""
        extra = 0.0
        if not math.isnan(tempo) and tempo > 0:
            extra += self.tempo_bpm_per_bpm * (
                fold_tempo(tempo, self.neutral_tempo) - self.neutral_tempo
            )
        if not math.isnan(energy):
            extra += self.energy_bpm_per_unit * (energy - self.neutral_energy)
        return extra


NO_MUSIC_RESPONSE = MusicResponse(tempo_bpm_per_bpm=0.0, energy_bpm_per_unit=0.0)


def interval_plan(
    warmup_s: float = 240.0,
    work_s: float = 120.0,
    rest_s: float = 120.0,
    repeats: int = 3,
    cooldown_s: float = 240.0,
    work_intensity: float = 0.78,
    rest_intensity: float = 0.5,
) -> tuple[Phase, ...]:
    """Warm-up, ``repeats`` × (work, rest) and cool-down; the defaults make a 20-minute session."""
    phases = [Phase("warm-up", warmup_s, 0.35)]
    for k in range(1, repeats + 1):
        phases.append(Phase(f"interval {k}", work_s, work_intensity))
        phases.append(Phase(f"recovery {k}", rest_s, rest_intensity))
    phases.append(Phase("cool-down", cooldown_s, 0.25))
    return tuple(phases)


DEFAULT_PLAN = interval_plan()


class SimulatedHeart:
    """A heart following a workout plan and the suggested music; ``step`` advances time."""

    def __init__(
        self,
        profile: HeartProfile,
        seed: int = 0,
        plan: Sequence[Phase] = DEFAULT_PLAN,
        response: MusicResponse = MusicResponse(),
        tau_seconds: float = 30.0,
        noise_bpm: float = 1.5,
        drift_bpm: float = 1.0,
    ) -> None:
        """``noise_bpm`` is sensor noise per reading; ``drift_bpm`` the slow wander of the heart."""
        self.profile = profile
        self.plan = tuple(plan)
        self.response = response
        self.tau = tau_seconds
        self.noise_bpm = noise_bpm
        self.drift_bpm = drift_bpm
        self._rng = np.random.default_rng(seed)
        self._rest = profile.effective_resting_hr
        self._max = profile.effective_max_hr
        self._music = 0.0
        self._drift = 0.0
        self.t = 0.0
        # Standing up before the first step already lifts the heart a little above resting.
        self.true_hr = self._rest + 10.0
        self.duration_s = sum(p.duration_s for p in self.plan)

    def phase_at(self, t: float) -> Phase:
        """The plan phase at time ``t`` (the last one once the plan is over)."""
        elapsed = 0.0
        for phase in self.plan:
            elapsed += phase.duration_s
            if t < elapsed:
                return phase
        return self.plan[-1]

    @property
    def finished(self) -> bool:
        """True once simulated time has passed the end of the plan."""
        return self.t >= self.duration_s

    def set_track(self, features: Mapping[str, Any] | Any | None) -> None:
        """Start "playing" a track (a mapping or pandas row with tempo/energy), or silence."""
        if features is None:
            self._music = 0.0
            return
        self._music = self.response.demand(_value(features, "tempo"), _value(features, "energy"))

    def demand_hr(self) -> float:
        """The HR the heart is heading for right now: plan intensity plus music."""
        phase = self.phase_at(self.t)
        return karvonen_target_hr(phase.intensity, self._rest, self._max) + self._music

    def step(self, dt_seconds: float = 1.0) -> float:
        """Advance ``dt_seconds`` and return the sensor reading (whole bpm, like a strap)."""
        remaining = dt_seconds
        while remaining > 1e-12:
            # Sub-steps of ≤ 1 s so phase boundaries inside a long step are not skipped.
            dt = min(remaining, 1.0)
            target = self.demand_hr()
            self.true_hr += (target - self.true_hr) * (1.0 - math.exp(-dt / self.tau))
            # Ornstein–Uhlenbeck wander: breathing, posture, terrain — slow and bounded.
            self._drift += -self._drift * dt / 60.0 + self.drift_bpm * math.sqrt(dt / 30.0) * float(
                self._rng.standard_normal()
            )
            self.t += dt
            remaining -= dt
        reading = self.true_hr + self._drift + self.noise_bpm * float(self._rng.standard_normal())
        return float(round(min(max(reading, 30.0), self._max + 5.0)))

    async def samples(
        self, interval: float = 1.0, speed: float = 1.0, until: float | None = None
    ) -> AsyncGenerator[tuple[float, float], None]:
        """Yield ``(t, hr)`` per ``interval`` simulated s, sleeping ``interval / speed`` real s."""
        end = self.duration_s if until is None else until
        pause = interval / speed if speed > 0 and math.isfinite(speed) else 0.0
        while self.t + interval <= end + 1e-9:
            hr = self.step(interval)
            log.debug("simulated heart: t=%.1f s, %.0f bpm", self.t, hr)
            yield self.t, hr
            await asyncio.sleep(pause)


def _value(features: Mapping[str, Any] | Any, name: str) -> float:
    """A float feature from a mapping or pandas row; NaN when missing or not a number."""
    try:
        value = features.get(name)
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError, AttributeError):
        return math.nan


class SimulatedStream:
    """The simulator as a HeartStream, ``speed`` times faster than real time."""

    source = "simulator"

    def __init__(self, heart: SimulatedHeart, speed: float, resume_from: float = 0.0) -> None:
        """``resume_from``: simulated seconds already done (a workout resumed after a restart)."""
        self.heart = heart
        self.speed = speed
        if resume_from > 0:
            heart.step(resume_from)  # the plan carries on where the workout was

    def samples(self) -> AsyncGenerator[tuple[float, float], None]:
        """Simulated (t, hr) samples until the plan is over."""
        return self.heart.samples(interval=1.0, speed=self.speed)

    def on_track(self, features: Mapping[str, Any] | Any | None) -> None:
        """The simulated heart reacts to the suggested track."""
        self.heart.set_track(features)
