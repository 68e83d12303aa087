"""Each user's last numbered list of tracks (from /recommend or the digest): what /like N means."""

from __future__ import annotations

from collections.abc import Sequence


class LastPicks:
    """The track ids of every user's last list, in the order they were shown."""

    def __init__(self) -> None:
        self._picks: dict[int, list[str]] = {}

    def remember(self, user_id: int, track_ids: Sequence[str]) -> None:
        """``track_ids`` are now the user's numbered list."""
        self._picks[user_id] = list(track_ids)

    def of(self, user_id: int) -> list[str]:
        """The user's last list ([] if none)."""
        return list(self._picks.get(user_id, []))

    def forget(self, user_id: int) -> None:
        """Drop the user's list (for /forget)."""
        self._picks.pop(user_id, None)
