"""Batched heart-rate writes and the workout history the learned heart response is fitted on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storage.access import SqliteAccess


class HeartStore(SqliteAccess):
    """The heart-rate part of the Repository: many workouts' samples in one transaction."""

    def store_hr_batches(self, batches: Mapping[int, Sequence[tuple[float, float]]]) -> int:
        """Append (t, hr) samples of many workouts at once; rows of deleted workouts are skipped.

        One transaction (one fsync) for every workout, so a thousand live streams cost one write
        per flush rather than a thousand. Returns the number of rows offered for storage.
        """
        ids = [int(w) for w, rows in batches.items() if rows]
        if not ids:
            return 0
        with self._tx() as db:
            existing: set[int] = set()
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                marks = ",".join("?" * len(chunk))
                existing.update(
                    int(r["id"])
                    for r in db.query(f"select id from workouts where id in ({marks})", chunk)
                )
            rows = [
                (workout_id, float(t), float(hr))
                for workout_id in ids
                if workout_id in existing
                for t, hr in batches[workout_id]
            ]
            db.conn.executemany(
                "insert or ignore into hr_samples (workout_id, t, hr) values (?,?,?)", rows
            )
        return len(rows)

    def workout_row(self, workout_id: int) -> dict[str, Any] | None:
        """One workout row, or None."""
        rows = self._rows("select * from workouts where id = ?", [workout_id])
        return rows[0] if rows else None

    def workout_history(self, user_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The user's latest finished workouts with their samples and suggested tracks.

        Each item: ``id``, ``samples`` [(t, hr)] and ``tracks`` [{t, track_id, title}], oldest first.
        """
        workouts = self._rows(
            "select id from workouts where user_id = ? and ended_at is not null "
            "order by started_at desc limit ?",
            [user_id, int(limit)],
        )
        history = []
        for row in reversed(workouts):
            workout_id = int(row["id"])
            samples = self._rows(
                "select t, hr from hr_samples where workout_id = ? order by t", [workout_id]
            )
            tracks = self._rows(
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
