"""Pulsoid's real-time WebSocket as a HeartStream: reconnects, re-validation, REST fallback.

Frames are timed by their arrival (the monotonic clock, anchored once to the workout's wall-clock
start), never by ``measured_at``: a device clock can be 30 s off. When the socket drops, the
stream backs off 2 → 4 → 8 → 10 s (Pulsoid's official client), polls the REST "latest" endpoint
meanwhile so readings keep coming, and re-validates the token before reconnecting; a token
Pulsoid refuses ends the stream with PulsoidRejected (the manager asks the user to link again).
The token travels in the Authorization header only, so no URL or log line ever holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.core.accounts.pulsoid import PulsoidRejected, PulsoidUnavailable
from bot.sources.pulsoid import SERVICE, PulsoidClient, now_ms, parse_heart_rate

log = logging.getLogger(__name__)
TokenSource = Callable[[], Awaitable[str]]
#: A "latest" reading without a WebSocket frame to compare with must be this fresh (ms).
FRESH_MS = 60_000


class PulsoidHeartStream:
    """One user's live heart rate from Pulsoid (implements bot.core.workout.live.HeartStream)."""

    source = "pulsoid"

    def __init__(
        self,
        client: PulsoidClient,
        token: TokenSource,
        started_at: float,
        *,
        user_id: int = 0,
        first_token: str | None = None,
        backoff: tuple[float, float] = (2.0, 10.0),
        poll_interval: float = 1.0,
        heartbeat: float | None = 15.0,
    ) -> None:
        """``token`` returns a freshly validated access token (called before each reconnect);
        ``first_token`` is one validated just now, used for the first connection."""
        self.client = client
        self.token = token
        self.started_at = started_at
        self.user_id = user_id
        self.backoff = backoff
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self._first_token = first_token
        self.connected = False
        self.connects = 0
        self.malformed = 0
        self.last_measured_at: int | None = None

    def on_track(self, features: Mapping[str, Any] | Any | None) -> None:
        """A real heart hears the music by itself."""
        return None

    async def samples(self) -> AsyncGenerator[tuple[float, float], None]:
        """(seconds since the workout started, bpm) per frame, forever (until cancelled)."""
        loop = asyncio.get_running_loop()
        offset = time.time() - self.started_at - loop.time()
        last_t = float("-inf")
        delay = self.backoff[0]
        token = self._first_token
        while True:
            if token is None:
                try:
                    token = await self.token()  # re-validated: PulsoidRejected ends the stream
                except PulsoidUnavailable:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2.0, self.backoff[1])
                    continue
            async with contextlib.aclosing(self._socket(token)) as frames:
                async for _measured_at, hr in frames:
                    delay = self.backoff[0]  # a frame arrived: the connection is healthy
                    t = max(loop.time() + offset, last_t + 1e-3)
                    last_t = t
                    yield t, hr
            log.info("Pulsoid stream of user %s: reconnecting in %.1f s", self.user_id, delay)
            async with contextlib.aclosing(self._poll_latest(token, delay)) as readings:
                async for _measured_at, hr in readings:
                    t = max(loop.time() + offset, last_t + 1e-3)
                    last_t = t
                    yield t, hr
            delay = min(delay * 2.0, self.backoff[1])
            token = None

    async def _socket(self, token: str) -> AsyncGenerator[tuple[int, float], None]:
        """Frames of one WebSocket connection until it closes or fails."""
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self.client.session().ws_connect(
                self.client.realtime_url, headers=headers, heartbeat=self.heartbeat
            ) as ws:
                self.client.meter.outside_call(SERVICE, "101")  # the WebSocket upgrade
                self.connected = True
                self.connects += 1
                async for message in ws:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        continue
                    sample = _frame(message.data)
                    if sample is None:
                        self.malformed += 1
                        continue
                    self.last_measured_at = sample[0]
                    yield sample
        except aiohttp.WSServerHandshakeError as error:
            self.client.meter.outside_call(SERVICE, str(error.status))
            log.warning(
                "Pulsoid refused the stream of user %s: HTTP %s", self.user_id, error.status
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            self.client.meter.outside_call(SERVICE, "network")
            log.warning("Pulsoid stream of user %s failed: %s", self.user_id, type(error).__name__)
        finally:
            self.connected = False

    async def _poll_latest(
        self, token: str, seconds: float
    ) -> AsyncGenerator[tuple[int, float], None]:
        """New readings from the REST "latest" endpoint for ``seconds`` (the backoff pause)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while True:
            remaining = end - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(self.poll_interval, remaining))
            try:
                reading = await self.client.latest(token)
            except PulsoidRejected:
                return  # the reconnect re-validates and tells the user
            except PulsoidUnavailable:
                continue
            if reading is None:
                continue
            measured_at, _hr = reading
            last = self.last_measured_at
            fresh = abs(now_ms() - measured_at) <= FRESH_MS if last is None else measured_at > last
            if fresh:
                self.last_measured_at = measured_at
                yield reading


def _frame(text: str) -> tuple[int, float] | None:
    """(measured_at, bpm) of a text frame, None if it is not a heart-rate frame."""
    try:
        return parse_heart_rate(json.loads(text))
    except ValueError:
        return None
