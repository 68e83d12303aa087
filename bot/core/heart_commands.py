"""/profile and /workout: the heart-rate commands of the service (a mixin of BeatmatchService)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bot.core.catalog import CatalogState
from bot.core.commands import parse_int
from bot.core.errors import BadInput, UserFacingError
from bot.core.heart_response import HeartSteer
from bot.core.replies import ChatUser, Reply
from bot.core.taste_models import NoLibrary, TasteModels
from bot.core.workout_manager import WorkoutManager
from recommender.context import Context
from recommender.heart import ZONE_NAMES, HeartProfile, zone_name
from recommender.recommend import combined_scores, percentile_ranks, select
from storage.repository import Repository

#: The workout picker ranks at most this many of the best-fitting catalog tracks in full.
PREFILTER = 1000
#: /profile option → (stored field, lowest, highest, what to call it)
PROFILE_FIELDS: Mapping[str, tuple[str, int, int, str]] = {
    "age": ("age", 10, 100, "Age"),
    "resting_hr": ("resting_hr", 30, 120, "Resting heart rate"),
    "max_hr": ("max_hr", 120, 230, "Maximum heart rate"),
    "cadence": ("cadence", 60, 240, "Cadence (steps per minute)"),
    "goal": ("goal_zone", 1, 5, "Goal zone"),
}


def parse_zone(text: str) -> int:
    """A zone from "3" or its name ("moderate", "vigorous", …)."""
    word = text.strip().lower()
    for number, name in ZONE_NAMES.items():
        if word == name.lower() or word == name.lower().replace(" ", "-"):
            return number
    return parse_int(word, "The goal zone", 1, 5)


class HeartCommands:
    """Needs ``uid``, ``repo``, ``taste``, ``catalog`` and ``workouts`` from the service."""

    repo: Repository
    taste: TasteModels
    catalog: CatalogState
    workouts: WorkoutManager | None

    async def uid(self, user: ChatUser) -> int:  # provided by BeatmatchService
        raise NotImplementedError

    async def profile(self, user: ChatUser, options: Mapping[str, str] | None = None) -> Reply:
        """Show the heart profile, or set some of its fields; says which defaults are in use."""
        uid = await self.uid(user)
        changes: dict[str, int | None] = {}
        for key, value in (options or {}).items():
            if key not in PROFILE_FIELDS:
                raise BadInput(f"/profile knows {', '.join(PROFILE_FIELDS)}; not “{key[:20]}”.")
            field, low, high, what = PROFILE_FIELDS[key]
            if value.strip().lower() in ("", "none", "clear", "-"):
                changes[field] = None
            elif key == "goal":
                changes[field] = parse_zone(value)
            else:
                changes[field] = parse_int(value, what, low, high)
        current = await asyncio.to_thread(self.repo.profile, uid)
        try:
            profile = HeartProfile(**{**current, **changes})
        except ValueError as error:
            raise BadInput(f"That profile doesn't add up: {error}.") from None
        if changes:
            await asyncio.to_thread(self.repo.update_profile, uid, **changes)
        return Reply(
            title="Your heart profile" + (" (saved)" if changes else ""),
            text=describe_profile(profile),
        )

    async def workout(
        self,
        user: ChatUser,
        action: str = "",
        options: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> Reply:
        """/workout start [goal:ZONE] [cadence:N] | stop | status; ``args``: positional
        goal zone and cadence (``/workout start 4 170``)."""
        if self.workouts is None:
            raise UserFacingError("Workout mode is not available on this bot.")
        uid = await self.uid(user)
        options = dict(options or {})
        verb = action.strip().lower() or "status"
        if args and verb != "start":
            raise BadInput("Only /workout start takes more: a goal zone and a cadence.")
        for key, value in zip(("goal", "cadence"), args, strict=False):
            options.setdefault(key, value)
        if verb == "start":
            goal = parse_zone(options["goal"]) if options.get("goal") else None
            cadence = (
                parse_int(options["cadence"], "Cadence (steps per minute)", 60, 240)
                if options.get("cadence")
                else None
            )
            return await self.workouts.start(uid, goal, cadence)
        if verb == "stop":
            return await self.workouts.stop(uid)
        if verb == "status":
            return self.workouts.status(uid)
        raise BadInput(
            "Use /workout start [goal:ZONE] [cadence:N], /workout stop or /workout status."
        )

    def pick_for_context(
        self,
        uid: int,
        context: Context,
        n: int,
        exclude: set[str],
        steer: HeartSteer | None = None,
    ) -> list[tuple[str, str]]:
        """Up to ``n`` (track id, reason) for a context; blocking. Without a taste model, the
        catalog's popularity stands in for taste; with ``steer``, tracks expected to move the
        heart toward the goal zone rank higher."""
        tracks = self.catalog.tracks
        disliked = {t for t, v in self.repo.feedback(uid).items() if v < 0}
        exclude = exclude | disliked
        trained = self.taste.cached(uid)
        if trained is None:
            try:
                trained = self.taste.load_or_train(uid)
            except NoLibrary:
                trained = None
        if trained is not None:
            scores = trained.catalog_scores
            exclude = exclude | set(trained.library["track_id"])
            library, profile = trained.library_tracks, trained.model.profile
        else:
            scores = tracks["popularity"].fillna(0).to_numpy(dtype=float)
            library, profile = tracks.iloc[0:0], None
        taste = np.asarray(scores, dtype=float)
        # Other releases of the songs excluded (owned, disliked, suggested) are left out too.
        songs = self.catalog.songs_of(exclude, trained.library_songs if trained else None)
        keep = allowed(tracks.index, exclude) & ~self.catalog.same_songs(songs)
        rows = shortlist(tracks, taste, keep, context, steer)
        pool, taste = tracks.iloc[rows], taste[rows]
        if steer is not None:
            # Rank-based taste (what select does anyway) times the learned "toward the goal" term.
            taste = percentile_ranks(taste) * steer.weights(pool)
        selection = select(pool, taste, n, library=library, profile=profile, context=context)
        picks = [(p.track_id, p.reason) for p in selection.picks]
        if steer is None or not picks:
            return picks
        why = dict(picks)
        ordered = steer.order(list(why), pool)  # the track that plays now moves the heart most
        extra = steer.reasons(pool.loc[ordered], pool)
        return [
            (track_id, "; ".join(part for part in (why[track_id], more) if part))
            for track_id, more in zip(ordered, extra, strict=True)
        ]


def allowed(index: pd.Index, exclude: set[str]) -> np.ndarray:
    """Boolean mask (len(index),): False for the excluded ids (hash lookups, no full scan)."""
    keep = np.ones(len(index), dtype=bool)
    if exclude:
        wanted = list(exclude)
        wanted_index = pd.Index(wanted)
        found = (
            index.get_indexer(wanted_index)
            if index.is_unique
            else index.get_indexer_for(wanted_index)
        )
        keep[found[found >= 0]] = False
    return keep


def shortlist(
    tracks: pd.DataFrame,
    taste: np.ndarray,
    keep: np.ndarray,
    context: Context,
    steer: HeartSteer | None,
    size: int = PREFILTER,
) -> np.ndarray:
    """Row positions of the ``size`` allowed tracks scoring best on taste × context (× steer).

    ``select`` builds a playlist with reasons and a coherence figure, which costs ~20 ms over an
    80k catalog; a workout picks 3 tracks for each of a thousand listeners, so it ranks only the
    best-fitting slice in full.
    """
    positions = np.flatnonzero(keep)
    if len(positions) <= size:
        return positions
    rough = combined_scores(tracks, taste, context)
    if steer is not None:
        rough = rough * steer.weights(tracks)
    rough = rough[positions]
    best = np.argpartition(-np.nan_to_num(rough, nan=-1.0), size - 1)[:size]
    return positions[np.sort(best)]


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
