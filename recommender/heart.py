"""Heart-rate arithmetic for workout mode: HRmax, %HRR zones, smoothing, music targets, HR response.

Formulas and their sources are in shared/reference/heart-and-music.md. beatmatch's zones are the
ACSM intensity classes on heart-rate reserve (Karvonen); the 5-zone %HRmax model of wearables is
only offered for display because users recognise it from their watches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

DEFAULT_AGE = 30
DEFAULT_RESTING_HR = 60

#: Lower %HRR bound of ACSM classes 1..5 (Garber 2011); zone k covers [bound k, bound k+1).
ZONE_LOWER_PCT_HRR: tuple[float, ...] = (0.0, 30.0, 40.0, 60.0, 90.0)
ZONE_NAMES: dict[int, str] = {
    1: "very light",
    2: "light",
    3: "moderate",
    4: "vigorous",
    5: "near-max",
}
#: Lower %HRmax bound of the wearable zones Z1..Z5; below 50 % a watch shows "rest" (zone 0).
HRMAX_ZONE_LOWER_PCT: tuple[float, ...] = (50.0, 60.0, 70.0, 80.0, 90.0)

Direction = Literal["raise", "hold", "lower"]


def tanaka_hrmax(age: float) -> float:
    """Age-predicted maximum heart rate, 208 − 0.7 × age (Tanaka 2001)."""
    return 208.0 - 0.7 * age


def heart_rate_reserve(max_hr: float, resting_hr: float) -> float:
    """Heart-rate reserve HRmax − HRrest (Karvonen)."""
    return max_hr - resting_hr


def percent_hrr(hr: float, resting_hr: float, max_hr: float) -> float:
    """Heart rate as a percentage of heart-rate reserve; may fall outside 0–100."""
    return 100.0 * (hr - resting_hr) / (max_hr - resting_hr)


def karvonen_target_hr(intensity: float, resting_hr: float, max_hr: float) -> float:
    """Heart rate at a fraction ``intensity`` of the reserve: HRrest + intensity × HRR."""
    return resting_hr + intensity * (max_hr - resting_hr)


def zone_for_pct_hrr(pct: float) -> int:
    """beatmatch zone 1..5 (ACSM class) for a %HRR value."""
    zone = 1
    for k, bound in enumerate(ZONE_LOWER_PCT_HRR[1:], start=2):
        if pct >= bound:
            zone = k
    return zone


def zone_name(zone: int) -> str:
    """Human name of a beatmatch zone ("moderate")."""
    return ZONE_NAMES[zone]


def hrmax_zone(hr: float, max_hr: float) -> int:
    """Wearable-style zone 0..5 on %HRmax (0 = below 50 %, 5 = 90 % and above), for display only."""
    pct = 100.0 * hr / max_hr
    return sum(1 for bound in HRMAX_ZONE_LOWER_PCT if pct >= bound)


@dataclass(frozen=True)
class HeartProfile:
    """What the user told us about their heart; None means "not given, use the default"."""

    age: int | None = None
    resting_hr: int | None = None
    max_hr: int | None = None
    cadence: int | None = None
    goal_zone: int | None = None

    def __post_init__(self) -> None:
        """Reject values no adult heart has, so a typo can't produce nonsense zones."""
        if self.age is not None and not 10 <= self.age <= 100:
            raise ValueError(f"age must be 10–100, got {self.age}")
        if self.resting_hr is not None and not 30 <= self.resting_hr <= 120:
            raise ValueError(f"resting heart rate must be 30–120 bpm, got {self.resting_hr}")
        if self.max_hr is not None and not 120 <= self.max_hr <= 230:
            raise ValueError(f"maximum heart rate must be 120–230 bpm, got {self.max_hr}")
        if self.cadence is not None and not 60 <= self.cadence <= 240:
            raise ValueError(f"cadence must be 60–240 steps/min, got {self.cadence}")
        if self.goal_zone is not None and self.goal_zone not in ZONE_NAMES:
            raise ValueError(f"goal zone must be 1–5, got {self.goal_zone}")
        if self.effective_max_hr - self.effective_resting_hr < 30:
            raise ValueError("maximum heart rate must be at least 30 bpm above resting")

    @property
    def effective_resting_hr(self) -> float:
        """Resting HR, or the default 60."""
        return float(self.resting_hr if self.resting_hr is not None else DEFAULT_RESTING_HR)

    @property
    def effective_max_hr(self) -> float:
        """The max-HR override, else Tanaka from age (default 30)."""
        if self.max_hr is not None:
            return float(self.max_hr)
        return tanaka_hrmax(self.age if self.age is not None else DEFAULT_AGE)

    def defaults_in_use(self) -> tuple[str, ...]:
        """Fields whose default is assumed ("age" only counts when there is no max_hr)."""
        used: list[str] = []
        if self.max_hr is None and self.age is None:
            used.append("age")
        if self.resting_hr is None:
            used.append("resting_hr")
        return tuple(used)

    def pct_hrr(self, hr: float) -> float:
        """%HRR of ``hr`` for this profile."""
        return percent_hrr(hr, self.effective_resting_hr, self.effective_max_hr)

    def zone(self, hr: float) -> int:
        """beatmatch zone 1..5 of ``hr`` for this profile."""
        return zone_for_pct_hrr(self.pct_hrr(hr))

    def zone_bounds(self) -> list[tuple[int, float, float]]:
        """(zone, lowest HR, HR where the next zone starts) for zones 1..5; zone 5 ends at HRmax."""
        rest, top = self.effective_resting_hr, self.effective_max_hr
        lows = [karvonen_target_hr(p / 100.0, rest, top) for p in ZONE_LOWER_PCT_HRR]
        highs = [*lows[1:], top]
        return [(k + 1, lows[k], highs[k]) for k in range(5)]


