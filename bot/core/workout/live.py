"""What a live workout is made of: the heart stream it reads and the state the manager keeps per
running workout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from bot.core.workout.session import WorkoutSession
from recommender.context import Context
from recommender.heart import HeartProfile, HeartResponseModel, MusicTarget, zone_name


@dataclass(frozen=True)
class StreamRequest:
    """What a stream factory needs: whose heart, and where the workout's clock stands."""

    user_id: int
    profile: HeartProfile
    started_at: float  # wall-clock epoch of the workout start: a live stream's t counts from it
    resume_from: float | None = None  # the last stored sample time when resuming after a restart


class HeartStream(Protocol):
    """A source of live heart rate for one user."""

    source: str  # "pulsoid", "simulator", … (said in replies, stored with the workout)

    def samples(self) -> AsyncGenerator[tuple[float, float], None]:
        """(seconds since the workout started, beats per minute), in arrival order."""
        ...

    def on_track(self, features: Mapping[str, Any] | pd.Series | None) -> None:
        """The track now suggested (a simulated heart reacts to it; a real one ignores this)."""
        ...


HeartStreamFactory = Callable[[StreamRequest], Awaitable[HeartStream]]


@dataclass
class LiveWorkout:
    """A running workout: its stored row, pure session state and the task reading the stream."""

    workout_id: int
    user_id: int
    session: WorkoutSession
    stream: HeartStream
    last_arrival: float
    task: asyncio.Task[None] | None = None
    next_track_t: float = 0.0
    suggested: set[str] = field(default_factory=set)
    model: HeartResponseModel | None = None
    can_queue: bool = False
    offline_told: bool = False
    player_told: bool = False


def heart_context(session: WorkoutSession) -> Context | None:
    """The /recommend context a live heart asks for, None before the first sample."""
    hr = session.smoothed_hr
    zone = session.zone
    if hr is None or zone is None:
        return None
    target: MusicTarget = session.target()
    label = f"your heart rate {hr:.0f} bpm (zone {zone}, {zone_name(zone)})"
    if target.direction and target.direction != "hold":
        label += f", steering to zone {session.goal_zone}"
    return Context(
        tempo_band=(target.tempo.low, target.tempo.high), energy=target.energy, label=label
    )
