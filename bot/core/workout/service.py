"""The workout feature: /profile (the heart profile zones come from) and /workout start|stop|status."""

from __future__ import annotations

import asyncio

from bot.core.commands import COMMAND_NAMES
from bot.core.errors import BadInput
from bot.core.replies import ChatUser, Reply
from bot.core.users import Users
from bot.core.workout.manager import WorkoutManager
from recommender.heart import HeartProfile, zone_name
from storage.workout_store import WorkoutStore

#: /profile option → the stored field it sets.
PROFILE_FIELDS: dict[str, str] = {
    "age": "age",
    "resting_hr": "resting_hr",
    "max_hr": "max_hr",
    "cadence": "cadence",
    "goal": "goal_zone",
}


class WorkoutService:
    """Heart profiles and the workout commands (the live part is the ``WorkoutManager``)."""

    def __init__(self, users: Users, workouts: WorkoutStore, manager: WorkoutManager) -> None:
        self.users = users
        self.workouts = workouts
        self.manager = manager

    async def profile(self, user: ChatUser, **fields: int | None) -> Reply:
        """Show the heart profile, or set some of its fields (None clears one); says which
        defaults are in use."""
        uid = await self.users.uid(user)
        spec = COMMAND_NAMES["profile"]
        changes: dict[str, int | None] = {}
        for key, value in fields.items():
            if key not in PROFILE_FIELDS:
                raise BadInput(f"/profile knows {', '.join(PROFILE_FIELDS)}; not “{key[:20]}”.")
            changes[PROFILE_FIELDS[key]] = spec.option(key).check(value)
        current = await asyncio.to_thread(self.workouts.profile, uid)
        try:
            profile = HeartProfile(**{**current, **changes})
        except ValueError as error:
            raise BadInput(f"That profile doesn't add up: {error}.") from None
        if changes:
            await asyncio.to_thread(self.workouts.update_profile, uid, **changes)
        return Reply(
            title="Your heart profile" + (" (saved)" if changes else ""),
            text=describe_profile(profile),
        )

    async def workout(
        self,
        user: ChatUser,
        action: str = "",
        goal: int | str | None = None,
        cadence: int | str | None = None,
    ) -> Reply:
        """/workout start [goal] [cadence] | stop | status (goal and cadence as typed or parsed)."""
        uid = await self.users.uid(user)
        verb = action.strip().lower() or "status"
        if (goal is not None or cadence is not None) and verb != "start":
            raise BadInput("Only /workout start takes more: a goal zone and a cadence.")
        spec = COMMAND_NAMES["workout"]
        if verb == "start":
            return await self.manager.start(
                uid, spec.option("goal").check(goal), spec.option("cadence").check(cadence)
            )
        if verb == "stop":
            return await self.manager.stop(uid)
        if verb == "status":
            return self.manager.status(uid)
        raise BadInput(
            "Use /workout start [goal:ZONE] [cadence:N], /workout stop or /workout status."
        )

    async def finish(self, user: ChatUser, reason: str = "") -> Reply | None:
        """Stop the user's workout if one runs (the console does when it closes); its summary."""
        uid = await self.users.uid(user)
        if uid not in self.manager.live:
            return None
        return await self.manager.stop(uid, reason=reason)

    def forget(self, uid: int) -> None:
        """Drop the user's live workout, charts and learned response (for /forget)."""
        self.manager.discard(uid)


def describe_profile(profile: HeartProfile) -> str:
    """The profile and the zones it gives, naming the defaults in use."""
    rest, top = profile.effective_resting_hr, profile.effective_max_hr
    lines = [
        f"Age: {profile.age if profile.age is not None else 'not set (default 30)'}",
        f"Resting heart rate: {rest:.0f} bpm" + ("" if profile.resting_hr else " (default)"),
        f"Maximum heart rate: {top:.0f} bpm"
        + (" (your value)" if profile.max_hr else " (Tanaka: 208 − 0.7 × age)"),
        f"Cadence: {profile.cadence} steps/min" if profile.cadence else "Cadence: not set",
        (
            f"Goal zone: {profile.goal_zone} ({zone_name(profile.goal_zone)})"
            if profile.goal_zone
            else "Goal zone: not set"
        ),
        "Zones (% of heart-rate reserve, Karvonen):",
    ]
    for zone, low, high in profile.zone_bounds():
        lines.append(f"  {zone} {zone_name(zone)}: {low:.0f}–{high:.0f} bpm")
    defaults = profile.defaults_in_use()
    if defaults:
        lines.append(
            f"Defaults in use for: {', '.join(defaults)}. Set them with "
            "/profile age:N resting_hr:N."
        )
    return "\n".join(lines)
