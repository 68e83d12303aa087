"""Linking Spotify: where its authorisation sends the browser back, and the addresses users paste.

A pasted callback address is recognised by its shape only (a loopback IP literal, ``/callback``,
a ``state``); its query string is parsed here and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bot.core.errors import BadInput
from bot.core.oauth import StateKeeper
from bot.core.ports import SpotifyPort

PROVIDERS: tuple[str, ...] = ("spotify",)
LOOPBACK_HOSTS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class SpotifyLinks:
    """The Spotify app and where its authorisation sends the browser back."""

    gateway: SpotifyPort
    states: StateKeeper
    redirect_port: int = 8888
    public_url: str = ""

    @property
    def loopback_uri(self) -> str:
        """The paste-back redirect (a loopback IP literal: Spotify refuses ``localhost``)."""
        return f"http://127.0.0.1:{self.redirect_port}/callback"

    @property
    def public_uri(self) -> str:
        """The web server's callback, when ``web.public_url`` is configured."""
        return f"{self.public_url.rstrip('/')}/callback/spotify"

    @property
    def redirect_uri(self) -> str:
        """Where Spotify sends the browser back."""
        return self.public_uri if self.public_url else self.loopback_uri


@dataclass(frozen=True)
class Callback:
    """The parts of a callback address that matter (the query is never logged)."""

    state: str
    code: str
    error: str
    loopback: bool


def looks_like_callback(text: str) -> bool:
    """True if ``text`` is a pasted loopback callback address (``http://127.0.0.1:PORT/callback?…``)."""
    parts = text.strip().split()
    if len(parts) != 1:
        return False
    try:
        split = urlsplit(parts[0])
    except ValueError:  # not an address at all, e.g. an unclosed "[" around the host
        return False
    return (
        split.scheme in ("http", "https")
        and (split.hostname or "") in LOOPBACK_HOSTS
        and split.path.rstrip("/").startswith("/callback")
        and "state=" in split.query
    )


def parse_callback(text: str, public_url: str = "") -> Callback:
    """The state, code and error of a pasted callback address; BadInput if it isn't one."""
    try:
        split = urlsplit(text.strip())
    except ValueError:  # e.g. an unclosed "[" around the host
        split = urlsplit("")
    public = urlsplit(public_url) if public_url else None
    loopback = (split.hostname or "") in LOOPBACK_HOSTS
    ours = loopback or (public is not None and split.netloc == public.netloc)
    if split.scheme not in ("http", "https") or not ours or "/callback" not in split.path:
        raise BadInput(
            "That isn't the address your browser landed on after allowing access. It starts "
            "with http://127.0.0.1:…/callback?code=… — copy it whole from the address bar."
        )
    query = parse_qs(split.query)

    def one(key: str) -> str:
        return query.get(key, [""])[0]

    if not one("state"):
        raise BadInput("That address has no state=…; copy the whole address from the address bar.")
    return Callback(state=one("state"), code=one("code"), error=one("error"), loopback=loopback)