class HeartRateSmoother:
    """Time-aware exponential smoother for ~1 Hz samples; irregular gaps weigh by elapsed time."""

    def __init__(self, tau_seconds: float = 5.0, reset_after: float = 30.0) -> None:
        """``tau_seconds`` is the time constant; a gap longer than ``reset_after`` restarts."""
        self.tau = tau_seconds
        self.reset_after = reset_after
        self.value: float | None = None
        self._last_t = 0.0

    def update(self, t: float, hr: float) -> float:
        """Fold sample ``hr`` taken at time ``t`` (seconds) in and return the smoothed value."""
        dt = t - self._last_t
        if self.value is None or dt > self.reset_after:
            # After a gap the old value says nothing about the present: start from the sample.
            self.value = float(hr)
        elif dt > 0:
            alpha = 1.0 - math.exp(-dt / self.tau)
            self.value += alpha * (hr - self.value)
        self._last_t = t
        return self.value


@dataclass(frozen=True)
class TempoBand:
    """A tempo range in beats per minute."""

    low: float
    high: float

    @property
    def centre(self) -> float:
        """Middle of the band."""
        return (self.low + self.high) / 2.0

    def scaled(self, factor: float) -> TempoBand:
        """The band multiplied by ``factor`` (a goal-mode nudge)."""
        return TempoBand(self.low * factor, self.high * factor)


#: Asynchronous-music tempo per zone (Karageorghis & Jones 2014): warm-up/cool-down, moderate,
#: vigorous; preference plateaus, so near-max keeps the vigorous band.
ZONE_TEMPO: dict[int, TempoBand] = {
    1: TempoBand(115.0, 125.0),
    2: TempoBand(115.0, 125.0),
    3: TempoBand(125.0, 135.0),
    4: TempoBand(130.0, 145.0),
    5: TempoBand(130.0, 145.0),
}
#: Target Spotify energy per zone: rises with effort.
ZONE_ENERGY: dict[int, float] = {1: 0.45, 2: 0.55, 3: 0.68, 4: 0.80, 5: 0.88}
#: Goal-mode nudges: a few percent of tempo pulls effort (and cadence) along (Van Dyck 2015).
RAISE_TEMPO, LOWER_TEMPO = 1.03, 0.95
RAISE_ENERGY, LOWER_ENERGY = 0.07, -0.10
#: Half-width of the tempo band around a cadence-matched tempo.
CADENCE_TOLERANCE = 0.02


@dataclass(frozen=True)
class MusicTarget:
    """What the next tracks should sound like; ``direction`` is None without a goal zone."""

    zone: int
    tempo: TempoBand
    energy: float
    direction: Direction | None = None
    from_cadence: bool = False


def tempo_from_cadence(cadence: float) -> float | None:
    """Beat tempo matching a step cadence: the cadence itself, else half of it, in 60–200 bpm."""
    for bpm in (cadence, cadence / 2.0):
        if 60.0 <= bpm <= 200.0:
            return float(bpm)
    return None


def goal_direction(zone: int, goal_zone: int) -> Direction:
    """Whether the music should push effort up, hold it, or ease it off."""
    if zone < goal_zone:
        return "raise"
    if zone > goal_zone:
        return "lower"
    return "hold"


