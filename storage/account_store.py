"""OAuth states and linked accounts.

Token blobs arrive here already encrypted (see storage.token_vault); states are stored by hash, so
the database never holds a usable state value.
"""

from __future__ import annotations

import time
from typing import Any

from storage.access import Sqlite


class AccountStore:
    """The oauth_states and linked_accounts tables."""

    def __init__(self, sql: Sqlite) -> None:
        self.sql = sql

    def put_oauth_state(
        self, state_hash: str, user_id: int, provider: str, verifier: str, ttl: float
    ) -> None:
        """Remember a pending authorisation for ``ttl`` seconds (and drop expired ones)."""
        now = time.time()
        with self.sql.tx() as db:
            db.execute("delete from oauth_states where expires_at < ?", [now])
            db.execute(
                "insert into oauth_states (state_hash, user_id, provider, verifier, created_at, "
                "expires_at) values (?,?,?,?,?,?)",
                [state_hash, user_id, provider, verifier, now, now + ttl],
            )

    def take_oauth_state(
        self, state_hash: str, user_id: int | None = None
    ) -> dict[str, Any] | None:
        """The pending authorisation for ``state_hash``, deleted as it is read (single use).

        Returns None if unknown, already used or expired — or, when ``user_id`` is given, bound to
        another user: then it is left in place for the user it belongs to.
        """
        with self.sql.tx() as db:
            rows = list(db.query("select * from oauth_states where state_hash = ?", [state_hash]))
            if not rows:
                return None
            if user_id is not None and int(rows[0]["user_id"]) != user_id:
                return None
            db.execute("delete from oauth_states where state_hash = ?", [state_hash])
        row = rows[0]
        return row if float(row["expires_at"]) >= time.time() else None

    def save_link(
        self, user_id: int, provider: str, account_name: str, token_blob: bytes, scopes: str
    ) -> None:
        """Store (or replace) a linked account with its encrypted token."""
        with self.sql.tx() as db:
            db.execute(
                "insert or replace into linked_accounts (user_id, provider, account_name, "
                "token_blob, scopes, updated_at) values (?,?,?,?,?,?)",
                [user_id, provider, account_name, token_blob, scopes, time.time()],
            )

    def update_token_blob(self, user_id: int, provider: str, token_blob: bytes) -> bool:
        """Replace the encrypted token of a linked account (after a refresh); False if unlinked."""
        with self.sql.tx() as db:
            cursor = db.execute(
                "update linked_accounts set token_blob = ?, updated_at = ? "
                "where user_id = ? and provider = ?",
                [token_blob, time.time(), user_id, provider],
            )
            return cursor.rowcount > 0

    def get_link(self, user_id: int, provider: str) -> dict[str, Any] | None:
        """The linked account row (with its encrypted token blob), or None."""
        rows = self.sql.rows(
            "select * from linked_accounts where user_id = ? and provider = ?",
            [user_id, provider],
        )
        return rows[0] if rows else None

    def delete_link(self, user_id: int, provider: str) -> bool:
        """Forget a linked account and its tokens; True if there was one."""
        with self.sql.tx() as db:
            cursor = db.execute(
                "delete from linked_accounts where user_id = ? and provider = ?",
                [user_id, provider],
            )
            return cursor.rowcount > 0

    def linked_users(self, provider: str) -> list[int]:
        """Users who have linked ``provider``."""
        rows = self.sql.rows("select user_id from linked_accounts where provider = ?", [provider])
        return [int(r["user_id"]) for r in rows]

    def link_counts(self) -> dict[str, int]:
        """How many linked accounts' tokens are stored, by provider."""
        rows = self.sql.rows(
            "select provider, count(*) as n from linked_accounts group by provider order by provider"
        )
        return {str(r["provider"]): int(r["n"]) for r in rows}

    def recent_token_blobs(self, limit: int) -> list[bytes]:
        """The encrypted tokens of the ``limit`` most recently updated links."""
        rows = self.sql.rows(
            "select token_blob from linked_accounts order by updated_at desc limit ?", [limit]
        )
        return [bytes(r["token_blob"]) for r in rows]

    def forget_all_links(self) -> int:
        """Delete every linked account's tokens and every pending authorisation (a lost key: the
        listeners link again); how many links were deleted."""
        with self.sql.tx() as db:
            db.execute("delete from oauth_states")
            return int(db.execute("delete from linked_accounts").rowcount)
