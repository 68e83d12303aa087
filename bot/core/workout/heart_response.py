"""How music moves each listener's heart, learned from their past workouts and used in goal mode.

After every workout the user's stored sessions are replayed into segments (one per suggested
track: its features, the heart rate when it started and how much that changed while it played)
and ``recommender.heart.HeartResponseModel`` is refitted on them. Once it has enough segments, a
goal-mode workout prefers the tracks it expects to bring the heart toward the goal zone.
Everything here is blocking (sqlite, fitting); the manager calls it from worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.core.workout.session import WorkoutSession
from recommender.context import Context
from recommender.heart import (
    HeartProfile,
    HeartResponseModel,
    goal_hr_band,
    toward_goal,
)
from recommender.tracks import track_row
from storage.track_store import TrackStore
from storage.user_store import UserStore
from storage.workout_store import WorkoutStore

log = logging.getLogger(__name__)
SETTINGS_KEY = "heart_response"
#: Sessions older than the latest this many are not refitted on (fitness changes over months).
HISTORY_WORKOUTS = 50
#: With the learned term, a track keeps at least this share of its score however far it lands.
TOWARD_FLOOR = 0.3
#: A predicted effect smaller than this (bpm, against the average candidate) goes unmentioned.
MENTION_BPM = 1.0


@dataclass(frozen=True)
class HeartSteer:
    """Goal-mode steering from a learned response: where the heart is and where it should go."""

    model: HeartResponseModel
    start_hr: float
    goal_zone: int
    goal_low: float
    goal_high: float

    def predicted_end(self, tracks: pd.DataFrame) -> np.ndarray:
        """Heart rate each track is expected to leave behind, shape (n_tracks,)."""
        return self.start_hr + self.model.predict_delta(tracks, self.start_hr)

    def weights(self, tracks: pd.DataFrame) -> np.ndarray:
        """Score multipliers in [TOWARD_FLOOR, 1], shape (n_tracks,): 1 = lands nearest the goal."""
        credit = toward_goal(self.predicted_end(tracks), self.goal_low, self.goal_high)
        return TOWARD_FLOOR + (1.0 - TOWARD_FLOOR) * credit

    def order(self, track_ids: list[str], tracks: pd.DataFrame) -> list[str]:
        """``track_ids`` with the track landing nearest the goal first (it plays now)."""
        weights = self.weights(tracks.loc[track_ids])
        ranked = sorted(range(len(track_ids)), key=lambda k: -float(weights[k]))
        return [track_ids[k] for k in ranked]

    def reasons(self, picked: pd.DataFrame, pool: pd.DataFrame) -> list[str]:
        """A phrase per picked track when it is expected to move the heart toward the goal."""
        typical = float(np.nanmedian(self.predicted_end(pool))) if len(pool) else self.start_hr
        middle = (self.goal_low + self.goal_high) / 2.0
        out = []
        for end in self.predicted_end(picked):
            effect = float(end) - typical
            wanted = middle - typical
            if abs(effect) >= MENTION_BPM and effect * wanted > 0:
                out.append(
                    f"moves your heart toward zone {self.goal_zone} "
                    f"(learned from your workouts: {effect:+.0f} bpm)"
                )
            else:
                out.append("")
        return out


def steering_context(
    context: Context, session: WorkoutSession, steer: HeartSteer | None
) -> Context:
    """The picking context once a learned response steers toward the goal.

    The zone's generic tempo and energy targets (and their raise/lower nudges) are a guess at
    what moves a heart; a ready per-user model knows better, so while the heart must move it
    steers alone, keeping only a cadence beat. Holding at the goal keeps the zone's context.
    """
    target = session.target()
    if steer is None or target.direction in (None, "hold"):
        return context
    if target.from_cadence:
        return Context(tempo_band=context.tempo_band, label=context.label)
    return Context(label=context.label)


def track_rows(
    stored_tracks: TrackStore, tracks: pd.DataFrame, track_ids: Iterable[str]
) -> dict[str, pd.Series]:
    """Feature rows of ``track_ids`` from the catalog, else from stored tracks; blocking."""
    ids = set(track_ids)
    rows = {t: track_row(tracks, t) for t in ids if t in tracks.index}
    missing = ids - set(rows)
    if missing:
        stored = stored_tracks.get_tracks(missing)
        rows.update({str(t): track_row(stored, t) for t in stored.index})
    return rows


def describe(model: HeartResponseModel) -> str:
    """One sentence on what the model learned (for the workout summary)."""
    coef = model.coefficients()
    return (
        f"Learned from {model.n_segments} tracks of your workouts: +10 bpm of tempo moves your "
        f"heart {10 * coef['tempo']:+.1f} bpm, +0.1 energy {0.1 * coef['energy']:+.1f} bpm, "
        f"+0.1 danceability {0.1 * coef['danceability']:+.1f} bpm, +1 dB loudness "
        f"{coef['loudness']:+.1f} bpm."
    )


class HeartResponses:
    """Per-user learned heart responses: fitted from stored workouts, kept in user settings."""

    def __init__(
        self,
        users: UserStore,
        workouts: WorkoutStore,
        stored_tracks: TrackStore,
        tracks: pd.DataFrame,
        alpha: float = 1.0,
    ) -> None:
        """``tracks``: the catalog's track table; others come from ``stored_tracks``."""
        self.users = users
        self.workouts = workouts
        self.stored_tracks = stored_tracks
        self.tracks = tracks
        self.alpha = alpha
        self._cache: dict[int, HeartResponseModel | None] = {}
        self._lock = threading.Lock()

    def load(self, user_id: int) -> HeartResponseModel | None:
        """The user's stored model (fitted or not), None if there is none; cached."""
        with self._lock:
            if user_id in self._cache:
                return self._cache[user_id]
        stored = self.users.user_settings(user_id).get(SETTINGS_KEY)
        model = None
        if isinstance(stored, dict):
            try:
                model = HeartResponseModel.from_dict(stored["model"])
            except (KeyError, TypeError, ValueError):
                log.warning("stored heart-response model of user %s is unreadable", user_id)
        with self._lock:
            self._cache[user_id] = model
        return model

    def ready(self, user_id: int) -> HeartResponseModel | None:
        """The user's model when it has enough segments to be used, else None."""
        model = self.load(user_id)
        return model if model is not None and model.is_ready else None

    def segments(self, user_id: int) -> pd.DataFrame:
        """One row per suggested track of the user's stored workouts (see WorkoutSession.segments)."""
        history = self.workouts.workout_history(user_id, HISTORY_WORKOUTS)
        ids = {str(t["track_id"]) for w in history for t in w["tracks"]}
        features = track_rows(self.stored_tracks, self.tracks, ids)
        frames = []
        for workout in history:
            suggestions = [
                (float(t["t"]), str(t["track_id"]), features.get(str(t["track_id"])))
                for t in workout["tracks"]
            ]
            session = WorkoutSession.restore(workout["samples"], suggestions, HeartProfile())
            frame = session.segments()
            if not frame.empty:
                frames.append(frame.assign(workout_id=workout["id"]))
        if not frames:
            return WorkoutSession(HeartProfile()).segments()
        return pd.concat(frames, ignore_index=True)

    def refit(self, user_id: int) -> HeartResponseModel:
        """Fit on every stored segment of the user, store the model and return it."""
        segments = self.segments(user_id)
        model = HeartResponseModel(alpha=self.alpha).fit(segments)
        record = {
            "model": model.to_dict(),
            "fitted_at": time.time(),
            "workouts": int(segments["workout_id"].nunique()) if len(segments) else 0,
        }
        self.users.update_user_settings(user_id, **{SETTINGS_KEY: record})
        with self._lock:
            self._cache[user_id] = model
        return model

    def forget(self, user_id: int) -> None:
        """Drop the cached model (the stored one goes with the user's row)."""
        with self._lock:
            self._cache.pop(user_id, None)

    @staticmethod
    def steer(model: HeartResponseModel | None, session: WorkoutSession) -> HeartSteer | None:
        """Steering for the session's goal from a ready model; None without goal, model or HR."""
        hr = session.smoothed_hr
        if model is None or not model.is_ready or session.goal_zone is None or hr is None:
            return None
        low, high = goal_hr_band(session.profile, session.goal_zone)
        return HeartSteer(model, float(hr), session.goal_zone, low, high)
