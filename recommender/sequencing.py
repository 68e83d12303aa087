"""Playlist ordering for smooth transitions: Camelot keys, tempo compatibility, coherence.

Formulas are in shared/reference/heart-and-music.md. Track tables follow ``recommender.tracks``:
indexed by track id, NaN where a feature is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

LN2 = math.log(2.0)
TEMPO_TOLERANCE = 0.06

#: Cost of each part of a transition. Key and tempo are what a DJ mixes on; energy is the arc;
#: valence and danceability are lighter so that coherence (which measures them) also benefits.
KEY_SAME, KEY_COMPATIBLE, KEY_CLASH, KEY_UNKNOWN = 0.0, 0.3, 1.0, 0.6
TEMPO_UNKNOWN = 0.6
FEATURE_WEIGHTS: dict[str, float] = {"energy": 1.0, "valence": 0.35, "danceability": 0.35}
#: A feature jump of this size costs its full weight; unknown values cost half of it.
FEATURE_SCALE = 0.3

COHERENCE_FEATURES: tuple[str, ...] = ("tempo", "energy", "valence", "danceability")
COHERENCE_PAIRS = 5000


def camelot_code(key: float | None, mode: float | None) -> str | None:
    """Camelot wheel code ("8B") of a Spotify pitch class 0–11 and mode (1 major, 0 minor)."""
    number = _camelot_number(key, mode)
    if number is None or mode is None:
        return None
    return f"{number}{'B' if int(mode) == 1 else 'A'}"


def _camelot_number(key: float | None, mode: float | None) -> int | None:
    """Wheel number 1–12, or None when key or mode is unknown (NaN, −1, None)."""
    if key is None or mode is None or _isnan(key) or _isnan(mode) or not 0 <= key <= 11:
        return None
    pitch = int(key)
    if int(mode) == 0:
        pitch = (pitch + 3) % 12  # a minor key sits on its relative major's number
    return ((pitch * 7) % 12 + 7) % 12 + 1


def _isnan(value: float) -> bool:
    """NaN test that tolerates pandas NA and non-floats."""
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _parse_camelot(code: str) -> tuple[int, str]:
    """(number, letter) of a code such as "12A"."""
    return int(code[:-1]), code[-1].upper()


def keys_compatible(a: str | None, b: str | None) -> bool:
    """Harmonic-mixing compatibility: same code, ±1 on the wheel, or relative major/minor."""
    if a is None or b is None:
        return False
    (na, la), (nb, lb) = _parse_camelot(a), _parse_camelot(b)
    step = min((na - nb) % 12, (nb - na) % 12)
    return (la == lb and step <= 1) or (step == 0 and la != lb)


def tempo_compatible(bpm1: float, bpm2: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    """|bpm2 / bpm1 − 1| ≤ tolerance after trying bpm2 × 2 and × 0.5; False if either is unknown."""
    if _isnan(bpm1) or _isnan(bpm2) or bpm1 <= 0 or bpm2 <= 0:
        return False
    return any(abs(bpm2 * k / bpm1 - 1.0) <= tolerance for k in (1.0, 2.0, 0.5))


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Float arrays of what transitions need: Camelot number/letter, log-tempo and features."""
    n = len(frame)

    def col(name: str) -> np.ndarray:
        if name not in frame.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)

    key, mode = col("key"), col("mode")
    known = ~np.isnan(key) & ~np.isnan(mode) & (key >= 0) & (key <= 11)
    pitch = np.where(mode == 0, key + 3, key)
    number = np.where(known, ((pitch * 7) % 12 + 7) % 12 + 1, np.nan)
    tempo = col("tempo")
    with np.errstate(invalid="ignore", divide="ignore"):
        log_tempo = np.where(tempo > 0, np.log(tempo), np.nan)
    out = {"number": number, "major": np.where(known, mode, np.nan), "log_tempo": log_tempo}
    for name in FEATURE_WEIGHTS:
        out[name] = col(name)
    return out


