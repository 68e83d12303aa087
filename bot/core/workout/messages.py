"""What workout mode says: the start, zone-change, offline, resume and summary messages.

Zone-change and resume messages are *status* messages (``StatusReply``): one ``edit_key`` per
workout, so a front able to edit messages keeps one status message up to date.
"""

from __future__ import annotations

from bot.core.workout.session import Started, WorkoutSession, WorkoutSummary, ZoneChanged
from recommender.heart import HeartProfile, zone_name


def status_key(workout_id: int) -> str:
    """The edit key of one workout's status message."""
    return f"workout-{workout_id}"


def start_text(
    source: str, profile: HeartProfile, session: WorkoutSession, learned: bool, queueing: bool
) -> str:
    """The reply to /workout start: zones, defaults in use, goal and cadence."""
    label = "simulated heart" if source == "simulator" else source.title()
    lines = [
        f"Workout started ({label}). I'll message you when your heart settles in a new zone, "
        "with the next tracks for it."
    ]
    rest, top = profile.effective_resting_hr, profile.effective_max_hr
    defaults = profile.defaults_in_use()
    lines.append(
        f"Zones from resting {rest:.0f} and max {top:.0f} bpm"
        + (f" (defaults for {', '.join(defaults)}: set them with /profile)" if defaults else "")
        + "."
    )
    if session.goal_zone:
        lines.append(f"Goal: zone {session.goal_zone} ({zone_name(session.goal_zone)}).")
        if learned:
            lines.append("Using what I learned of how music moves your heart to get you there.")
    if session.cadence:
        lines.append(f"Cadence: {session.cadence} steps/min — tracks on your beat.")
    if queueing:
        lines.append("Each track I pick goes into your Spotify queue.")
    return "\n".join(lines)


def zone_text(event: ZoneChanged, t: float) -> str:
    """The zone-change message (its tracks travel as cards)."""
    arrow = "up" if event.new > event.old else "down"
    return (
        f"Zone {event.new} ({zone_name(event.new)}), {arrow} from zone {event.old}: "
        f"heart at {event.hr:.0f} bpm after {t / 60:.0f} min. Next tracks:"
    )


def first_text(event: Started) -> str:
    """The first reading's message: where the heart starts, and the first tracks for it."""
    return (
        f"First reading: heart at {event.hr:.0f} bpm, zone {event.zone} "
        f"({zone_name(event.zone)}). First tracks:"
    )


def next_text(zone: int, hr: float, t: float) -> str:
    """A track picked while the zone holds (one a track's length after the last pick)."""
    return (
        f"Still zone {zone} ({zone_name(zone)}): heart at {hr:.0f} bpm after {t / 60:.0f} min. "
        "Next track:"
    )


def offline_text(seconds: float) -> str:
    """Told once per outage when no reading arrived for ``seconds``."""
    return (
        f"No heart rate for {seconds:g} s — your monitor seems to be offline (strap loose, "
        "or the Pulsoid app closed?). The workout carries on as soon as readings return."
    )


def resumed_text(session: WorkoutSession) -> str:
    """Said when a workout that was running before a restart carries on."""
    minutes = (session.last_t or 0.0) / 60.0
    where = f", zone {session.zone} ({zone_name(session.zone)})" if session.zone else ""
    return (
        f"beatmatch restarted; your workout carries on ({minutes:.1f} min so far{where}). "
        "Nothing recorded was lost."
    )


def summary_text(summary: WorkoutSummary, reason: str = "", learned: str = "") -> str:
    """The /workout stop summary."""
    if summary.samples == 0:
        text = "Workout stopped before any heart-rate reading arrived."
    else:
        zones = ", ".join(
            f"zone {z} {secs / 60:.1f} min"
            for z, secs in summary.time_in_zone_s.items()
            if secs >= 1
        )
        # A workout of a single reading spent no measurable time in any zone: say nothing of it.
        spent = f"Time in {zones}. " if zones else ""
        text = (
            f"{summary.duration_s / 60:.1f} min, average {summary.avg_hr:.0f} bpm, "
            f"max {summary.max_hr:.0f} bpm. {spent}"
            f"{summary.zone_changes} zone changes; {summary.tracks_suggested} "
            f"{'track' if summary.tracks_suggested == 1 else 'tracks'} suggested."
        )
    if reason:
        text = f"{reason} {text}"
    if learned:
        text = f"{text}\n{learned}"
    return text
