"""ReccoBeats audio features (free, no key) by Spotify id, with the real aiohttp client.

``GET {api_base}audio-features?ids=a,b,…`` (≤ 40 ids) answers ``{"content": [...]}``; each entry's
``href`` is the track's open.spotify.com link (its ``id`` is ReccoBeats' own). Unknown ids are
simply absent. 429 with Retry-After is honoured up to the wait budget, then ServiceBusy.

For the tracks it has features of, ``GET {api_base}track?ids=…`` then adds ``popularity`` and
``durationMs``, which Spotify no longer gives (popularity) and which tell genres apart the best
after the sound (unseen-artist top-1 0.35 → 0.50, ``bench/quality_genre.py``). Those details are a
bonus: when that call fails the features still count and it is not asked for
``DETAILS_PAUSE_SECONDS`` (its retries would slow every fill), and a service without the endpoint
(404) is not asked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

import aiohttp

from bot.core.errors import ServiceBusy
from bot.core.metrics import NO_METER, Meter
from bot.sources.backoff import MalformedResponse, RetryPolicy, busy_message, retry_after_seconds
from recommender.tracks import AUDIO_FEATURES

log = logging.getLogger(__name__)
_SPOTIFY_ID = re.compile(r"track/([A-Za-z0-9]{22})")
_BARE_ID = re.compile(r"^[A-Za-z0-9]{22}$")
SERVICE = "ReccoBeats"
#: Track details ReccoBeats gives beside the features: its field → ours, and the values allowed.
DETAILS = {"popularity": ("popularity", 0.0, 100.0), "durationMs": ("duration_ms", 1.0, 864e5)}
#: After ``/track`` failed (after its retries), fills go on without it for this long.
DETAILS_PAUSE_SECONDS = 300.0

Parser = Callable[[Any, Sequence[str]], dict[str, dict[str, float]]]


def _entries(body: Any, asked: Sequence[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(Spotify id, entry) of each entry of a ReccoBeats answer about one of ``asked``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
        raise MalformedResponse(SERVICE)
    wanted = set(asked)
    for entry in body["content"]:
        if not isinstance(entry, Mapping):
            continue
        match = _SPOTIFY_ID.search(str(entry.get("href") or ""))
        track_id = match.group(1) if match else str(entry.get("id") or "")
        if track_id in wanted and _BARE_ID.match(track_id):
            yield track_id, entry


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def parse_features(body: Any, asked: Sequence[str]) -> dict[str, dict[str, float]]:
    """Features per asked Spotify id from a ReccoBeats answer (entries for other ids ignored)."""
    out: dict[str, dict[str, float]] = {}
    for track_id, entry in _entries(body, asked):
        values = {c: v for c in AUDIO_FEATURES if (v := _number(entry.get(c))) is not None}
        if values:
            out[track_id] = values
    return out


def parse_details(body: Any, asked: Sequence[str]) -> dict[str, dict[str, float]]:
    """Popularity and duration per asked Spotify id from a ``/track`` answer (values outside
    their range left out)."""
    out: dict[str, dict[str, float]] = {}
    for track_id, entry in _entries(body, asked):
        values = {}
        for field, (ours, low, high) in DETAILS.items():
            value = _number(entry.get(field))
            if value is not None and low <= value <= high:
                values[ours] = value
        if values:
            out[track_id] = values
    return out


class _NoSuchEndpoint(Exception):
    """ReccoBeats answered 404 to a path, not to an id (unknown ids are simply absent)."""


class ReccoBeats:
    """A feature source of the chain: ``batch_size`` ids a call, ``concurrency`` calls at once."""

    name = "reccobeats"
    batch_size = 40
    concurrency = 6

    def __init__(
        self, api_base: str, policy: RetryPolicy | None = None, meter: Meter = NO_METER
    ) -> None:
        self.meter = meter  # each call's status, each retry
        self.url = api_base.rstrip("/") + "/audio-features"
        self.details_url = api_base.rstrip("/") + "/track"
        self.details = True  # False once the service said it has no /track
        self._details_resume = 0.0  # time.monotonic() from which /track is asked again
        self.policy = policy or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None
        self._users = 0

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[object]:
        """One shared HTTP session while anyone is inside; closed when the last one leaves."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout)
            )
        session = self._session
        self._users += 1
        try:
            yield session
        finally:
            self._users -= 1
            if self._users == 0 and self._session is session:
                self._session = None
                await session.close()

    async def features(self, track_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """Features of the ids ReccoBeats knows (≤ ``batch_size`` ids), with their popularity
        and duration when its ``/track`` gives them."""
        if len(track_ids) > self.batch_size:
            raise ValueError(f"ReccoBeats takes at most {self.batch_size} ids a call")
        if not track_ids:
            return {}
        async with self.opened() as session:
            assert isinstance(session, aiohttp.ClientSession)
            found = await self._fetch(session, self.url, list(track_ids), parse_features)
            if found and self.details and time.monotonic() >= self._details_resume:
                for track_id, values in (await self._details(session, list(found))).items():
                    found[track_id].update(values)
            return found

    async def _details(
        self, session: aiohttp.ClientSession, ids: list[str]
    ) -> dict[str, dict[str, float]]:
        """Popularity and duration of ``ids``; nothing when ReccoBeats can't say now."""
        try:
            return await self._fetch(session, self.details_url, ids, parse_details)
        except _NoSuchEndpoint:
            log.info("ReccoBeats has no /track here: audio features only from now on")
            self.details = False
        except (ServiceBusy, MalformedResponse) as error:
            self._details_resume = time.monotonic() + DETAILS_PAUSE_SECONDS
            log.info(
                "ReccoBeats track details skipped for %.0f s: %s",
                DETAILS_PAUSE_SECONDS,
                error.message,
            )
        return {}

    async def _fetch(
        self, session: aiohttp.ClientSession, url: str, ids: list[str], parse: Parser
    ) -> dict[str, dict[str, float]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.max_wait
        attempt = 0
        while True:
            try:
                async with session.get(url, params={"ids": ",".join(ids)}) as response:
                    status = response.status
                    self.meter.outside_call(SERVICE, str(status))
                    if status == 200:
                        try:
                            body = await response.json(content_type=None)
                        except ValueError:
                            log.warning("ReccoBeats sent malformed JSON")
                            raise MalformedResponse(SERVICE) from None
                        return parse(body, ids)
                    if status == 404 and url == self.details_url:
                        raise _NoSuchEndpoint
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
            except (TimeoutError, aiohttp.ClientError) as error:
                self.meter.outside_call(SERVICE, "network")
                delay = self._delay(attempt + 1)
                if attempt >= self.policy.server_retries or loop.time() + delay > deadline:
                    log.warning("ReccoBeats unreachable: %s", type(error).__name__)
                    raise ServiceBusy(f"{SERVICE} didn't answer in time.") from None
                attempt += 1
                self.meter.retry(SERVICE, "network")
                await asyncio.sleep(delay)
                continue
            if status == 429:
                log.info("ReccoBeats asked to wait %.1f s", wait)
                await self._pause(wait, deadline)
                self.meter.retry(SERVICE, "429")
                continue
            delay = self._delay(attempt + 1)
            if (
                status >= 500
                and attempt < self.policy.server_retries
                and loop.time() + delay <= deadline
            ):
                attempt += 1
                self.meter.retry(SERVICE, "5xx")
                await asyncio.sleep(delay)
                continue
            log.warning("ReccoBeats answered HTTP %s", status)
            raise ServiceBusy(f"{SERVICE} answered HTTP {status}.")

    def _delay(self, attempt: int) -> float:
        return self.policy.first_delay * (2 ** (attempt - 1))

    async def _pause(self, seconds: float, deadline: float) -> None:
        if asyncio.get_running_loop().time() + seconds > deadline:
            raise ServiceBusy(busy_message(SERVICE, seconds))
        await asyncio.sleep(seconds)
