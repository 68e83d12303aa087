"""A fake ReccoBeats on 127.0.0.1: ``GET /v1/audio-features?ids=`` and ``GET /v1/track?ids=``
(popularity, durationMs and the rest of its track object), each for up to 40 Spotify ids.

Unknown ids are simply absent from ``content``; each entry's ``id`` is ReccoBeats' own UUID and
the Spotify id is only in ``href``, as in the real service. Knobs: latency, 429 with Retry-After,
503s, and ``tracks_endpoint = False`` for a service without ``/v1/track`` (404).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes import serve

MAX_IDS = 40


@dataclass
class FakeReccoBeats:
    """The server; ``features`` maps Spotify id → audio features it knows."""

    features: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Spotify id → its track object's ``popularity`` and ``durationMs``.
    details: dict[str, dict[str, float]] = field(default_factory=dict)
    tracks_endpoint: bool = True
    track_requests: list[list[str]] = field(default_factory=list)
    latency: float = 0.0
    requests: list[list[str]] = field(default_factory=list)
    timeline: list[float] = field(default_factory=list)
    max_in_flight: int = 0
    base: str = ""
    _throttle: list[float] = field(default_factory=list)
    _failures: int = 0
    _track_failures: int = 0
    _in_flight: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve on a free loopback port; returns the base URL."""
        app = web.Application()
        app.router.add_get("/v1/audio-features", self.audio_features)
        app.router.add_get("/v1/track", self.tracks)
        self._runner, self.base = await serve(app)
        return self.base

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        """What to set reccobeats.api_base to."""
        return self.base + "/v1/"

    def throttle(self, times: int = 1, retry_after: float = 1.0) -> None:
        """The next ``times`` calls get 429 with Retry-After."""
        self._throttle.extend([retry_after] * times)

    def fail(self, times: int = 1) -> None:
        """The next ``times`` calls get 503."""
        self._failures += times

    def fail_tracks(self, times: int = 1) -> None:
        """The next ``times`` calls of ``/v1/track`` get 503."""
        self._track_failures += times

    @property
    def asked(self) -> list[str]:
        """Every id asked about, in order (repeats included)."""
        return [i for ids in self.requests for i in ids]

    async def audio_features(self, request: web.Request) -> web.Response:
        """Features of the known ids among ``ids``."""
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        self.requests.append(ids)
        return await self._answer(ids, self.features)

    async def tracks(self, request: web.Request) -> web.Response:
        """Track objects of the known ids among ``ids`` (comma-separated or repeated)."""
        ids = [i for value in request.query.getall("ids", []) for i in value.split(",") if i]
        self.track_requests.append(ids)
        if not self.tracks_endpoint:
            return web.Response(status=404, text="404: Not Found")  # aiohttp's own answer
        if self._track_failures:
            self._track_failures -= 1
            return web.json_response({"error": "unavailable"}, status=503)
        objects: dict[str, Mapping[str, object]] = {
            i: {
                "trackTitle": f"Track {i[:6]}",
                "artists": [],
                "ean": None,
                "upc": None,
                "availableCountries": "US,GB",
                **self.details.get(i, {}),
            }
            for i in ids
            if i in self.features
        }
        return await self._answer(ids, objects)

    async def _answer(
        self, ids: list[str], known: Mapping[str, Mapping[str, object]]
    ) -> web.Response:
        self.timeline.append(time.monotonic())
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if self._throttle:
                wait = self._throttle.pop(0)
                return web.json_response(
                    {"error": "Too many requests"}, status=429, headers={"Retry-After": f"{wait:g}"}
                )
            if self._failures:
                self._failures -= 1
                return web.json_response({"error": "unavailable"}, status=503)
            if not ids or len(ids) > MAX_IDS:
                return web.json_response({"error": f"1 to {MAX_IDS} ids"}, status=400)
            content = [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, i)),
                    "href": f"https://open.spotify.com/track/{i}",
                    "isrc": "QZ" + i[:10].upper(),
                    **known[i],
                }
                for i in ids
                if i in known
            ]
            return web.json_response({"content": content})
        finally:
            self._in_flight -= 1
