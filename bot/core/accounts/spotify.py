"""/link spotify and /unlink spotify: authorization code + PKCE, finished by the web callback or a
pasted-back address.

The state is a single-use, signed, expiring nonce kept server-side with the chat user and the
verifier (bot.core.oauth); whoever finishes the link, the chat user comes from that stored row.
Once linked, the library is read in the background (the ``LibraryReads`` port: the taste feature).
"""

from __future__ import annotations

import asyncio
import time

from bot.core.accounts.spotify_links import Callback, SpotifyLinks, parse_callback
from bot.core.delivery import Outbox
from bot.core.errors import BadInput, SpotifyNotSetUp
from bot.core.oauth import STATE_TTL_SECONDS
from bot.core.ports import LibraryReads
from bot.core.progress import Notify, silent
from bot.core.replies import ChatUser, Moment, Reply
from bot.core.users import Users


class SpotifyAccounts:
    """Links and unlinks users' Spotify accounts (``links`` None: no Spotify app configured)."""

    def __init__(
        self,
        users: Users,
        links: SpotifyLinks | None,
        reads: LibraryReads | None,
        outbox: Outbox,
    ) -> None:
        self.users = users
        self.links = links
        self.reads = reads
        self.outbox = outbox

    def _links(self) -> SpotifyLinks:
        if self.links is None:
            raise SpotifyNotSetUp
        return self.links

    async def link(self, user: ChatUser) -> Reply:
        """A private authorisation link (it works once, for 10 minutes)."""
        links = self._links()
        uid = await self.users.uid(user)
        pending = await asyncio.to_thread(links.states.issue, uid, "spotify")
        url = links.gateway.authorize_url(links.redirect_uri, pending.state, pending.challenge)
        current = await links.gateway.linked_name(uid)
        expiry = Moment.within(STATE_TTL_SECONDS, "for 10 minutes", time.time())
        lines = [f"Open this link and allow access (it works once, {expiry.text}):\n{url}"]
        if links.public_url:
            lines.append("I'll confirm here as soon as Spotify sends you back.")
        else:
            lines.append(
                f"Your browser then lands on an address starting with {links.loopback_uri} — "
                "the page won't load, that's expected. Copy that whole address from the address "
                "bar and send it to me here."
            )
        if current:
            lines.append(f"(You're linked as {current}; linking again replaces it.)")
        return Reply(
            title="Link your Spotify account",
            text="\n".join(lines),
            private=True,
            moments=(expiry,),
        )

    async def finish(self, user: ChatUser, text: str, notify: Notify = silent) -> Reply:
        """Finish a link from the address the browser landed on (paste-back)."""
        links = self._links()
        callback = parse_callback(text, links.public_url)
        uid = await self.users.uid(user)
        done = await asyncio.to_thread(links.states.redeem, callback.state, "spotify", uid)
        redirect = links.loopback_uri if callback.loopback else links.public_uri
        return await self._complete(done.user_id, done.verifier, callback, redirect, notify)

    async def callback(self, query: dict[str, str]) -> Reply:
        """Finish a link from the web server's callback; the chat user comes from the state."""
        links = self._links()
        callback = Callback(
            state=query.get("state", ""),
            code=query.get("code", ""),
            error=query.get("error", ""),
            loopback=False,
        )
        if not callback.state:
            raise BadInput("This address has no state: start again with /link spotify.")
        done = await asyncio.to_thread(links.states.redeem, callback.state, "spotify")
        uid = done.user_id

        async def push(message: str) -> None:
            await self.outbox.send(uid, Reply(text=message))

        reply = await self._complete(uid, done.verifier, callback, links.public_uri, push)
        await self.outbox.send(uid, reply)
        return reply

    async def _complete(
        self, uid: int, verifier: str, callback: Callback, redirect_uri: str, notify: Notify
    ) -> Reply:
        if callback.error:
            return Reply(
                text=f"Spotify linking was cancelled ({callback.error[:40]}); nothing was linked. "
                "Run /link spotify to try again.",
                error=True,
            )
        if not callback.code:
            raise BadInput(
                "That address has no code=…; copy the whole address from the address bar."
            )
        profile = await self._links().gateway.link(uid, callback.code, verifier, redirect_uri)
        if self.reads is not None:
            self.reads.start(uid, notify, profile)
        return Reply(
            title="Spotify linked",
            text=f"Linked to the Spotify account {profile.label}. Reading your saved tracks, "
            "top lists and playlists now; I'll report here as it goes, then learn your taste.",
        )

    async def unlink(self, user: ChatUser) -> Reply:
        """Delete the tokens (what was learned from the library stays until /forget)."""
        uid = await self.users.uid(user)
        if self.reads is not None:
            self.reads.cancel(uid)
        removed = await self.links.gateway.unlink(uid) if self.links is not None else False
        if not removed:
            return Reply(text="No Spotify account was linked.")
        return Reply(
            text="Unlinked Spotify: your tokens are deleted. What I learned from your library "
            "stays until /forget."
        )
