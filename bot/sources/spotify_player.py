"""The listener's own Spotify player as the core's ``Player`` port: workouts queue each track they
pick with ``POST /me/player/queue``.

Only built when the operator sets ``spotify.queue_in_workouts`` (then /link spotify asks for the
``user-modify-playback-state`` scope); a listener can be queued when their link granted that scope.
Spotify takes the track only for a Premium account with Spotify open on some device: otherwise
``PlayerUnavailable`` says what to do, and the workout tells the listener once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sources.spotify_auth import QUEUE_SCOPE

if TYPE_CHECKING:
    from bot.sources.spotify import SpotifyGateway


class SpotifyPlayer:
    """Queues tracks on linked listeners' Spotify (the core's ``Player``)."""

    def __init__(self, gateway: SpotifyGateway) -> None:
        self.gateway = gateway

    async def can_queue(self, user_id: int) -> bool:
        """True when the user's Spotify link granted ``user-modify-playback-state``."""
        return QUEUE_SCOPE in await self.gateway.granted_scopes(user_id)

    async def queue(self, user_id: int, track_id: str) -> None:
        """Add ``spotify:track:<track_id>`` to the user's queue (PlayerUnavailable: no device,
        no Premium or no scope; NeedsLink: the link is gone)."""
        account = await self.gateway.account(user_id)
        await account.add_to_queue(track_id)