def _cost(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> np.ndarray:
    """Transition costs from every track of ``a`` to every track of ``b``, shape (len a, len b)."""

    def pair(name: str) -> tuple[np.ndarray, np.ndarray]:
        return a[name][:, None], b[name][None, :]

    (na, nb), (ma, mb) = pair("number"), pair("major")
    step = np.abs(na - nb) % 12
    step = np.minimum(step, 12 - step)
    same = (step == 0) & (ma == mb)
    compatible = ((ma == mb) & (step == 1)) | ((step == 0) & (ma != mb))
    key = np.where(same, KEY_SAME, np.where(compatible, KEY_COMPATIBLE, KEY_CLASH))
    key = np.where(np.isnan(na) | np.isnan(nb), KEY_UNKNOWN, key)

    ta, tb = pair("log_tempo")
    gap = np.abs(ta - tb)
    folded = np.minimum(gap, np.abs(gap - LN2))  # octave errors: compare r, 2r, r/2
    # Half a point at the tolerance edge, capped so one bad tempo can't swamp everything else.
    tempo = 0.5 * np.minimum(folded / math.log1p(TEMPO_TOLERANCE), 4.0)
    total = key + np.where(np.isnan(folded), TEMPO_UNKNOWN, tempo)

    for name, weight in FEATURE_WEIGHTS.items():
        fa, fb = pair(name)
        jump = np.minimum(np.abs(fa - fb) / FEATURE_SCALE, 2.0)
        total = total + weight * np.where(np.isnan(jump), 0.5, jump)
    return np.asarray(total, dtype=float)


def transition_cost(a: Mapping[str, Any] | pd.Series, b: Mapping[str, Any] | pd.Series) -> float:
    """Cost (≥ 0, lower is smoother) of playing track ``b`` right after track ``a``."""
    frame = pd.DataFrame([dict(a), dict(b)])
    cols = _columns(frame)
    first = {k: v[:1] for k, v in cols.items()}
    second = {k: v[1:] for k, v in cols.items()}
    return float(_cost(first, second)[0, 0])


def transition_costs(tracks: pd.DataFrame) -> np.ndarray:
    """Symmetric matrix of transition costs between the rows of ``tracks``, shape (n, n)."""
    cols = _columns(tracks)
    return _cost(cols, cols)


def order_playlist(tracks: pd.DataFrame, start: str | None = None) -> list[str]:
    """Track ids ordered for smooth key/tempo/energy transitions (greedy + 2-opt).

    Without ``start`` the calmest track (lowest energy, then tempo) opens, so the set ramps up.
    """
    ids = [str(i) for i in tracks.index]
    n = len(ids)
    if n <= 1:
        return ids
    if start is not None:
        if start not in ids:
            raise ValueError(f"start track {start!r} is not in the table")
        first = ids.index(start)
    else:
        cols = _columns(tracks)
        # Unknown energy or tempo sorts last: we only open with a track we know is calm.
        order = np.lexsort(
            (
                np.nan_to_num(cols["log_tempo"], nan=np.inf),
                np.nan_to_num(cols["energy"], nan=np.inf),
            )
        )
        first = int(order[0])
    cost = transition_costs(tracks)
    path = _greedy(cost, first)
    path = _two_opt(cost, path)
    return [ids[i] for i in path]


def _greedy(cost: np.ndarray, first: int) -> np.ndarray:
    """Nearest-neighbour path from ``first``; ties go to the earlier row."""
    n = len(cost)
    visited = np.zeros(n, dtype=bool)
    path = np.empty(n, dtype=int)
    current = first
    for position in range(n):
        path[position] = current
        visited[current] = True
        if position < n - 1:
            current = int(np.argmin(np.where(visited, np.inf, cost[current])))
    return path


def _two_opt(cost: np.ndarray, path: np.ndarray, max_moves: int = 2000) -> np.ndarray:
    """Improve an open path with a fixed first track by segment reversals (best move each round)."""
    n = len(path)
    if n < 3:
        return path
    # A free "end" node at zero cost lets the last track move like any other.
    padded = np.zeros((n + 1, n + 1))
    padded[:n, :n] = cost
    q = np.append(path, n)
    upper = np.triu(np.ones((n - 1, n - 1), dtype=bool), k=1)
    for _ in range(max_moves):
        prev, cur = q[: n - 1], q[1:n]  # edge (i−1, i) for i = 1..n−1
        nxt = q[2 : n + 1]  # the node after position j = 1..n−1
        delta = (
            padded[prev[:, None], cur[None, :]]
            + padded[cur[:, None], nxt[None, :]]
            - padded[prev, cur][:, None]
            - padded[cur, nxt][None, :]
        )
        delta = np.where(upper, delta, 0.0)
        best = int(np.argmin(delta))
        if delta.flat[best] > -1e-9:
            break
        i, j = divmod(best, n - 1)
        q[i + 1 : j + 2] = q[i + 1 : j + 2][::-1].copy()
    return q[:n]


def coherence(ordered: pd.DataFrame, reference: pd.DataFrame, rng_seed: int = 0) -> float:
    """Mean over tempo, energy, valence, danceability of 1 − neighbour gap / random-pair gap.

    1 means neighbours are identical, 0 means no smoother than random pairs of ``reference``;
    NaN values are skipped, and NaN is returned when no feature can be measured.
    """
    rng = np.random.default_rng(rng_seed)
    scores = []
    for name in COHERENCE_FEATURES:
        if name not in ordered.columns or name not in reference.columns:
            continue
        values = pd.to_numeric(ordered[name], errors="coerce").to_numpy(dtype=float)
        steps = np.abs(np.diff(values))
        steps = steps[~np.isnan(steps)]
        pool = pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=float)
        pool = pool[~np.isnan(pool)]
        if len(steps) == 0 or len(pool) < 2:
            continue
        a = rng.integers(0, len(pool), COHERENCE_PAIRS)
        b = rng.integers(0, len(pool) - 1, COHERENCE_PAIRS)
        b = b + (b >= a)  # distinct pairs without rejection sampling
        random_gap = float(np.mean(np.abs(pool[a] - pool[b])))
        if random_gap <= 0:
            continue
        scores.append(1.0 - float(steps.mean()) / random_gap)
    return float(np.mean(scores)) if scores else float("nan")
