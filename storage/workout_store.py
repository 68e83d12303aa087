"""Workouts: heart profiles, sessions, heart-rate samples (batched) and the tracks suggested.

Heart-rate samples of many workouts are written in one transaction (one fsync), so a thousand live
streams cost one write per flush rather than a thousand. A sample may replace the ones a workout
stored earlier in its time range: a window still filling is stored at every flush, then overwritten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from storage.access import Sqlite, in_chunks

#: A heart-rate sample to store: ``(t, hr)``, or ``(t, hr, since)`` — it then replaces whatever the
#: workout has stored from ``since`` to ``t`` (an earlier state of the same window); ``since`` None
#: adds it like ``(t, hr)``.
HrRow = tuple[float, float] | tuple[float, float, float | None]


class WorkoutStore:
    """The profiles, workouts, hr_samples and workout_tracks tables."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def start_workout(
        self,
        user_id: int,
        goal_zone: int | None,
        cadence: int | None,
        source: str,
        started_at: float | None = None,
    ) -> int:
        """Open a workout row and return its id."""
        with self.sql.tx() as db:
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
        with self.sql.tx() as db:
            db.conn.executemany(
                "insert or ignore into hr_samples (workout_id, t, hr) values (?,?,?)", rows
            )
        return len(rows)

    def add_workout_track(self, workout_id: int, t: float, track_id: str, title: str) -> None:
        """Record that ``track_id`` was suggested at time ``t`` of the workout."""
        with self.sql.tx() as db:
            db.execute(
                "insert or replace into workout_tracks (workout_id, t, track_id, title) "
                "values (?,?,?,?)",
                [workout_id, float(t), track_id, title],
            )

    def add_sent_tracks(self, workout_id: int, t: float, tracks: Iterable[tuple[str, str]]) -> None:
        """Record the (track_id, title) pairs a workout message showed the listener at ``t``."""
        rows = [(workout_id, float(t), track_id, title) for track_id, title in tracks]
        with self.sql.tx() as db:
            db.conn.executemany(
                "insert or ignore into workout_sent_tracks (workout_id, t, track_id, title) "
                "values (?,?,?,?)",
                rows,
            )

    def sent_tracks(self, workout_id: int) -> list[dict[str, Any]]:
        """The tracks a workout's messages showed, as {t, track_id, title}, in time order."""
        return self.sql.rows(
            "select t, track_id, title from workout_sent_tracks where workout_id = ? "
            "order by t, rowid",
            [workout_id],
        )

    def end_workout(
        self, workout_id: int, summary: dict[str, Any], ended_at: float | None = None
    ) -> None:
        """Close a workout with its summary."""
        with self.sql.tx() as db:
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
        return self.sql.rows(sql + " order by id", params)

    def workout_samples(self, workout_id: int) -> list[tuple[float, float]]:
        """The (t, hr) samples of a workout in time order."""
        rows = self.sql.rows(
            "select t, hr from hr_samples where workout_id = ? order by t",
            [workout_id],
        )
        return [(float(r["t"]), float(r["hr"])) for r in rows]

    def workout_tracks(self, workout_id: int) -> list[dict[str, Any]]:
        """The tracks suggested during a workout: t, track_id, title."""
        return self.sql.rows(
            "select t, track_id, title from workout_tracks where workout_id = ? order by t",
            [workout_id],
        )

    def finished_workouts(self, user_id: int, limit: int = 50) -> pd.DataFrame:
        """The user's finished workouts, newest first."""
        return self.sql.frame(
            "select id, started_at, ended_at, goal_zone, cadence, source, summary "
            "from workouts where user_id = ? and ended_at is not null "
            "order by started_at desc limit ?",
            [user_id, limit],
        )

    def store_hr_batches(self, batches: Mapping[int, Sequence[HrRow]]) -> int:
        """Store samples of many workouts at once; rows of deleted workouts are skipped.

        One transaction (one fsync) for every workout, so a thousand live streams cost one write
        per flush rather than a thousand. Each workout's rows come in time order; a row with a
        ``since`` replaces the workout's stored samples from ``since`` to its ``t`` (and an earlier
        row of the batch in that range), a plain one is added unless its ``t`` is stored already.
        Returns the number of rows offered for storage.
        """
        ids = [int(w) for w, rows in batches.items() if rows]
        if not ids:
            return 0
        with self.sql.tx() as db:
            existing: set[int] = set()
            for chunk, marks in in_chunks(ids):
                existing.update(
                    int(r["id"])
                    for r in db.query(f"select id from workouts where id in ({marks})", chunk)
                )
            replaced: list[tuple[int, float, float]] = []
            rows: list[tuple[int, float, float]] = []
            for workout_id in ids:
                if workout_id in existing:
                    for t, hr, since in _latest_states(batches[workout_id]):
                        if since is not None:
                            replaced.append((workout_id, since, t))
                        rows.append((workout_id, t, hr))
            db.conn.executemany(
                "delete from hr_samples where workout_id = ? and t >= ? and t <= ?", replaced
            )
            db.conn.executemany(
                "insert or ignore into hr_samples (workout_id, t, hr) values (?,?,?)", rows
            )
        return len(rows)

    def workout_row(self, workout_id: int) -> dict[str, Any] | None:
        """One workout row, or None."""
        rows = self.sql.rows("select * from workouts where id = ?", [workout_id])
        return rows[0] if rows else None

    def workout_history(self, user_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The user's latest finished workouts with their samples and suggested tracks.

        Each item: ``id``, ``samples`` [(t, hr)] and ``tracks`` [{t, track_id, title}], oldest first.
        """
        workouts = self.sql.rows(
            "select id from workouts where user_id = ? and ended_at is not null "
            "order by started_at desc limit ?",
            [user_id, int(limit)],
        )
        history = []
        for row in reversed(workouts):
            workout_id = int(row["id"])
            samples = self.sql.rows(
                "select t, hr from hr_samples where workout_id = ? order by t", [workout_id]
            )
            tracks = self.sql.rows(
                "select t, track_id, title from workout_tracks where workout_id = ? order by t",
                [workout_id],
            )
            history.append(
                {
                    "id": workout_id,
                    "samples": [(float(s["t"]), float(s["hr"])) for s in samples],
                    "tracks": tracks,
                }
            )
        return history

    def profile(self, user_id: int) -> dict[str, Any]:
        """The user's heart profile fields (absent ones are None)."""
        rows = self.sql.rows(
            "select age, resting_hr, max_hr, cadence, goal_zone from profiles where user_id = ?",
            [user_id],
        )
        keys = ("age", "resting_hr", "max_hr", "cadence", "goal_zone")
        return dict(rows[0]) if rows else dict.fromkeys(keys)

    def update_profile(self, user_id: int, **fields: int | None) -> dict[str, Any]:
        """Set some profile fields (None clears one) and return the whole profile."""
        current = self.profile(user_id)
        current.update(fields)
        with self.sql.tx() as db:
            db.table("profiles").upsert(
                {"user_id": user_id, **current, "updated_at": time.time()}, pk="user_id"
            )
        return current


def _latest_states(rows: Sequence[HrRow]) -> list[tuple[float, float, float | None]]:
    """``rows`` (time order) without those a later row replaces, as ``(t, hr, since)``."""
    kept: list[tuple[float, float, float | None]] = []
    floor = float("inf")  # the earliest ``since`` of the rows after the one looked at
    for row in reversed(rows):
        t, hr = float(row[0]), float(row[1])
        since = row[2] if len(row) > 2 else None
        if t >= floor:
            continue
        kept.append((t, hr, None if since is None else float(since)))
        if since is not None:
            floor = min(floor, float(since))
    kept.reverse()
    return kept
