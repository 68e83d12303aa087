"""ReccoBeats audio features (free, no key) by Spotify id, with the real aiohttp client.

``GET {api_base}audio-features?ids=a,b,…`` (≤ 40 ids) answers ``{"content": [...]}``; each entry's
``href`` is the track's open.spotify.com link (its ``id`` is ReccoBeats' own). Unknown ids are
simply absent. 429 with Retry-After is honoured up to the wait budget, then ServiceBusy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
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


def parse_features(body: Any, asked: Sequence[str]) -> dict[str, dict[str, float]]:
    """Features per asked Spotify id from a ReccoBeats answer (entries for other ids ignored)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
        raise MalformedResponse(SERVICE)
    wanted = set(asked)
    out: dict[str, dict[str, float]] = {}
    for entry in body["content"]:
        if not isinstance(entry, Mapping):
            continue
        match = _SPOTIFY_ID.search(str(entry.get("href") or ""))
        track_id = match.group(1) if match else str(entry.get("id") or "")
        if track_id not in wanted or not _BARE_ID.match(track_id):
            continue
        values = {
            c: float(entry[c]) for c in AUDIO_FEATURES if isinstance(entry.get(c), int | float)
        }
        if values:
            out[track_id] = values
    return out


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
        """Features of the ids ReccoBeats knows (≤ ``batch_size`` ids)."""
        if len(track_ids) > self.batch_size:
            raise ValueError(f"ReccoBeats takes at most {self.batch_size} ids a call")
        if not track_ids:
            return {}
        async with self.opened() as session:
            assert isinstance(session, aiohttp.ClientSession)
            return await self._fetch(session, list(track_ids))

    async def _fetch(
        self, session: aiohttp.ClientSession, ids: list[str]
    ) -> dict[str, dict[str, float]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.max_wait
        attempt = 0
        while True:
            try:
                async with session.get(self.url, params={"ids": ",".join(ids)}) as response:
                    status = response.status
                    self.meter.outside_call(SERVICE, str(status))
                    if status == 200:
                        try:
                            body = await response.json(content_type=None)
                        except ValueError:
                            log.warning("ReccoBeats sent malformed JSON")
                            raise MalformedResponse(SERVICE) from None
                        return parse_features(body, ids)
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
