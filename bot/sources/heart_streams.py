"""The heart-stream factory the workout manager calls: Pulsoid for a linked user, else the
simulator (console) or a request to link."""

from __future__ import annotations

from bot.core.accounts.pulsoid import PulsoidAccounts, PulsoidUnavailable
from bot.core.errors import NeedsLink
from bot.core.workout.live import HeartStream, StreamRequest
from bot.sources.pulsoid import PulsoidClient
from bot.sources.pulsoid_stream import PulsoidHeartStream
from bot.sources.simulated_heart import SimulatedHeart, SimulatedStream


class HeartStreams:
    """Opens a user's heart stream; a refused Pulsoid token stops the workout before it starts."""

    def __init__(
        self,
        accounts: PulsoidAccounts,
        client: PulsoidClient,
        *,
        simulator_speed: float | None = None,
        seed: int = 0,
        backoff: tuple[float, float] = (2.0, 10.0),
        poll_interval: float = 1.0,
        heartbeat: float | None = 15.0,
    ) -> None:
        """``simulator_speed``: unlinked users get a simulated heart this fast; None: NeedsLink."""
        self.accounts = accounts
        self.client = client
        self.simulator_speed = simulator_speed
        self.seed = seed
        self.backoff = backoff
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat

    async def __call__(self, request: StreamRequest) -> HeartStream:
        """Pulsoid when linked (token validated now), else the simulator or NeedsLink."""
        uid = request.user_id
        if await self.accounts.linked(uid):
            token: str | None = None
            try:
                token = await self.accounts.access_token(uid)
            except PulsoidUnavailable:
                if request.resume_from is None:
                    raise  # a new workout: say so now rather than start blind
                # A restart during a Pulsoid outage: the stream keeps trying to reconnect.

            async def fresh_token() -> str:
                return await self.accounts.access_token(uid)

            return PulsoidHeartStream(
                self.client,
                fresh_token,
                request.started_at,
                user_id=uid,
                first_token=token,
                backoff=self.backoff,
                poll_interval=self.poll_interval,
                heartbeat=self.heartbeat,
            )
        if self.simulator_speed is None:
            raise NeedsLink("Link your heart-rate monitor first: /link pulsoid.")
        heart = SimulatedHeart(request.profile, seed=self.seed + uid)
        return SimulatedStream(heart, self.simulator_speed, resume_from=request.resume_from or 0.0)
