"""Workouts a restart left open: each session rebuilt from its stored samples and suggestions.

After a crash the last stored sample may be a window that was still filling (``samples.py``
stores it at every write). The session goes on after that sample's time: the stream's next
readings come after it, and the writer gives them a sample of their own, so no reading is lost
or counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bot.core.workout.heart_response import track_rows
from bot.core.workout.session import WorkoutSession
from recommender.heart import HeartProfile
from storage.track_store import TrackStore
from storage.workout_store import WorkoutStore

#: Workouts resumed at once after a restart (each validates a token and reads its samples).
RESUME_CONCURRENCY = 16


@dataclass(frozen=True)
class Restored:
    """An open workout as it stood when the process stopped."""

    session: WorkoutSession
    suggested: set[str]
    last_pick: float | None  # workout time of the last track suggested


def restore(
    workouts: WorkoutStore,
    stored_tracks: TrackStore,
    tracks: pd.DataFrame,
    row: Mapping[str, Any],
    profile: HeartProfile,
    keep_samples: bool = False,
) -> Restored:
    """The session of the open workout ``row`` from its stored samples and tracks (blocking)."""
    workout_id = int(row["id"])
    samples = workouts.workout_samples(workout_id)
    stored = workouts.workout_tracks(workout_id)
    shown = workouts.sent_tracks(workout_id)
    features = track_rows(stored_tracks, tracks, [str(s["track_id"]) for s in stored])
    suggestions = [
        (float(s["t"]), str(s["track_id"]), features.get(str(s["track_id"]))) for s in stored
    ]
    session = WorkoutSession.restore(
        samples,
        suggestions,
        profile,
        row["goal_zone"],
        row["cadence"],
        started_at=0.0,
        keep_samples=keep_samples,
        sent=[(float(s["t"]), str(s["track_id"]), str(s["title"])) for s in shown],
    )
    return Restored(
        session=session,
        suggested={s for _, s, _ in suggestions} | {str(s["track_id"]) for s in shown},
        last_pick=max((t for t, _, _ in suggestions), default=None),
    )