def music_target(
    zone: int, goal_zone: int | None = None, cadence: float | None = None
) -> MusicTarget:
    """Target tempo band and energy for the current zone, steered toward ``goal_zone`` if given."""
    direction = goal_direction(zone, goal_zone) if goal_zone is not None else None
    # With a goal the music fits the effort we want, not the effort we have.
    base_zone = goal_zone if goal_zone is not None else zone
    band, energy = ZONE_TEMPO[base_zone], ZONE_ENERGY[base_zone]
    factor = {"raise": RAISE_TEMPO, "lower": LOWER_TEMPO}.get(direction or "hold", 1.0)
    energy += {"raise": RAISE_ENERGY, "lower": LOWER_ENERGY}.get(direction or "hold", 0.0)
    beat = tempo_from_cadence(cadence) if cadence else None
    if beat is not None:
        # Synchronous music: step on the beat; the nudge stays small so the runner can follow.
        nudge = 1.0 + (factor - 1.0) / 2.0
        centre = beat * nudge
        band = TempoBand(centre * (1 - CADENCE_TOLERANCE), centre * (1 + CADENCE_TOLERANCE))
    else:
        band = band.scaled(factor)
    energy = min(max(energy, 0.0), 1.0)
    return MusicTarget(zone, band, energy, direction, from_cadence=beat is not None)


