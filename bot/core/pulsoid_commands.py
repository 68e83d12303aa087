"""/link pulsoid and /unlink pulsoid: the Pulsoid commands of the service (a mixin).

Which way a user links depends on the deployment: with ``web.public_url`` set, the OAuth code flow
through the callback server; with only a client id, the device flow (type a code at pulsoid.net);
and always a token pasted from pulsoid.net/ui/keys. Transport-agnostic like the rest of the core.
"""

from __future__ import annotations

import logging

from bot.core.errors import BadInput, UserFacingError
from bot.core.oauth import LinkExpired
from bot.core.pulsoid_accounts import PROVIDER, PulsoidAccounts, PulsoidRejected, linked_text
from bot.core.replies import ChatUser, Reply

log = logging.getLogger(__name__)
#: A Pulsoid access token is a UUID; anything much longer or shorter is not one.
TOKEN_CHARS = (16, 200)


class PulsoidCommands:
    """Needs ``uid`` and ``pulsoid`` from the service."""

    pulsoid: PulsoidAccounts | None = None

    async def uid(self, user: ChatUser) -> int:  # provided by BeatmatchService
        raise NotImplementedError

    def _accounts(self) -> PulsoidAccounts:
        if self.pulsoid is None:
            raise UserFacingError("Heart-rate linking (Pulsoid) is not set up on this bot.")
        return self.pulsoid

    async def link_pulsoid(self, user: ChatUser, token: str = "") -> Reply:
        """Link Pulsoid: a pasted token, else the OAuth code flow or the device flow."""
        accounts = self._accounts()
        uid = await self.uid(user)
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
            return Reply(
                title="Link Pulsoid",
                text=f"Open this address and allow heart-rate access (valid 10 minutes):\n{url}",
                private=True,
            )
        auth = await accounts.start_device_flow(uid)
        where = auth.verification_uri_complete or auth.verification_uri
        return Reply(
            title="Link Pulsoid",
            text=(
                f"Open {where} and enter the code {auth.user_code} "
                f"(valid {auth.expires_in / 60:.0f} minutes). I'll tell you when it's linked."
            ),
            private=True,
        )

    async def unlink_pulsoid(self, user: ChatUser) -> Reply:
        """Forget the Pulsoid link: tokens revoked at Pulsoid and deleted here."""
        accounts = self._accounts()
        uid = await self.uid(user)
        if await accounts.unlink(uid):
            return Reply(title="Pulsoid", text="Pulsoid unlinked; its tokens are deleted.")
        return Reply(title="Pulsoid", text="No Pulsoid account was linked.")

    async def pulsoid_callback(self, state: str, code: str, error: str = "") -> str:
        """The OAuth callback (called by the web server): the page text to show in the browser."""
        accounts = self._accounts()
        if error or not code:
            return "Pulsoid linking was cancelled. Run /link pulsoid in the chat to try again."
        try:
            await accounts.complete_code_flow(state, code)
        except LinkExpired as expired:
            return expired.message
        except UserFacingError as failure:
            return failure.message
        return f"{PROVIDER.title()} is linked. You can close this tab and go back to the chat."
