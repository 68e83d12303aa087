"""Consent to /blend: who allowed their taste to be scored in a group's list, who was asked, and
the group chats where each allowed it (erased by /forget with the user's other rows)."""

from __future__ import annotations

import time

from storage.access import Sqlite

#: The key of a user's stored settings holding their chat handle ("@name", lower case).
HANDLE_KEY = "handle"


class BlendStore:
    """The ``blend_consent`` and ``blend_places`` tables."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def consent(self, user_id: int) -> bool | None:
        """True if the user allowed blends, False if they refused, None if never answered."""
        rows = self.sql.rows("select allowed from blend_consent where user_id = ?", [user_id])
        if not rows or rows[0]["allowed"] is None:
            return None
        return bool(rows[0]["allowed"])

    def allowed(self, user_ids: list[int]) -> set[int]:
        """Those of ``user_ids`` who allowed blends."""
        if not user_ids:
            return set()
        marks = ", ".join("?" for _ in user_ids)
        rows = self.sql.rows(
            f"select user_id from blend_consent where allowed = 1 and user_id in ({marks})",
            list(user_ids),
        )
        return {int(r["user_id"]) for r in rows}

    def set_consent(self, user_id: int, allowed: bool, place: str = "") -> None:
        """Record the user's answer; allowing it in a group chat (``place``) adds them to the
        group's members, refusing it removes them from every group."""
        now = time.time()
        with self.sql.tx() as db:
            db.execute(
                "insert into blend_consent (user_id, allowed, asked_at, updated_at) "
                "values (?, ?, ?, ?) on conflict(user_id) do update set "
                "allowed = excluded.allowed, updated_at = excluded.updated_at",
                [user_id, int(allowed), now, now],
            )
            if not allowed:
                db.execute("delete from blend_places where user_id = ?", [user_id])
            elif place:
                db.execute(
                    "insert or ignore into blend_places (user_id, place, added_at) "
                    "values (?, ?, ?)",
                    [user_id, place, now],
                )

    def ask_once(self, user_id: int) -> bool:
        """True the first time a user is named in a blend without having answered (they are to
        be asked); False once they were asked or have answered."""
        with self.sql.tx() as db:
            cursor = db.execute(
                "insert or ignore into blend_consent (user_id, allowed, asked_at, updated_at) "
                "values (?, NULL, ?, ?)",
                [user_id, time.time(), time.time()],
            )
            return bool(cursor.rowcount)

    def members(self, place: str) -> list[int]:
        """The users who allowed blends in the group chat ``place``, oldest first."""
        rows = self.sql.rows(
            "select p.user_id from blend_places p join blend_consent c using (user_id) "
            "where p.place = ? and c.allowed = 1 order by p.added_at, p.user_id",
            [place],
        )
        return [int(r["user_id"]) for r in rows]

    def find_handle(self, platform: str, handle: str) -> int | None:
        """The user of ``platform`` whose stored handle is ``handle`` ("@name", any case)."""
        rows = self.sql.rows(
            "select id from users where platform = ? and "
            "json_extract(settings, ?) = ? order by id limit 1",
            [platform, f"$.{HANDLE_KEY}", handle.lower()],
        )
        return int(rows[0]["id"]) if rows else None
