"""The accounts feature: /link and /unlink for Spotify (taste) and Pulsoid (live heart rate)."""

from __future__ import annotations

from bot.core.accounts.pulsoid_links import PulsoidLinks
from bot.core.accounts.spotify import SpotifyAccounts
from bot.core.accounts.spotify_links import PROVIDERS
from bot.core.errors import BadInput
from bot.core.progress import Notify, silent
from bot.core.replies import ChatUser, Reply


class AccountsService:
    """Routes /link and /unlink to the account named."""

    def __init__(self, spotify: SpotifyAccounts, pulsoid: PulsoidLinks) -> None:
        self.spotify = spotify
        self.pulsoid = pulsoid

    async def link(
        self, user: ChatUser, account: str = "", pasted: str = "", *, notify: Notify = silent
    ) -> Reply:
        """/link spotify [pasted address] | /link pulsoid [TOKEN]."""
        provider = _provider(account, "link")
        if provider == "pulsoid":
            return await self.pulsoid.link(user, pasted)
        if pasted.strip():
            return await self.finish_link(user, pasted, notify=notify)
        return await self.spotify.link(user)

    async def unlink(self, user: ChatUser, account: str = "") -> Reply:
        """/unlink spotify | /unlink pulsoid: tokens deleted (Pulsoid's revoked too)."""
        provider = _provider(account, "unlink")
        if provider == "pulsoid":
            return await self.pulsoid.unlink(user)
        return await self.spotify.unlink(user)

    async def finish_link(self, user: ChatUser, text: str, *, notify: Notify = silent) -> Reply:
        """Finish a Spotify link from the address the browser landed on (pasted back)."""
        return await self.spotify.finish(user, text, notify)

    async def spotify_callback(self, query: dict[str, str]) -> Reply:
        """Spotify sent the browser back to the web server: finish that link."""
        return await self.spotify.callback(query)

    async def pulsoid_callback(self, state: str, code: str, error: str = "") -> str:
        """Pulsoid sent the browser back to the web server: the page text to show."""
        return await self.pulsoid.callback(state, code, error)

    async def forget(self, uid: int) -> None:
        """Revoke what can be revoked before the user's tokens are erased."""
        await self.pulsoid.forget(uid)


def _provider(account: str, verb: str) -> str:
    """ "spotify" or "pulsoid" from what the user wrote; BadInput naming the choices otherwise."""
    word = account.strip().lower()
    if not word:
        raise BadInput(f"Say which account: /{verb} spotify or /{verb} pulsoid.")
    if word != "pulsoid" and word not in PROVIDERS:
        raise BadInput(f"Say what to {verb}: /{verb} {' | '.join(PROVIDERS)}.")
    return word
