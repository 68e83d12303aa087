"""Recommendations posted as private Spotify playlists (``POST /me/playlists``, items by 100)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot.core.errors import NeedsLink, SpotifyNotSetUp, UserFacingError
from bot.core.incidents import log_incident
from bot.core.ports import PLAYLIST_ADD_CHUNK, SpotifyPort

log = logging.getLogger(__name__)
YES = ("yes", "y", "true", "1", "on")
DESCRIPTION = "Picked by beatmatch from your taste, ordered for smooth transitions."
AGAIN = "Once that's sorted, /playlist makes it from these tracks."
NO = ("no", "n", "false", "0", "off", "")


def playlist_choice(value: str | None) -> str | None:
    """None for no playlist, "" for one with the default name, else the name asked for."""
    if value is None:
        return None
    word = value.strip()
    if word.lower() in NO:
        return None
    if word.lower() in YES:
        return ""
    return word[:100]


class Playlists:
    """Posts track lists to a linked user's Spotify (``gateway`` None: Spotify isn't set up)."""

    def __init__(self, gateway: SpotifyPort | None) -> None:
        self.gateway = gateway

    def _gateway(self) -> SpotifyPort:
        if self.gateway is None:
            raise SpotifyNotSetUp
        return self.gateway

    async def require_link(self, uid: int) -> None:
        """NeedsLink unless the user linked Spotify (checked before work that needs it)."""
        if await self._gateway().linked_name(uid) is None:
            raise NeedsLink(
                "Playlists go to your Spotify account: link it first with /link spotify."
            )

    async def post(
        self, uid: int, track_ids: Sequence[str], name: str = "", description: str = DESCRIPTION
    ) -> str:
        """Create a private playlist of ``track_ids`` in their order; its link."""
        account = await self._gateway().account(uid)
        title = name or f"beatmatch · {dt.date.today():%Y-%m-%d}"
        playlist = await account.create_playlist(title, description, False)
        uris = [f"spotify:track:{t}" for t in track_ids]
        for start in range(0, len(uris), PLAYLIST_ADD_CHUNK):
            await account.add_to_playlist(
                playlist.playlist_id, uris[start : start + PLAYLIST_ADD_CHUNK]
            )
        return playlist.url

    async def note(
        self,
        uid: int,
        track_ids: Sequence[str],
        name: str = "",
        description: str = DESCRIPTION,
        again: str = AGAIN,
    ) -> str:
        """``post``, as a line under recommendations already made: the playlist's link, or why
        it couldn't be made (and ``again``, how to retry) — the tracks are shown either way."""
        try:
            url = await self.post(uid, track_ids, name, description)
        except UserFacingError as error:
            reason = error.message
        except Exception:
            incident = log_incident(log, "while posting a playlist for user %s", uid)
            reason = f"something went wrong on my side (incident {incident}); it has been logged."
        else:
            return f"Spotify playlist: {url}"
        return f"Couldn't make the Spotify playlist: {reason} {again}"
