"""/link, /unlink, /playlist and the Spotify side of /recommend (a mixin of BeatmatchService).

Linking is authorization code + PKCE. The state is a single-use, signed, expiring nonce kept
server-side with the chat user and the verifier (bot.core.oauth); whoever finishes the link —
the web callback or a pasted-back address — the chat user comes from that stored row.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

import pandas as pd

from bot.core.errors import BadInput, NeedsLink, UserFacingError
from bot.core.ports import (
    PLAYLIST_ADD_CHUNK,
    SEARCH_LIMIT,
    SEARCH_MAX_OFFSET,
    SpotifyProfile,
    SpotifyTrack,
)
from bot.core.progress import Notify, silent
from bot.core.replies import ChatUser, Reply
from bot.core.spotify_linking import (
    PROVIDERS,
    Callback,
    SpotifyLinking,
    parse_callback,
    random_query,
)
from bot.core.taste_sync import SyncReport, gather_or_cancel, store_with_features
from recommender.tracks import AUDIO_FEATURES
from storage.repository import Repository

log = logging.getLogger(__name__)
Pusher = Callable[[int, Reply], Awaitable[None]]
MIN_FEATURES = 6
SYNCED_AT = "spotify_synced_at"  # user setting: when the library was last read (tried)


class SpotifyCommands:
    """Needs ``uid``, ``repo``, ``schedule_training``, ``recommend`` and ``_last_picks``."""

    repo: Repository
    spotify: SpotifyLinking | None
    link_notifier: Pusher | None
    _spotify_syncs: dict[int, asyncio.Task[SyncReport]]
    _refreshing: set[int]  # users whose running read is a background refresh
    _last_picks: dict[int, list[str]]
    _rng: random.Random

    async def uid(self, user: ChatUser) -> int:  # provided by BeatmatchService
        raise NotImplementedError

    def schedule_training(self, uid: int) -> object:  # provided by BeatmatchService
        raise NotImplementedError

    async def recommend(
        self,
        user: ChatUser,
        count: int | str | None = None,
        mood: str | None = None,
        bpm: int | str | None = None,
        *,
        playlist: str | None = None,
        notify: Notify = silent,
    ) -> Reply:  # provided by BeatmatchService
        raise NotImplementedError

    def _linking(self) -> SpotifyLinking:
        if self.spotify is None:
            raise UserFacingError(
                "Spotify isn't set up on this bot (the operator sets spotify.client_id). "
                "You can still /import an Exportify CSV."
            )
        return self.spotify

    @staticmethod
    def _provider(words: Sequence[str], verb: str) -> str:
        provider = words[0].lower() if words else ""
        if provider not in PROVIDERS:
            raise BadInput(f"Say what to {verb}: /{verb} {' | '.join(PROVIDERS)}.")
        return provider

    # -- linking ----------------------------------------------------------------------------
    async def link(self, user: ChatUser, words: Sequence[str], *, notify: Notify = silent) -> Reply:
        """/link spotify: a private authorisation link (or, with an address, finish a paste-back)."""
        self._provider(words, "link")
        if len(words) > 1:
            return await self.finish_link(user, " ".join(words[1:]), notify=notify)
        linking = self._linking()
        uid = await self.uid(user)
        pending = await asyncio.to_thread(linking.states.issue, uid, "spotify")
        url = linking.gateway.authorize_url(linking.redirect_uri, pending.state, pending.challenge)
        current = await linking.gateway.linked_name(uid)
        lines = [f"Open this link and allow access (it works once, for 10 minutes):\n{url}"]
        if linking.public_url:
            lines.append("I'll confirm here as soon as Spotify sends you back.")
        else:
            lines.append(
                f"Your browser then lands on an address starting with {linking.loopback_uri} — "
                "the page won't load, that's expected. Copy that whole address from the address "
                "bar and send it to me here."
            )
        if current:
            lines.append(f"(You're linked as {current}; linking again replaces it.)")
        return Reply(title="Link your Spotify account", text="\n".join(lines), private=True)

    async def finish_link(self, user: ChatUser, text: str, *, notify: Notify = silent) -> Reply:
        """Finish a link from the address the browser landed on (paste-back)."""
        linking = self._linking()
        callback = parse_callback(text, linking.public_url)
        uid = await self.uid(user)
        done = await asyncio.to_thread(linking.states.redeem, callback.state, "spotify", uid)
        redirect = linking.loopback_uri if callback.loopback else linking.public_uri
        return await self._complete(done.user_id, done.verifier, callback, redirect, notify)

    async def complete_callback(self, provider: str, query: dict[str, str]) -> Reply:
        """Finish a link from the web server's callback; the chat user comes from the state."""
        if provider not in PROVIDERS:
            raise BadInput("Unknown link.")
        linking = self._linking()
        callback = Callback(
            state=query.get("state", ""),
            code=query.get("code", ""),
            error=query.get("error", ""),
            loopback=False,
        )
        if not callback.state:
            raise BadInput("This address has no state: start again with /link spotify.")
        done = await asyncio.to_thread(linking.states.redeem, callback.state, provider)
        uid = done.user_id

        async def push(message: str) -> None:
            if self.link_notifier is not None:
                await self.link_notifier(uid, Reply(text=message))

        reply = await self._complete(uid, done.verifier, callback, linking.public_uri, push)
        if self.link_notifier is not None:
            await self.link_notifier(uid, reply)
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
        profile = await self._linking().gateway.link(uid, callback.code, verifier, redirect_uri)
        self._start_sync(uid, notify, profile)
        return Reply(
            title="Spotify linked",
            text=f"Linked to the Spotify account {profile.label}. Reading your saved tracks, "
            "top lists and playlists now; I'll report here as it goes, then learn your taste.",
        )

    async def unlink(self, user: ChatUser, words: Sequence[str]) -> Reply:
        """/unlink spotify: delete the tokens."""
        self._provider(words, "unlink")
        uid = await self.uid(user)
        task = self._spotify_syncs.pop(uid, None)
        if task is not None and not task.done():
            task.cancel()
        removed = await self._linking().gateway.unlink(uid) if self.spotify is not None else False
        if not removed:
            return Reply(text="No Spotify account was linked.")
        return Reply(
            text="Unlinked Spotify: your tokens are deleted. What I learned from your library "
            "stays until /forget."
        )

    # -- reading taste ------------------------------------------------------------------------
    def _start_sync(
        self,
        uid: int,
        notify: Notify,
        profile: SpotifyProfile | None = None,
        refresh: bool = False,
    ) -> asyncio.Task[SyncReport]:
        old = self._spotify_syncs.get(uid)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.get_running_loop().create_task(self.sync_spotify(uid, notify, profile))
        task.add_done_callback(_sync_done)
        self._spotify_syncs[uid] = task
        if refresh:  # a re-read nobody waits for: the present model answers meanwhile
            self._refreshing.add(uid)
            task.add_done_callback(lambda _: self._refreshing.discard(uid))
        else:
            self._refreshing.discard(uid)
        return task

    async def refresh_spotify_if_due(self, uid: int) -> bool:
        """Read a linked library again, in the background, when the last read is older than
        ``refresh_seconds`` (new saved tracks and playlists get learned); True if one started."""
        linking = self.spotify
        if linking is None or linking.refresh_seconds <= 0:
            return False
        running = self._spotify_syncs.get(uid)
        if running is not None and not running.done():
            return False
        settings = await asyncio.to_thread(self.repo.user_settings, uid)
        last = float(settings.get(SYNCED_AT) or 0.0)
        if time.time() - last < linking.refresh_seconds:
            return False
        if await linking.gateway.linked_name(uid) is None:
            return False
        self._start_sync(uid, silent, refresh=True)
        return True

    async def sync_spotify(
        self, uid: int, notify: Notify = silent, profile: SpotifyProfile | None = None
    ) -> SyncReport:
        """Read the user's Spotify taste into the library, then retrain in the background."""
        linking = self._linking()
        safe = _safe(notify)
        # When it was last tried: a refresh that fails is not retried on every command.
        await asyncio.to_thread(self.repo.update_user_settings, uid, **{SYNCED_AT: time.time()})
        try:
            account = await linking.gateway.account(uid)
            report = await linking.sync.run(uid, account, safe, profile)
        except UserFacingError as error:
            await safe(f"Reading your Spotify library stopped: {error.message}")
            raise
        self.schedule_training(uid)
        await safe(f"{report.summary()} Learning your taste now; /recommend when you're ready.")
        return report

    async def wait_for_spotify(self, uid: int, notify: Notify = silent) -> None:
        """If the user's library is still being read, wait for it (its failure is reported there)."""
        task = self._spotify_syncs.get(uid)
        if task is None or task.done() or uid in self._refreshing:
            return
        await notify("Still reading your Spotify library; your recommendations follow right after…")
        with contextlib.suppress(Exception):
            await asyncio.shield(task)

    # -- search candidates and playlists ----------------------------------------------------------
    async def spotify_candidates(
        self, uid: int, excluded: set[str]
    ) -> tuple[pd.DataFrame | None, str]:
        """Random search tracks with known features, minus ``excluded``; (None, note) on trouble."""
        linking = self.spotify
        if linking is None or await linking.gateway.linked_name(uid) is None:
            return None, ""
        rng = self._rng
        queries = [
            (random_query(rng), rng.randint(0, SEARCH_MAX_OFFSET - SEARCH_LIMIT))
            for _ in range(linking.search_pages)
        ]
        try:
            account = await linking.gateway.account(uid)
            pages = await gather_or_cancel(
                *(account.search_tracks(q, offset, SEARCH_LIMIT) for q, offset in queries)
            )
        except UserFacingError as error:
            log.info("spotify search skipped for user %s: %s", uid, type(error).__name__)
            return None, f"(Spotify search skipped: {error.message})"
        found: list[SpotifyTrack] = [t for page in pages for t in page]
        fresh = [t for t in found if t.track_id not in excluded]
        if not fresh:
            return None, ""
        extra = linking.sync.extra_sources(account)
        frame, _ = await store_with_features(self.repo, linking.sync.chain, fresh, extra)
        known = frame[frame[list(AUDIO_FEATURES)].notna().sum(axis=1) >= MIN_FEATURES]
        return known, ""

    def start_spotify_search(self, uid: int) -> asyncio.Task[tuple[pd.DataFrame | None, str]]:
        """Start ``spotify_candidates`` in the background (it never fails a recommendation)."""
        task = asyncio.get_running_loop().create_task(self.spotify_candidates(uid, set()))
        task.add_done_callback(_search_done)
        return task

    @staticmethod
    async def searched(
        task: asyncio.Task[tuple[pd.DataFrame | None, str]], excluded: set[str]
    ) -> tuple[pd.DataFrame | None, str]:
        """The search candidates of ``task`` minus ``excluded`` (None when there are none)."""
        try:
            frame, note = await task
        except Exception:
            return None, ""  # logged by _search_done; the catalog alone still answers
        if frame is not None:
            frame = frame[~frame.index.isin(list(excluded))]
        return (frame if frame is not None and len(frame) else None), note

    async def post_playlist(self, uid: int, track_ids: Sequence[str], name: str = "") -> str:
        """Create a private playlist of ``track_ids`` in their order; its link."""
        account = await self._linking().gateway.account(uid)
        title = name or f"beatmatch · {dt.date.today():%Y-%m-%d}"
        playlist = await account.create_playlist(
            title, "Picked by beatmatch from your taste, ordered for smooth transitions.", False
        )
        uris = [f"spotify:track:{t}" for t in track_ids]
        for start in range(0, len(uris), PLAYLIST_ADD_CHUNK):
            await account.add_to_playlist(
                playlist.playlist_id, uris[start : start + PLAYLIST_ADD_CHUNK]
            )
        return playlist.url

    async def require_spotify(self, uid: int) -> None:
        """NeedsLink unless the user linked Spotify (checked before work that needs it)."""
        linking = self._linking()
        if await linking.gateway.linked_name(uid) is None:
            raise NeedsLink(
                "Playlists go to your Spotify account: link it first with /link spotify."
            )

    async def playlist(self, user: ChatUser, name: str = "", *, notify: Notify = silent) -> Reply:
        """/playlist [name]: your last recommendations as a Spotify playlist (or fresh ones)."""
        uid = await self.uid(user)
        await self.require_spotify(uid)
        picks = self._last_picks.get(uid)
        if not picks:
            return await self.recommend(user, playlist=name or "yes", notify=notify)
        url = await self.post_playlist(uid, picks, name.strip()[:100])
        return Reply(
            title="Playlist created",
            text=f"Your last {len(picks)} recommendations, in their smooth order:\n{url}",
        )


def _safe(notify: Notify) -> Notify:
    """``notify`` that logs and swallows its own failures (a chat hiccup must not stop a sync)."""

    async def wrapped(message: str) -> None:
        try:
            await notify(message)
        except Exception:
            log.warning("a progress message could not be delivered", exc_info=True)

    return wrapped


def _search_done(task: asyncio.Task[tuple[pd.DataFrame | None, str]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Spotify search candidates failed", exc_info=task.exception())


def _sync_done(task: asyncio.Task[SyncReport]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, UserFacingError):
        log.error("reading a Spotify library failed", exc_info=error)
