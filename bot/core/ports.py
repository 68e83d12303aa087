"""What the core needs from outside services and from one feature to another, as small Protocols.

The adapters in ``bot/sources`` implement the outside ones; the core never sees spotipy, requests or
aiohttp, and their methods are async (adapters run their blocking clients off the event loop
themselves). The feature packages of ``bot.core`` reach each other only through the ports at the
end of this module; ``bot/app.py`` passes the concrete objects in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    import pandas as pd

    from bot.core.model_jobs import Job, TrainedFile
    from bot.core.progress import Notify
    from recommender.context import Context
    from recommender.ranking import Steer

T = TypeVar("T")

#: Spotify's 2026 limits the core plans its calls around.
PAGE_LIMIT = 50
SEARCH_LIMIT = 10
SEARCH_MAX_OFFSET = 1000
PLAYLIST_ADD_CHUNK = 100


@dataclass(frozen=True)
class SpotifyProfile:
    """The linked Spotify account."""

    user_id: str
    display_name: str

    @property
    def label(self) -> str:
        """How the account is named to its owner."""
        if self.display_name and self.display_name != self.user_id:
            return f"{self.display_name} ({self.user_id})"
        return self.display_name or self.user_id


@dataclass(frozen=True)
class SpotifyTrack:
    """A track as a page of the Web API describes it (``added_at`` only in saved/playlist pages)."""

    track_id: str
    name: str
    artists: tuple[str, ...]
    album: str = ""
    duration_ms: float | None = None
    explicit: bool | None = None
    release_year: int | None = None
    isrc: str = ""
    added_at: str | None = None

    @property
    def uri(self) -> str:
        """The ``spotify:track:`` URI."""
        return f"spotify:track:{self.track_id}"


@dataclass(frozen=True)
class SpotifyArtist:
    """An artist of a top-artists page."""

    artist_id: str
    name: str


@dataclass(frozen=True)
class SpotifyPlaylist:
    """A playlist: who owns it, how many items it holds and its open.spotify.com link."""

    playlist_id: str
    name: str
    owner_id: str = ""
    collaborative: bool = False
    total: int = 0
    url: str = ""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paged answer: its items and the total the whole list holds."""

    items: tuple[T, ...]
    total: int
    offset: int = 0