def fold_tempos(track_bpm: np.ndarray, target_bpm: float) -> np.ndarray:
    """Each of r, 2r, r/2 nearest (in ratio) to ``target_bpm``; shape kept, NaN stays NaN."""
    r = np.asarray(track_bpm, dtype=float)
    options = np.stack([r, 2.0 * r, r / 2.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.abs(np.log(options / target_bpm))
    best = np.argmin(np.nan_to_num(distance, nan=np.inf), axis=0)
    return np.take_along_axis(options, best[None, ...], axis=0)[0]


def fold_tempo(track_bpm: float, target_bpm: float) -> float:
    """The one of r, 2r, r/2 nearest (in ratio) to ``target_bpm``, to undo octave errors."""
    return float(fold_tempos(np.asarray(track_bpm, dtype=float), target_bpm))


#: Relative distance outside the band at which the fit score drops to e^-1.
TEMPO_FIT_WIDTH = 0.08
#: Fit given to a track whose tempo is unknown: neither rewarded nor ruled out.
UNKNOWN_TEMPO_FIT = 0.5


def tempo_fits(track_bpm: np.ndarray, band: TempoBand) -> np.ndarray:
    """Scores in [0, 1]: 1 inside the band (after octave folding), decaying outside; NaN → 0.5."""
    folded = fold_tempos(track_bpm, band.centre)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.log(band.low / folded)
        above = np.log(folded / band.high)
    outside = np.maximum(np.maximum(below, above), 0.0)
    score = np.exp(-((outside / TEMPO_FIT_WIDTH) ** 2))
    return np.where(np.isnan(folded), UNKNOWN_TEMPO_FIT, score)


def tempo_fit(track_bpm: float, band: TempoBand) -> float:
    """Score in [0, 1] of how well one track's tempo fits ``band``."""
    return float(tempo_fits(np.asarray(track_bpm, dtype=float), band))


RESPONSE_FEATURES: tuple[str, ...] = ("tempo", "energy", "loudness", "danceability", "start_hr")
MIN_SEGMENTS = 12


@dataclass
class HeartResponseModel:
    """Ridge regression of ΔHR over a track on tempo, energy, loudness, danceability, start HR."""

    alpha: float = 1.0
    n_segments: int = 0
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    intercept: float = 0.0

    @property
    def is_ready(self) -> bool:
        """True once fitted on enough segments for its coefficients to mean something."""
        return bool(self.weights) and self.n_segments >= MIN_SEGMENTS

    def fit(self, segments: pd.DataFrame) -> HeartResponseModel:
        """Fit on rows with the ``RESPONSE_FEATURES`` columns and ``delta_hr``; returns self."""
        rows = segments.dropna(subset=["delta_hr", "start_hr"])
        if len(rows) < 2:
            self.n_segments, self.weights = len(rows), []
            return self
        x = _design(rows)
        y = rows["delta_hr"].to_numpy(dtype=float)
        known = ~np.isnan(x)
        mean = np.nansum(x, axis=0) / np.maximum(known.sum(axis=0), 1)
        x = np.where(known, x, mean)  # unknown feature → training mean → no effect
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0  # a constant column carries no information; avoid 0/0
        z = (x - mean) / scale
        # Closed-form ridge on centred data keeps the intercept out of the penalty.
        gram = z.T @ z + self.alpha * np.eye(z.shape[1])
        w = np.linalg.solve(gram, z.T @ (y - y.mean()))
        self.n_segments = len(rows)
        self.mean, self.scale, self.weights = mean.tolist(), scale.tolist(), w.tolist()
        self.intercept = float(y.mean())
        return self

    def predict_delta(self, tracks: pd.DataFrame, start_hr: float | np.ndarray) -> np.ndarray:
        """Predicted ΔHR, shape (n_tracks,); zeros while unfitted (no opinion)."""
        if not self.weights:
            return np.zeros(len(tracks))
        x = _design(tracks, start_hr)
        mean = np.asarray(self.mean)
        x = np.where(np.isnan(x), mean, x)
        z = (x - mean) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.weights) + self.intercept, dtype=float)

    def coefficients(self) -> dict[str, float]:
        """ΔHR per unit of each feature (bpm per bpm of tempo, per unit energy, …) and intercept."""
        if not self.weights:
            return {}
        out = {
            name: w / s
            for name, w, s in zip(RESPONSE_FEATURES, self.weights, self.scale, strict=True)
        }
        out["intercept"] = self.intercept - sum(
            out[n] * m for n, m in zip(RESPONSE_FEATURES, self.mean, strict=True)
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "features": list(RESPONSE_FEATURES),
            "alpha": self.alpha,
            "n_segments": self.n_segments,
            "mean": self.mean,
            "scale": self.scale,
            "weights": self.weights,
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeartResponseModel:
        """Rebuild a model stored with ``to_dict``; a different feature list is refused."""
        if list(data.get("features", RESPONSE_FEATURES)) != list(RESPONSE_FEATURES):
            raise ValueError("stored heart-response model uses other features; refit it")
        return cls(
            alpha=float(data["alpha"]),
            n_segments=int(data["n_segments"]),
            mean=[float(v) for v in data["mean"]],
            scale=[float(v) for v in data["scale"]],
            weights=[float(v) for v in data["weights"]],
            intercept=float(data["intercept"]),
        )


#: Tempo is folded around this before regression, so a 70 bpm catalog error reads as 140.
RESPONSE_TEMPO_CENTRE = 120.0


def _design(frame: pd.DataFrame, start_hr: float | np.ndarray | None = None) -> np.ndarray:
    """Feature matrix (n_rows, len(RESPONSE_FEATURES)); missing columns become NaN.

    ``start_hr``, when given, stands in for the frame's column (no copy of a large catalog).
    """
    columns = []
    for name in RESPONSE_FEATURES:
        if name == "start_hr" and start_hr is not None:
            values = np.broadcast_to(np.asarray(start_hr, dtype=float), (len(frame),))
        elif name in frame.columns:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        else:
            values = np.full(len(frame), np.nan)
        if name == "tempo":
            values = fold_tempos(values, RESPONSE_TEMPO_CENTRE)
        columns.append(values)
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


#: A track expected to land this many bpm further from the goal than the best candidate keeps
#: e^-1 of the "moves your heart toward the goal" credit.
TOWARD_GOAL_SCALE_BPM = 5.0


def goal_hr_band(profile: HeartProfile, goal_zone: int) -> tuple[float, float]:
    """(lowest, highest) heart rate of ``goal_zone`` for ``profile``."""
    for zone, low, high in profile.zone_bounds():
        if zone == goal_zone:
            return low, high
    raise ValueError(f"goal zone must be 1–5, got {goal_zone}")


def toward_goal(
    end_hr: np.ndarray, goal_low: float, goal_high: float, scale: float = TOWARD_GOAL_SCALE_BPM
) -> np.ndarray:
    """Credit in (0, 1] per track for where its predicted end HR lands, shape kept.

    Distance is measured to the middle half of the goal band (aiming at the edge of a zone leaves
    the listener on its border); the tracks landing closest get 1, the others decay by ``scale``
    bpm of extra distance, so when every track lands alike nobody is preferred. NaN → 0.5.
    """
    end = np.asarray(end_hr, dtype=float)
    quarter = (goal_high - goal_low) / 4.0
    low, high = goal_low + quarter, goal_high - quarter
    distance = np.maximum(low - end, 0.0) + np.maximum(end - high, 0.0)
    if end.size == 0 or np.all(np.isnan(distance)):
        return np.full(end.shape, 0.5)
    best = float(np.nanmin(distance))
    credit = np.exp(-(distance - best) / scale)
    return np.where(np.isnan(distance), 0.5, credit)
