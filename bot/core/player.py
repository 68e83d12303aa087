"""The music player port: what workout mode needs from a player (Spotify's, once linked).

The Spotify adapter fills it; the workout manager calls it, when present, to queue the track it
just picked on the listener's active device. Nothing here talks to a network.
"""

from __future__ import annotations

from typing import Protocol


class Player(Protocol):
    """Queues tracks on a listener's own player."""

    async def can_queue(self, user_id: int) -> bool:
        """True when the user linked a player and granted the scope to control it."""
        ...

    async def queue(self, user_id: int, track_id: str) -> None:
        """Add the Spotify track ``track_id`` to the user's queue.

        Raises a ``UserFacingError`` (e.g. NeedsLink, or "no active device") the user should see.
        """
        ...