class SpotifyAccount(Protocol):
    """One linked user's Spotify (the 2026 endpoints only)."""

    async def profile(self) -> SpotifyProfile:
        """``GET /me``."""
        ...

    async def saved_tracks(self, offset: int, limit: int) -> Page[SpotifyTrack]:
        """``GET /me/tracks``."""
        ...

    async def top_tracks(self, time_range: str, offset: int, limit: int) -> Page[SpotifyTrack]:
        """``GET /me/top/tracks`` for short|medium|long."""
        ...

    async def top_artists(self, time_range: str, offset: int, limit: int) -> Page[SpotifyArtist]:
        """``GET /me/top/artists`` for short|medium|long."""
        ...

    async def playlists(self, offset: int, limit: int) -> Page[SpotifyPlaylist]:
        """``GET /me/playlists`` (owned and followed)."""
        ...

    async def playlist_items(self, playlist_id: str, offset: int, limit: int) -> Page[SpotifyTrack]:
        """``GET /playlists/{id}/items`` (owned or collaborative playlists only)."""
        ...

    async def search_tracks(self, query: str, offset: int, limit: int) -> list[SpotifyTrack]:
        """``GET /search?type=track`` (limit ≤ 10, offset ≤ 1000)."""
        ...

    async def track(self, track_id: str) -> SpotifyTrack | None:
        """``GET /tracks/{id}`` (one track; the batch form is gone); None if Spotify has none."""
        ...

    async def create_playlist(self, name: str, description: str, public: bool) -> SpotifyPlaylist:
        """``POST /me/playlists``."""
        ...

    async def add_to_playlist(self, playlist_id: str, uris: Sequence[str]) -> None:
        """``POST /playlists/{id}/items`` (≤ 100 URIs)."""
        ...

    async def audio_features(self, track_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """The legacy ``GET /audio-features`` (old apps only); unknown ids are absent."""
        ...


class SpotifyPort(Protocol):
    """The Spotify app: authorisation, linking, and each linked user's account."""

    def authorize_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        """The authorization-code + PKCE URL to send the user to."""
        ...

    async def link(
        self, user_id: int, code: str, verifier: str, redirect_uri: str
    ) -> SpotifyProfile:
        """Exchange the code, store the tokens (encrypted) and name the account."""
        ...

    async def unlink(self, user_id: int) -> bool:
        """Delete the user's tokens; True if there were any."""
        ...

    async def linked_name(self, user_id: int) -> str | None:
        """The linked account's name, or None if not linked."""
        ...

    async def account(self, user_id: int) -> SpotifyAccount:
        """The user's account; NeedsLink if not linked."""
        ...


class FeatureSource(Protocol):
    """One link of the feature-source chain: audio features by Spotify id, ``batch_size`` at a time."""

    name: str
    batch_size: int
    concurrency: int

    def opened(self) -> AbstractAsyncContextManager[object]:
        """A context inside which ``features`` may be called (shares connections)."""
        ...

    async def features(self, track_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Features of the ids the source knows; unknown ids are simply absent."""
        ...


class Player(Protocol):
    """Queues tracks on a listener's own player (workout mode queues each track it picks)."""

    async def can_queue(self, user_id: int) -> bool:
        """True when the user linked a player and granted the scope to control it."""
        ...

    async def queue(self, user_id: int, track_id: str) -> None:
        """Add the Spotify track ``track_id`` to the user's queue (UserFacingError if it can't)."""
        ...


class JobRunner(Protocol):
    """Where model work runs: worker processes (the embedded pool, or ``beatmatch worker``s on a
    job engine), never the bot's own process. ``bot.core.model_work`` queues in front of it."""

    @property
    def capacity(self) -> int:
        """How many jobs it runs at once."""
        ...

    async def run(self, job: Job) -> TrainedFile:
        """Do ``job`` in a worker; TrainingRefused when the data can't make a model, WorkerLost
        when the worker died under it."""
        ...

    async def close(self) -> None:
        """Stop at once: running jobs are abandoned, workers of the embedded pool end."""
        ...


# -- between the feature packages --------------------------------------------------------------

#: (user id, context, how many, track ids to leave out, goal-mode steering) → [(track id, reason)];
#: blocking. The taste feature's picker; workouts and the digest use it.
Picker = Callable[[int, "Context", int, set[str], "Steer | None"], list[tuple[str, str]]]
#: (user id, track ids) → None; blocking. A list (a workout's, the digest's) says what it showed the
#: listener, so that the next lists move on from it (the taste feature's ``TastePicker.remember``).
ShownRecorder = Callable[[int, list[str]], None]


class LibraryReads(Protocol):
    """Reading a linked user's Spotify library (the taste feature does it; linking starts it)."""

    def start(self, user_id: int, notify: Notify, profile: SpotifyProfile | None = None) -> object:
        """Start reading in the background, replacing a read under way."""
        ...

    def cancel(self, user_id: int) -> None:
        """Stop a read under way (unlink, forget)."""
        ...


class HeartContexts(Protocol):
    """The music context a user's live workout asks for (the workout feature knows it)."""

    def context(self, user_id: int) -> Context | None:
        """The live heart's context, None without a running workout."""
        ...


class GenreGuesser(Protocol):
    """The genre classifier of the current catalog (the lookup feature holds it)."""

    @property
    def ready(self) -> bool:
        """True when a prediction will not have to train first."""
        ...

    def top_k(self, tracks: pd.DataFrame, k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest genres of each track with probabilities (blocking; may train)."""
        ...
