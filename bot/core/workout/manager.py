"""Live workouts for every user: a heart stream in, zone messages and track picks out.

One asyncio task per running workout reads (t, hr) from a ``HeartStream`` (Pulsoid's WebSocket or
the simulator), feeds the pure ``WorkoutSession``, hands the readings to the ``SampleWriter``, and
tells the user when the zone changes, with the next three tracks for the new target. One watchdog
task notices silent monitors; one flusher task stores every workout's samples each second.
Workouts left open by a restart are resumed from their stored samples. Chat-library-free:
messages go out through the ``Outbox``; tracks come from the ``Picker`` port (the taste feature).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from bot.core.cards import feedback_buttons, track_card
from bot.core.delivery import Outbox
from bot.core.errors import BadInput, PlayerUnavailable, UserFacingError
from bot.core.ports import Picker, Player, ShownRecorder
from bot.core.replies import Reply, StatusReply
from bot.core.workout.finish import WorkoutFinisher
from bot.core.workout.heart_response import HeartResponses, steering_context
from bot.core.workout.live import HeartStreamFactory, LiveWorkout, StreamRequest, heart_context
from bot.core.workout.messages import (
    first_text,
    next_text,
    offline_text,
    resumed_text,
    start_text,
    status_key,
    zone_text,
)
from bot.core.workout.resume import RESUME_CONCURRENCY, restore
from bot.core.workout.samples import SampleWriter
from bot.core.workout.session import Started, WorkoutSession, ZoneChanged
from recommender.context import Context
from recommender.heart import HeartProfile, HeartResponseModel, zone_name
from recommender.tracks import track_row
from storage.track_store import TrackStore
from storage.workout_store import WorkoutStore

log = logging.getLogger(__name__)
#: Without a zone change, the next track is picked after this long (a typical track).
TRACK_SECONDS = 210.0
NEXT_TRACKS = 3
#: Pulsoid's rule: this long without a reading means the monitor is offline.
OFFLINE_AFTER_S = 30.0
#: Seconds between the writes of every workout's readings: a crash loses at most about this much.
FLUSH_EVERY_S = 1.0


class WorkoutManager:
    """Starts, runs, stops and resumes workouts."""

    def __init__(
        self,
        workouts: WorkoutStore,
        stored_tracks: TrackStore,
        tracks: pd.DataFrame,
        picker: Picker,
        streams: HeartStreamFactory,
        finisher: WorkoutFinisher,
        outbox: Outbox,
        *,
        responses: HeartResponses | None = None,
        player: Player | None = None,
        offline_after: float = OFFLINE_AFTER_S,
        store_every: float = 5.0,
        flush_every: float = FLUSH_EVERY_S,
        track_seconds: float = TRACK_SECONDS,
        keep_samples: bool = False,
        on_decision: Callable[[LiveWorkout], None] | None = None,
        shown: ShownRecorder | None = None,
    ) -> None:
        """``tracks``: the catalog's track table. ``store_every`` s of readings make one stored
        sample; ``flush_every`` s between writes (about what a crash may lose). Live sessions keep
        no readings in memory unless ``keep_samples`` (the chart is drawn from storage), so a long
        workout costs no more memory than a short one. ``on_decision`` is called after each reading is decided on (benchmarks
        measure latency with it). ``shown`` is told which tracks each message showed, so later
        lists move on from them."""
        self.workouts = workouts
        self.stored_tracks = stored_tracks
        self.tracks = tracks
        self.picker = picker
        self.streams = streams
        self.finisher = finisher
        self.outbox = outbox
        self.responses = responses
        self.player = player
        self.offline_after = offline_after
        self.flush_every = flush_every
        self.track_seconds = track_seconds
        self.keep_samples = keep_samples
        self.on_decision = on_decision
        self.shown = shown
        self.writer = SampleWriter(workouts, every=store_every)
        self.live: dict[int, LiveWorkout] = {}
        self._starting: set[int] = set()
        self._background: list[asyncio.Task[None]] = []

    def context(self, user_id: int) -> Context | None:
        """Heart context of the user's live workout (for /recommend), or None."""
        live = self.live.get(user_id)
        return heart_context(live.session) if live else None

    async def _profile(self, user_id: int) -> HeartProfile:
        fields = await asyncio.to_thread(self.workouts.profile, user_id)
        try:
            return HeartProfile(**fields)
        except ValueError:
            return HeartProfile()

    async def _model(self, user_id: int) -> HeartResponseModel | None:
        if self.responses is None:
            return None
        return await asyncio.to_thread(self.responses.ready, user_id)

    async def _can_queue(self, user_id: int) -> bool:
        if self.player is None:
            return False
        try:
            return await self.player.can_queue(user_id)
        except Exception:
            log.warning("could not ask the player whether user %s can queue", user_id)
            return False

    async def start(self, user_id: int, goal_zone: int | None, cadence: int | None) -> Reply:
        """Open the heart stream, then the workout row (acknowledged = stored), and start."""
        if user_id in self.live or user_id in self._starting:
            raise BadInput("A workout is already running. /workout stop ends it.")
        self._starting.add(user_id)
        try:
            profile = await self._profile(user_id)
            session = WorkoutSession(profile, goal_zone, cadence, 0.0, self.keep_samples)
            started_at = time.time()
            # The stream first: a user who can't stream (no link, token refused) gets no row.
            stream = await self.streams(StreamRequest(user_id, profile, started_at))
            workout_id = await asyncio.to_thread(
                self.workouts.start_workout,
                user_id,
                session.goal_zone,
                session.cadence,
                stream.source,
                started_at,
            )
            live = LiveWorkout(workout_id, user_id, session, stream, self._now())
            live.model = await self._model(user_id)
            live.can_queue = await self._can_queue(user_id)
            self._launch(live)
        finally:
            self._starting.discard(user_id)
        learned = live.model is not None and session.goal_zone is not None
        text = start_text(stream.source, profile, session, learned, live.can_queue)
        return Reply(title="Workout", text=text)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _launch(self, live: LiveWorkout) -> None:
        self.live[live.user_id] = live
        live.last_arrival = self._now()
        live.task = asyncio.get_running_loop().create_task(self._run(live))
        if not self._background:
            loop = asyncio.get_running_loop()
            self._background = [
                loop.create_task(self.writer.run(self.flush_every)),
                loop.create_task(self._watch()),
            ]

    async def _run(self, live: LiveWorkout) -> None:
        try:
            # aclosing: a cancelled workout closes its WebSocket now, not when GC gets to it.
            async with contextlib.aclosing(live.stream.samples()) as samples:
                async for t, hr in samples:
                    await self._on_sample(live, t, hr)
            if self.live.get(live.user_id) is live:
                reply = await self.stop(live.user_id, reason="The workout plan is over.")
                await self.outbox.send(live.user_id, reply)
        except asyncio.CancelledError:
            raise
        except UserFacingError as error:
            # E.g. Pulsoid refused the token: the user can fix that, so say what it is.
            if self.live.get(live.user_id) is live:
                await self.outbox.send(
                    live.user_id,
                    Reply(
                        text=f"{error.message} Your workout is paused: what was recorded is "
                        "saved, and /workout stop gives the summary.",
                        error=True,
                    ),
                )
        except Exception:
            log.exception("workout %s of user %s failed", live.workout_id, live.user_id)
            if self.live.get(live.user_id) is live:
                await self.outbox.send(
                    live.user_id,
                    Reply(
                        text="Sorry — your workout's heart-rate stream failed. What was recorded "
                        "is saved; /workout stop gives the summary.",
                        error=True,
                    ),
                )

    async def _on_sample(self, live: LiveWorkout, t: float, hr: float) -> None:
        live.last_arrival = self._now()
        live.offline_told = False
        session = live.session
        events = session.add_sample(t, hr)
        if session.last_t == t:
            self.writer.add(live.workout_id, t, hr)
        for event in events:
            if isinstance(event, Started | ZoneChanged):
                await self._suggest(live, t, event)
        if t >= live.next_track_t and session.zone is not None:
            await self._suggest(live, t, None)
        session.target()  # the decision each reading feeds (cached until the zone changes)
        if self.on_decision is not None:
            self.on_decision(live)

    async def _watch(self) -> None:
        """Tell each user once when their monitor has been silent for ``offline_after`` s."""
        period = min(1.0, self.offline_after / 4.0)
        while True:
            await asyncio.sleep(period)
            now = self._now()
            for live in list(self.live.values()):
                if live.offline_told or now - live.last_arrival < self.offline_after:
                    continue
                if live.task is None or live.task.done():
                    continue  # the stream ended or failed and said so already
                live.offline_told = True
                await self.outbox.send(live.user_id, Reply(text=offline_text(self.offline_after)))

    async def _suggest(
        self, live: LiveWorkout, t: float, event: Started | ZoneChanged | None
    ) -> None:
        session = live.session
        # The message names the zone already; reasons need not repeat it per track.
        steer = HeartResponses.steer(live.model, session)
        context = steering_context(
            replace(heart_context(session) or Context(), label=""), session, steer
        )
        picks = await asyncio.to_thread(
            self.picker, live.user_id, context, NEXT_TRACKS, set(live.suggested), steer
        )
        if not picks and live.suggested:  # every track that fits was suggested: repeat some
            picks = await asyncio.to_thread(
                self.picker, live.user_id, context, NEXT_TRACKS, set(), steer
            )
        live.next_track_t = t + self.track_seconds
        if not picks:
            return
        first = picks[0][0]
        row = track_row(self.tracks, first) if first in self.tracks.index else None
        session.record_suggestion(t, first, row)
        live.suggested.add(first)
        live.stream.on_track(row)
        title = str(row["name"]) if row is not None else first
        await asyncio.to_thread(self.workouts.add_workout_track, live.workout_id, t, first, title)
        if live.can_queue:
            await self._queue(live, first)
        # Every pick is announced, and the summary and chart count exactly what was announced:
        # the first reading's and each zone change's tracks, and the one picked when a track's
        # length passed in the same zone.
        shown = picks if event is not None else picks[:1]
        live.suggested.update(track_id for track_id, _ in shown)
        cards = tuple(
            track_card(track_id, track_row(self.tracks, track_id), reason)
            for track_id, reason in shown
        )
        if isinstance(event, ZoneChanged):
            text = zone_text(event, t)
        elif isinstance(event, Started):
            text = first_text(event)
        else:
            text = next_text(session.zone or 1, session.smoothed_hr or 0.0, t)
        titles = [(card.track_id, card.name) for card in cards]
        session.record_sent(t, titles)
        if self.shown is not None:
            await asyncio.to_thread(self.shown, live.user_id, [c.track_id for c in cards])
        await asyncio.to_thread(self.workouts.add_sent_tracks, live.workout_id, t, titles)
        reply = StatusReply(
            title="Workout",
            text=text,
            tracks=cards,
            buttons=feedback_buttons(cards),  # 👍/👎 right where the tracks are announced
            edit_key=status_key(live.workout_id),
        )
        await self.outbox.send(live.user_id, reply)

    async def _queue(self, live: LiveWorkout, track_id: str) -> None:
        assert self.player is not None
        try:
            await self.player.queue(live.user_id, track_id)
        except PlayerUnavailable as error:
            # No device, no Premium, no scope: it won't fix itself within this workout.
            live.can_queue = False
            if not live.player_told:
                live.player_told = True
                await self.outbox.send(
                    live.user_id, Reply(text=f"Couldn't queue on Spotify: {error.message}")
                )
        except UserFacingError as error:
            if not live.player_told:
                live.player_told = True
                await self.outbox.send(
                    live.user_id, Reply(text=f"Couldn't queue on Spotify: {error.message}")
                )
        except Exception:
            log.exception("queueing a track for user %s failed", live.user_id)

    def status(self, user_id: int) -> Reply:
        """Where the user's live workout stands."""
        live = self.live.get(user_id)
        if live is None:
            raise UserFacingError("No workout is running. /workout start begins one.")
        s = live.session
        if s.smoothed_hr is None or s.zone is None:
            return Reply(text="Workout running; waiting for the first heart-rate reading.")
        target = s.target()
        text = (
            f"{s.last_t / 60 if s.last_t else 0:.1f} min · heart {s.smoothed_hr:.0f} bpm · zone "
            f"{s.zone} ({zone_name(s.zone)}) · music target {target.tempo.low:.0f}–"
            f"{target.tempo.high:.0f} bpm, energy {target.energy:.2f}"
        )
        if live.offline_told:
            text += " · monitor offline"
        return Reply(title="Workout", text=text)

    async def _halt(self, live: LiveWorkout) -> None:
        """Stop reading the stream and wait until the task has really finished."""
        task = live.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def stop(self, user_id: int, reason: str = "") -> Reply:
        """End the user's workout: summary, chart PNG, learned response refitted, all stored."""
        live = self.live.pop(user_id, None)
        if live is None:
            raise UserFacingError("No workout is running. /workout start begins one.")
        await self._halt(live)
        self.writer.seal(live.workout_id)
        await self.writer.flush()
        return await self.finisher.close(live.workout_id, user_id, live.session, reason)

    def discard(self, user_id: int) -> None:
        """Drop the user's live workout and charts without storing anything more (for /forget)."""
        live = self.live.pop(user_id, None)
        if live is not None:
            if live.task is not None:
                live.task.cancel()
            self.writer.drop(live.workout_id)
        self.finisher.forget(user_id)

    async def shutdown(self) -> None:
        """Stop reading streams but keep workouts open (everything read is stored), to resume."""
        lives = list(self.live.values())
        self.live.clear()
        for live in lives:
            await self._halt(live)
            self.writer.seal(live.workout_id)
        for task in self._background:
            task.cancel()
        if self._background:
            await asyncio.wait(self._background)
        self._background = []
        await self.writer.flush()

    async def resume_all(self) -> int:
        """Resume every workout a restart left open; returns how many carry on."""
        rows = await asyncio.to_thread(self.workouts.open_workouts)
        gate = asyncio.Semaphore(RESUME_CONCURRENCY)

        async def one(row: dict[str, Any]) -> bool:
            async with gate:
                try:
                    return await self.resume(row)
                except Exception:
                    log.exception("could not resume workout %s", row.get("id"))
                    return False

        return sum(await asyncio.gather(*(one(row) for row in rows)))

    async def resume(self, row: Mapping[str, Any]) -> bool:
        """Rebuild one open workout from its stored samples and reconnect its stream."""
        user_id, workout_id = int(row["user_id"]), int(row["id"])
        if user_id in self.live:
            return False
        profile = await self._profile(user_id)
        restored = await asyncio.to_thread(
            restore, self.workouts, self.stored_tracks, self.tracks, row, profile, self.keep_samples
        )
        session = restored.session
        request = StreamRequest(user_id, profile, float(row["started_at"]), session.last_t or 0.0)
        try:
            stream = await self.streams(request)
        except UserFacingError as error:
            reply = await self.finisher.close(workout_id, user_id, session, reason=error.message)
            await self.outbox.send(user_id, reply)
            return False
        live = LiveWorkout(workout_id, user_id, session, stream, self._now())
        live.suggested = set(restored.suggested)
        last = restored.last_pick
        live.next_track_t = last + self.track_seconds if last is not None else 0.0
        live.model = await self._model(user_id)
        live.can_queue = await self._can_queue(user_id)
        self._launch(live)
        await self.outbox.send(
            user_id,
            StatusReply(
                title="Workout", text=resumed_text(session), edit_key=status_key(workout_id)
            ),
        )
        return True
