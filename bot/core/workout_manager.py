"""Live workouts for every user: a heart stream in, zone messages and track picks out.

One asyncio task per running workout reads (t, hr) from a ``HeartStream`` (the console's simulator,
later Pulsoid), feeds the pure ``WorkoutSession``, stores the samples, and tells the user when the
zone changes, with the next three tracks for the new target. Chat-library-free: replies go out
through the ``Notifier`` an adapter registers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from bot.core.charts import workout_chart_png
from bot.core.errors import BadInput, UserFacingError
from bot.core.replies import Chart, Reply, TrackCard
from bot.core.workout import Started, WorkoutSession, ZoneChanged
from recommender.context import Context
from recommender.heart import HeartProfile, MusicTarget, zone_name
from recommender.tracks import track_row
from storage.repository import Repository

log = logging.getLogger(__name__)
#: Samples are written in batches: at most this many seconds of a workout wait in memory.
FLUSH_SECONDS = 5.0
#: Without a zone change, the next track is picked after this long (a typical track).
TRACK_SECONDS = 210.0
NEXT_TRACKS = 3


class HeartStream(Protocol):
    """A source of live heart rate for one user."""

    def samples(self) -> AsyncIterator[tuple[float, float]]:
        """(seconds since the workout started, beats per minute), in arrival order."""
        ...

    def on_track(self, features: Mapping[str, Any] | pd.Series | None) -> None:
        """The track now suggested (a simulated heart reacts to it; a real one ignores this)."""
        ...


HeartStreamFactory = Callable[[int, HeartProfile], HeartStream]
Notifier = Callable[[int, Reply], Awaitable[None]]
Picker = Callable[[int, Context, int, set[str]], list[tuple[str, str]]]


@dataclass
class LiveWorkout:
    """A running workout: its stored row, pure session state and the task reading the stream."""

    workout_id: int
    user_id: int
    session: WorkoutSession
    stream: HeartStream
    started_wall: float
    task: asyncio.Task[None] | None = None
    pending: list[tuple[float, float]] = field(default_factory=list)
    last_flush_t: float = 0.0
    next_track_t: float = 0.0
    suggested: set[str] = field(default_factory=set)


def heart_context(session: WorkoutSession) -> Context | None:
    """The /recommend context a live heart asks for, None before the first sample."""
    hr = session.smoothed_hr
    zone = session.zone
    if hr is None or zone is None:
        return None
    target: MusicTarget = session.target()
    label = f"your heart rate {hr:.0f} bpm (zone {zone}, {zone_name(zone)})"
    if target.direction and target.direction != "hold":
        label += f", steering to zone {session.goal_zone}"
    return Context(
        tempo_band=(target.tempo.low, target.tempo.high), energy=target.energy, label=label
    )


class WorkoutManager:
    """Starts, runs, stops and resumes workouts."""

    def __init__(
        self,
        repo: Repository,
        tracks: pd.DataFrame,
        picker: Picker,
        streams: HeartStreamFactory,
        charts_dir: Path,
    ) -> None:
        self.repo = repo
        self.tracks = tracks
        self.picker = picker
        self.streams = streams
        self.charts_dir = charts_dir
        self.notifier: Notifier | None = None
        self.live: dict[int, LiveWorkout] = {}

    def context(self, user_id: int) -> Context | None:
        """Heart context of the user's live workout (for /recommend), or None."""
        live = self.live.get(user_id)
        return heart_context(live.session) if live else None

    async def _profile(self, user_id: int) -> HeartProfile:
        fields = await asyncio.to_thread(self.repo.profile, user_id)
        try:
            return HeartProfile(**fields)
        except ValueError:
            return HeartProfile()

    async def start(
        self, user_id: int, goal_zone: int | None, cadence: int | None, source: str = "simulator"
    ) -> Reply:
        """Open a workout row (acknowledged = stored) and start reading the heart stream."""
        if user_id in self.live:
            raise BadInput("A workout is already running. /workout stop ends it.")
        profile = await self._profile(user_id)
        session = WorkoutSession(profile, goal_zone, cadence, started_at=0.0)
        workout_id = await asyncio.to_thread(
            self.repo.start_workout, user_id, session.goal_zone, session.cadence, source
        )
        self._launch(
            LiveWorkout(
                workout_id,
                user_id,
                session,
                self.streams(user_id, profile),
                started_wall=time.time(),
            )
        )
        defaults = profile.defaults_in_use()
        lines = [
            f"Workout started ({source}). I'll message you when your heart settles in a new "
            "zone, with the next tracks for it."
        ]
        rest, top = profile.effective_resting_hr, profile.effective_max_hr
        lines.append(
            f"Zones from resting {rest:.0f} and max {top:.0f} bpm"
            + (f" (defaults for {', '.join(defaults)}: set them with /profile)" if defaults else "")
            + "."
        )
        if session.goal_zone:
            lines.append(f"Goal: zone {session.goal_zone} ({zone_name(session.goal_zone)}).")
        if session.cadence:
            lines.append(f"Cadence: {session.cadence} steps/min — tracks on your beat.")
        return Reply(title="Workout", text="\n".join(lines))

    def _launch(self, live: LiveWorkout) -> None:
        self.live[live.user_id] = live
        live.task = asyncio.get_running_loop().create_task(self._run(live))

    async def _run(self, live: LiveWorkout) -> None:
        try:
            async for t, hr in live.stream.samples():
                await self._on_sample(live, t, hr)
            if self.live.get(live.user_id) is live:
                reply = await self.stop(live.user_id, reason="The workout plan is over.")
                await self._notify(live.user_id, reply)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("workout %s of user %s failed", live.workout_id, live.user_id)
            if self.live.get(live.user_id) is live:
                await self._flush(live)
                await self._notify(
                    live.user_id,
                    Reply(
                        text="Sorry — your workout's heart-rate stream failed. What was recorded "
                        "is saved; /workout stop gives the summary.",
                        error=True,
                    ),
                )

    async def _on_sample(self, live: LiveWorkout, t: float, hr: float) -> None:
        events = live.session.add_sample(t, hr)
        live.pending.append((t, hr))
        for event in events:
            if isinstance(event, Started | ZoneChanged):
                await self._suggest(live, t, announce=isinstance(event, ZoneChanged), event=event)
        if t >= live.next_track_t and live.session.zone is not None:
            await self._suggest(live, t, announce=False)
        if t - live.last_flush_t >= FLUSH_SECONDS:
            await self._flush(live)

    async def _flush(self, live: LiveWorkout) -> None:
        if not live.pending:
            return
        batch, live.pending = live.pending, []
        live.last_flush_t = batch[-1][0]
        await asyncio.to_thread(self.repo.add_hr_samples, live.workout_id, batch)

    async def _suggest(
        self,
        live: LiveWorkout,
        t: float,
        announce: bool,
        event: Started | ZoneChanged | None = None,
    ) -> None:
        # The message names the zone already; reasons need not repeat it per track.
        context = replace(heart_context(live.session) or Context(), label="")
        picks = await asyncio.to_thread(
            self.picker, live.user_id, context, NEXT_TRACKS, set(live.suggested)
        )
        live.next_track_t = t + TRACK_SECONDS
        if not picks:
            return
        first = picks[0][0]
        row = track_row(self.tracks, first) if first in self.tracks.index else None
        live.session.record_suggestion(t, first, row)
        live.suggested.add(first)
        live.stream.on_track(row)
        title = str(row["name"]) if row is not None else first
        await asyncio.to_thread(self.repo.add_workout_track, live.workout_id, t, first, title)
        if announce and isinstance(event, ZoneChanged):
            live.suggested.update(track_id for track_id, _ in picks)
            cards = tuple(self._card(track_id, reason) for track_id, reason in picks)
            arrow = "up" if event.new > event.old else "down"
            text = (
                f"Zone {event.new} ({zone_name(event.new)}), {arrow} from zone {event.old}: "
                f"heart at {event.hr:.0f} bpm after {t / 60:.0f} min. Next tracks:"
            )
            await self._notify(live.user_id, Reply(title="Workout", text=text, tracks=cards))

    def _card(self, track_id: str, reason: str) -> TrackCard:
        row = track_row(self.tracks, track_id)
        return TrackCard(
            track_id=track_id, name=str(row["name"]), artists=str(row["artists"]), reason=reason
        )

    async def _notify(self, user_id: int, reply: Reply) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier(user_id, reply)
        except Exception:
            log.exception("could not deliver a workout message to user %s", user_id)

    def status(self, user_id: int) -> Reply:
        """Where the user's live workout stands."""
        live = self.live.get(user_id)
        if live is None:
            raise UserFacingError("No workout is running. /workout start begins one.")
        s = live.session
        if s.smoothed_hr is None or s.zone is None:
            return Reply(text="Workout running; waiting for the first heart-rate reading.")
        target = s.target()
        return Reply(
            title="Workout",
            text=(
                f"{s.last_t / 60 if s.last_t else 0:.1f} min · heart {s.smoothed_hr:.0f} bpm · zone "
                f"{s.zone} ({zone_name(s.zone)}) · music target {target.tempo.low:.0f}–"
                f"{target.tempo.high:.0f} bpm, energy {target.energy:.2f}"
            ),
        )

    async def stop(self, user_id: int, reason: str = "") -> Reply:
        """End the user's workout: summary, chart PNG, and everything stored."""
        live = self.live.pop(user_id, None)
        if live is None:
            raise UserFacingError("No workout is running. /workout start begins one.")
        if live.task is not None and live.task is not asyncio.current_task():
            live.task.cancel()
        await self._flush(live)
        summary = live.session.summary()
        chart_path = self.charts_dir / f"workout-u{user_id}-{live.workout_id}.png"
        await asyncio.to_thread(
            workout_chart_png,
            live.session.samples(),
            live.session.profile,
            live.session.chart_suggestions(),
            chart_path,
        )
        record = {
            "duration_s": summary.duration_s,
            "avg_hr": summary.avg_hr,
            "max_hr": summary.max_hr,
            "zone_changes": summary.zone_changes,
            "time_in_zone_s": summary.time_in_zone_s,
            "tracks_suggested": summary.tracks_suggested,
        }
        await asyncio.to_thread(self.repo.end_workout, live.workout_id, record)
        if summary.samples == 0:
            text = "Workout stopped before any heart-rate reading arrived."
        else:
            zones = ", ".join(
                f"zone {z} {secs / 60:.1f} min"
                for z, secs in summary.time_in_zone_s.items()
                if secs >= 1
            )
            text = (
                f"{summary.duration_s / 60:.1f} min, average {summary.avg_hr:.0f} bpm, "
                f"max {summary.max_hr:.0f} bpm. Time in {zones}. "
                f"{summary.zone_changes} zone changes; {summary.tracks_suggested} tracks "
                "suggested."
            )
        if reason:
            text = f"{reason} {text}"
        return Reply(
            title="Workout summary",
            text=text,
            charts=(Chart(chart_path, "heart rate, zones and the tracks suggested"),),
        )

    def discard(self, user_id: int) -> None:
        """Drop the user's live workout and charts without storing anything more (for /forget)."""
        live = self.live.pop(user_id, None)
        if live is not None and live.task is not None:
            live.task.cancel()
        for chart in self.charts_dir.glob(f"workout-u{user_id}-*.png"):
            chart.unlink(missing_ok=True)

    async def shutdown(self) -> None:
        """Stop reading streams but keep workouts open, so a restart resumes them."""
        for live in list(self.live.values()):
            if live.task is not None:
                live.task.cancel()
            await self._flush(live)
        self.live.clear()
