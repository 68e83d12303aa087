"""/link pulsoid and /unlink pulsoid, and Pulsoid's OAuth callback.

Which way a user links depends on the deployment: with ``web.public_url`` set, the OAuth code flow
through the callback server; with only a client id, the device flow (type a code at pulsoid.net);
and always a token pasted from pulsoid.net/ui/keys.
"""

from __future__ import annotations

import logging
import time

from bot.core.accounts.pulsoid import PROVIDER, PulsoidAccounts, PulsoidRejected, linked_text
from bot.core.errors import BadInput, UserFacingError
from bot.core.oauth import STATE_TTL_SECONDS
from bot.core.replies import ChatUser, Moment, Reply
from bot.core.users import Users

log = logging.getLogger(__name__)
#: A Pulsoid access token is a UUID; anything much longer or shorter is not one.
TOKEN_CHARS = (16, 200)
NOT_SET_UP = "Heart-rate linking (Pulsoid) is not set up on this bot."


class PulsoidLinks:
    """What users say to link Pulsoid (``accounts`` None: Pulsoid isn't set up here)."""

    def __init__(self, users: Users, accounts: PulsoidAccounts | None) -> None:
        self.users = users
        self.accounts = accounts

    def _accounts(self) -> PulsoidAccounts:
        if self.accounts is None:
            raise UserFacingError(NOT_SET_UP)
        return self.accounts

    async def link(self, user: ChatUser, token: str = "") -> Reply:
        """Link Pulsoid: a pasted token, else the OAuth code flow or the device flow."""
        accounts = self._accounts()
        uid = await self.users.uid(user)
        token = token.strip()
        if token:
            if not TOKEN_CHARS[0] <= len(token) <= TOKEN_CHARS[1] or any(
                c.isspace() for c in token
            ):
                raise BadInput(
                    "That doesn't look like a Pulsoid token. Copy it from pulsoid.net/ui/keys: "
                    "/link pulsoid TOKEN."
                )
            try:
                info = await accounts.link_pasted(uid, token)
            except PulsoidRejected:
                raise BadInput(
                    "Pulsoid doesn't accept that token (unknown, expired, or without heart-rate "
                    "access). Copy a fresh one from pulsoid.net/ui/keys."
                ) from None
            return Reply(
                title="Pulsoid",
                text=linked_text(info)
                + " Delete the message with your token now: it is stored encrypted here.",
                private=True,
            )
        if not accounts.oauth_enabled:
            raise BadInput(
                "This bot has no Pulsoid client id, so paste a token instead: create one at "
                "pulsoid.net/ui/keys, then /link pulsoid TOKEN."
            )
        if accounts.public_url:
            url = await accounts.start_code_flow(uid)
            expiry = Moment.within(STATE_TTL_SECONDS, "10 minutes", time.time())
            return Reply(
                title="Link Pulsoid",
                text=f"Open this address and allow heart-rate access (valid {expiry.text}):\n{url}",
                private=True,
                moments=(expiry,),
            )
        auth = await accounts.start_device_flow(uid)
        where = auth.verification_uri_complete or auth.verification_uri
        expiry = Moment.within(auth.expires_in, f"{auth.expires_in / 60:.0f} minutes", time.time())
        return Reply(
            title="Link Pulsoid",
            text=(
                f"Open {where} and enter the code {auth.user_code} "
                f"(valid {expiry.text}). I'll tell you when it's linked."
            ),
            private=True,
            moments=(expiry,),
        )

    async def unlink(self, user: ChatUser) -> Reply:
        """Forget the Pulsoid link: tokens revoked at Pulsoid and deleted here."""
        accounts = self._accounts()
        if await accounts.unlink(await self.users.uid(user)):
            return Reply(title="Pulsoid", text="Pulsoid unlinked; its tokens are deleted.")
        return Reply(title="Pulsoid", text="No Pulsoid account was linked.")

    async def callback(self, state: str, code: str, error: str = "") -> str:
        """The OAuth callback (called by the web server): the page text to show in the browser.

        Raises UserFacingError (the web server's "Not linked" page, HTTP 400, as Spotify's) when
        nothing was linked: cancelled at Pulsoid, or a state that is unknown, expired or used.
        """
        accounts = self._accounts()
        if error or not code:
            raise BadInput(
                "Pulsoid linking was cancelled; nothing was linked. Run /link pulsoid in the chat "
                "to try again."
            )
        await accounts.complete_code_flow(state, code)  # LinkExpired for a bad or used state
        return f"{PROVIDER.title()} is linked. You can close this tab and go back to the chat."

    async def forget(self, uid: int) -> None:
        """Revoke at Pulsoid (best effort) and stop a device-flow poll still waiting."""
        if self.accounts is not None:
            await self.accounts.unlink(uid)
