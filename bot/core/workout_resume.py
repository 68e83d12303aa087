"""Resuming workouts a restart left open: the session rebuilt from its stored samples and
suggestions, the stream reconnected where the workout's clock stands (a mixin of WorkoutManager)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from bot.core.errors import UserFacingError
from bot.core.heart_response import track_rows
from bot.core.live_workout import HeartStreamFactory, LiveWorkout, Notifier, StreamRequest
from bot.core.replies import Reply
from bot.core.workout import WorkoutSession
from bot.core.workout_messages import StatusReply, resumed_text, status_key
from recommender.heart import HeartProfile, HeartResponseModel
from storage.repository import Repository

log = logging.getLogger(__name__)
#: Workouts resumed at once after a restart.
RESUME_CONCURRENCY = 16


class WorkoutResume:
    """Needs the manager's repository, streams, settings and helpers."""

    repo: Repository
    tracks: pd.DataFrame
    streams: HeartStreamFactory
    live: dict[int, LiveWorkout]
    keep_samples: bool
    track_seconds: float
    notifier: Notifier | None

    async def _profile(self, user_id: int) -> HeartProfile:  # provided by WorkoutManager
        raise NotImplementedError

    async def _model(self, user_id: int) -> HeartResponseModel | None:
        raise NotImplementedError

    async def _can_queue(self, user_id: int) -> bool:
        raise NotImplementedError

    def _now(self) -> float:
        raise NotImplementedError

    def _launch(self, live: LiveWorkout) -> None:
        raise NotImplementedError

    async def _close(
        self, workout_id: int, user_id: int, session: WorkoutSession, reason: str
    ) -> Reply:
        raise NotImplementedError

    async def notify_user(self, user_id: int, reply: Reply) -> None:
        raise NotImplementedError

    async def resume_all(self) -> int:
        """Resume every workout a restart left open; returns how many carry on."""
        rows = await asyncio.to_thread(self.repo.open_workouts)
        # A few at a time: each one validates a token at Pulsoid and reads its samples.
        gate = asyncio.Semaphore(RESUME_CONCURRENCY)

        async def one(row: dict[str, Any]) -> bool:
            async with gate:
                try:
                    return await self.resume(row)
                except Exception:
                    log.exception("could not resume workout %s", row.get("id"))
                    return False

        return sum(await asyncio.gather(*(one(row) for row in rows)))

    async def resume(self, row: Mapping[str, Any]) -> bool:
        """Rebuild one open workout from its stored samples and reconnect its stream."""
        user_id, workout_id = int(row["user_id"]), int(row["id"])
        if user_id in self.live:
            return False
        profile = await self._profile(user_id)
        samples = await asyncio.to_thread(self.repo.workout_samples, workout_id)
        stored = await asyncio.to_thread(self.repo.workout_tracks, workout_id)
        features = await asyncio.to_thread(
            track_rows, self.repo, self.tracks, [str(s["track_id"]) for s in stored]
        )
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
            keep_samples=self.keep_samples,
        )
        request = StreamRequest(user_id, profile, float(row["started_at"]), session.last_t or 0.0)
        try:
            stream = await self.streams(request)
        except UserFacingError as error:
            reply = await self._close(workout_id, user_id, session, reason=error.message)
            await self.notify_user(user_id, reply)
            return False
        live = LiveWorkout(workout_id, user_id, session, stream, self._now())
        live.suggested = {s for _, s, _ in suggestions}
        last_pick = max((t for t, _, _ in suggestions), default=None)
        live.next_track_t = last_pick + self.track_seconds if last_pick is not None else 0.0
        live.model = await self._model(user_id)
        live.can_queue = await self._can_queue(user_id)
        self._launch(live)
        await self.notify_user(
            user_id,
            StatusReply(
                title="Workout", text=resumed_text(session), edit_key=status_key(workout_id)
            ),
        )
        return True
