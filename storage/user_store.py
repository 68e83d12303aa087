"""Chat users: their internal ids, per-user settings, and erasing everything of one user."""

from __future__ import annotations

import json
import time
from typing import Any

from storage.access import Sqlite
from storage.migrations import USER_TABLES


class UserStore:
    """The users table and the erasure of a user's rows in every table."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def user_id(self, platform: str, platform_user_id: str, display_name: str = "") -> int:
        """The internal id of a chat user, created on first sight."""
        with self.sql.tx() as db:
            rows = list(
                db.query(
                    "select id from users where platform = ? and platform_user_id = ?",
                    [platform, platform_user_id],
                )
            )
            if rows:
                return int(rows[0]["id"])
            table = db.table("users").insert(
                {
                    "platform": platform,
                    "platform_user_id": platform_user_id,
                    "display_name": display_name,
                    "created_at": time.time(),
                    "settings": "{}",
                }
            )
            return int(table.last_pk or 0)

    def find_user(self, platform: str, platform_user_id: str) -> int | None:
        """The internal id of a chat user, or None if never seen."""
        rows = self.sql.rows(
            "select id from users where platform = ? and platform_user_id = ?",
            [platform, platform_user_id],
        )
        return int(rows[0]["id"]) if rows else None

    def user_row_counts(self, user_id: int) -> dict[str, int]:
        """How many rows of ``user_id`` each table holds: what ``forget_user`` would delete."""
        counts: dict[str, int] = {}
        for child in ("hr_samples", "workout_tracks", "workout_sent_tracks"):
            counts[child] = int(
                self.sql.rows(
                    f"select count(*) as n from {child} where workout_id in "
                    "(select id from workouts where user_id = ?)",
                    [user_id],
                )[0]["n"]
            )
        for table in ("workouts", *USER_TABLES):
            counts[table] = int(
                self.sql.rows(f"select count(*) as n from {table} where user_id = ?", [user_id])[0][
                    "n"
                ]
            )
        return counts

    def forget_user(self, user_id: int) -> dict[str, int]:
        """Delete every row of ``user_id`` (workouts, samples, library, tokens, …); counts per table."""
        counts: dict[str, int] = {}
        with self.sql.tx() as db:
            workout_ids = [
                r["id"] for r in db.query("select id from workouts where user_id = ?", [user_id])
            ]
            for child in ("hr_samples", "workout_tracks", "workout_sent_tracks"):
                deleted = 0
                for wid in workout_ids:
                    deleted += db.execute(
                        f"delete from {child} where workout_id = ?", [wid]
                    ).rowcount
                counts[child] = deleted
            counts["workouts"] = db.execute(
                "delete from workouts where user_id = ?", [user_id]
            ).rowcount
            for table in USER_TABLES:
                counts[table] = db.execute(
                    f"delete from {table} where user_id = ?", [user_id]
                ).rowcount
            counts["users"] = db.execute("delete from users where id = ?", [user_id]).rowcount
        return counts

    def user_settings(self, user_id: int) -> dict[str, Any]:
        """Per-user settings (JSON object)."""
        rows = self.sql.rows("select settings from users where id = ?", [user_id])
        return json.loads(rows[0]["settings"] or "{}") if rows else {}

    def update_user_settings(self, user_id: int, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the user's settings and return the result."""
        with self.sql.tx() as db:
            rows = list(db.query("select settings from users where id = ?", [user_id]))
            settings = json.loads(rows[0]["settings"] or "{}") if rows else {}
            settings.update(changes)
            db.execute(
                "update users set settings = ? where id = ?", [json.dumps(settings), user_id]
            )
        return settings
