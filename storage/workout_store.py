"""Workout sessions, heart-rate samples and suggested tracks: the Repository's workout methods."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import pandas as pd

from storage.access import SqliteAccess


class WorkoutStore(SqliteAccess):
    """The workout part of the Repository."""

    def start_workout(
        self,
        user_id: int,
        goal_zone: int | None,
        cadence: int | None,
        source: str,
        started_at: float | None = None,
    ) -> int:
        """Open a workout row and return its id."""
        with self._tx() as db:
            table = db.table("workouts").insert(
                {
                    "user_id": user_id,
                    "started_at": started_at or time.time(),
                    "ended_at": None,
                    "goal_zone": goal_zone,
                    "cadence": cadence,
                    "source": source,
                    "summary": None,
                }
            )
            return int(table.last_pk or 0)

    def add_hr_samples(self, workout_id: int, samples: Iterable[tuple[float, float]]) -> int:
        """Append (t, hr) samples to a workout (a repeated t is ignored)."""
        rows = [(workout_id, float(t), float(hr)) for t, hr in samples]
        with self._tx() as db:
            db.conn.executemany(
                "insert or ignore into hr_samples (workout_id, t, hr) values (?,?,?)", rows
            )
        return len(rows)

    def add_workout_track(self, workout_id: int, t: float, track_id: str, title: str) -> None:
        """Record that ``track_id`` was suggested at time ``t`` of the workout."""
        with self._tx() as db:
            db.execute(
                "insert or replace into workout_tracks (workout_id, t, track_id, title) "
                "values (?,?,?,?)",
                [workout_id, float(t), track_id, title],
            )

    def end_workout(
        self, workout_id: int, summary: dict[str, Any], ended_at: float | None = None
    ) -> None:
        """Close a workout with its summary."""
        with self._tx() as db:
            db.execute(
                "update workouts set ended_at = ?, summary = ? where id = ?",
                [ended_at or time.time(), json.dumps(summary), workout_id],
            )

    def open_workouts(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Workouts not yet stopped (to resume after a restart), optionally of one user."""
        sql = "select * from workouts where ended_at is null"
        params: list[Any] = []
        if user_id is not None:
            sql += " and user_id = ?"
            params.append(user_id)
        return self._rows(sql + " order by id", params)

    def workout_samples(self, workout_id: int) -> list[tuple[float, float]]:
        """The (t, hr) samples of a workout in time order."""
        rows = self._rows(
            "select t, hr from hr_samples where workout_id = ? order by t",
            [workout_id],
        )
        return [(float(r["t"]), float(r["hr"])) for r in rows]

    def workout_tracks(self, workout_id: int) -> list[dict[str, Any]]:
        """The tracks suggested during a workout: t, track_id, title."""
        return self._rows(
            "select t, track_id, title from workout_tracks where workout_id = ? order by t",
            [workout_id],
        )

    def finished_workouts(self, user_id: int, limit: int = 50) -> pd.DataFrame:
        """The user's finished workouts, newest first."""
        return self._frame(
            "select id, started_at, ended_at, goal_zone, cadence, source, summary "
            "from workouts where user_id = ? and ended_at is not null "
            "order by started_at desc limit ?",
            [user_id, limit],
        )
