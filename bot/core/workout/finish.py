"""The end of a workout: its summary, the chart of heart rate and tracks, the stored record, and
the learned heart response refitted on it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.core.replies import Chart, Reply
from bot.core.workout.chart import workout_chart_png
from bot.core.workout.heart_response import HeartResponses, describe
from bot.core.workout.messages import summary_text
from bot.core.workout.session import WorkoutSession
from storage.workout_store import WorkoutStore

log = logging.getLogger(__name__)


class WorkoutFinisher:
    """Closes workouts (blocking parts run in worker threads)."""

    def __init__(
        self, workouts: WorkoutStore, charts_dir: Path, responses: HeartResponses | None = None
    ) -> None:
        self.workouts = workouts
        self.charts_dir = charts_dir
        self.responses = responses

    def chart_path(self, user_id: int, workout_id: int) -> Path:
        """Where a workout's chart is drawn."""
        return self.charts_dir / f"workout-u{user_id}-{workout_id}.png"

    async def close(
        self, workout_id: int, user_id: int, session: WorkoutSession, reason: str = ""
    ) -> Reply:
        """Summarise, draw, store the record and refit the learned response; the summary reply."""
        summary = session.summary()
        chart_path = self.chart_path(user_id, workout_id)
        samples = session.samples()
        if not session.keep_samples:
            samples = await asyncio.to_thread(self.workouts.workout_samples, workout_id)
        # Stored samples are 5-second means: the headline takes the summary's figures, from every
        # reading, so the chart and the text never disagree on the peak.
        figures = (
            (summary.avg_hr, summary.max_hr)
            if summary.avg_hr is not None and summary.max_hr is not None
            else None
        )
        await asyncio.to_thread(
            workout_chart_png,
            samples,
            session.profile,
            session.chart_suggestions(),
            chart_path,
            figures,
        )
        record = {
            "duration_s": summary.duration_s,
            "avg_hr": summary.avg_hr,
            "max_hr": summary.max_hr,
            "zone_changes": summary.zone_changes,
            "time_in_zone_s": summary.time_in_zone_s,
            "tracks_suggested": summary.tracks_suggested,
        }
        await asyncio.to_thread(self.workouts.end_workout, workout_id, record)
        learned = ""
        if self.responses is not None and session.suggestions():
            try:
                model = await asyncio.to_thread(self.responses.refit, user_id)
                learned = describe(model) if model.is_ready else ""
            except Exception:
                log.exception("refitting the heart response of user %s failed", user_id)
        return Reply(
            title="Workout summary",
            text=summary_text(summary, reason, learned),
            charts=(Chart(chart_path, "heart rate, zones and the tracks suggested"),),
        )

    def forget(self, user_id: int) -> None:
        """Delete the user's charts and learned response from memory (for /forget)."""
        if self.responses is not None:
            self.responses.forget(user_id)
        for chart in self.charts_dir.glob(f"workout-u{user_id}-*.png"):
            chart.unlink(missing_ok=True)
