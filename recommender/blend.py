"""One list for several listeners that is fair by construction (``/blend``).

Each member's own taste model scores the candidates; the scores are made comparable as each
member's own percentile (a model's raw scale says nothing across listeners). A track *serves* a
member when it is in that member's top decile (percentile ≥ :data:`TOP_DECILE`); a member's
satisfaction is the share of the list that serves them. The list is built greedily, each step
taking the track that most raises the worst-served member's satisfaction, then the members'
total; among tracks equal on those, the one that most raises the worst-served member's count of
tracks in their own top 2 % (:data:`TOP_TWO_PERCENT`), then that total; then the track's
least-misery percentile (its worst member's), then its mean percentile — with at most 2 tracks
per artist — and is finally ordered for smooth transitions
(:func:`recommender.sequencing.order_playlist`).

Many tracks tie on the top-decile counts (any track in everyone's top decile does), so the
stricter bar decides among them: in ``bench/blend.py`` it raises the worst member's top-2 % share
×1.55 over the plain average on random groups (today's top-decile figures unchanged) and ×2.6 on
groups with a member of distant taste, where the top-decile worst share is ×1.5.

:func:`average_pick` (plain mean of percentiles) and :func:`single_pick` (one member's own
ranking) are the baselines ``bench/blend.py`` measures against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.candidates import MAX_PER_ARTIST, cap_per_artist
from recommender.context import Context, context_fit, within_taste
from recommender.features import track_artist_keys
from recommender.ranking import percentile_ranks
from recommender.sequencing import order_playlist

#: A track serves a member when it is in their own top decile.
TOP_DECILE = 0.9
#: The stricter bar that breaks ties: a member's own top 2 %.
TOP_TWO_PERCENT = 0.98
#: How many of each member's best tracks the greedy pass chooses from, per track asked for.
SHORTLIST_PER_TRACK = 40
MIN_SHORTLIST = 400


@dataclass(frozen=True)
class BlendPick:
    """One track of a blend: whom it serves (member positions) and its percentile per member."""

    track_id: str
    serves: tuple[int, ...]
    percentiles: tuple[float, ...]


@dataclass(frozen=True)
class Blend:
    """A blend in playing order and each member's satisfaction (share of the list serving them)."""

    picks: list[BlendPick]
    satisfaction: tuple[float, ...]

    @property
    def worst(self) -> float:
        """The worst-served member's satisfaction (0 for an empty list)."""
        return min(self.satisfaction, default=0.0)

    @property
    def mean(self) -> float:
        """The members' mean satisfaction."""
        return float(np.mean(self.satisfaction)) if self.satisfaction else 0.0


def member_percentiles(
    candidates: pd.DataFrame,
    scores: np.ndarray,
    rows: np.ndarray,
    context: Context | None = None,
) -> np.ndarray:
    """Shape (members, len(rows)): each member's own percentile of each candidate row; with a
    ``context``, the percentile of the member's context score as ``/recommend`` makes it (the
    moment re-ranks what their taste rates well: :func:`recommender.context.within_taste`).
    ``scores`` is (members, len(candidates))."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))[:, rows]
    pct = np.vstack([percentile_ranks(np.nan_to_num(s, nan=-np.inf)) for s in scores])
    if context is not None and not context.empty:
        fit = context_fit(candidates, context)[rows]
        pct = np.vstack([percentile_ranks(within_taste(p, fit)) for p in pct])
    return pct


def satisfaction(pct: np.ndarray, chosen: Sequence[int]) -> tuple[float, ...]:
    """Each member's share of the ``chosen`` columns of ``pct`` (members, n) in their top decile."""
    if not len(chosen):
        return tuple(0.0 for _ in range(len(pct)))
    served = pct[:, list(chosen)] >= TOP_DECILE
    return tuple(float(v) for v in served.mean(axis=1))


def fair_pick(
    candidates: pd.DataFrame, pct: np.ndarray, n: int, cap: int = MAX_PER_ARTIST
) -> list[int]:
    """Column positions of ``pct`` (members, len(candidates)) for a fair list of up to ``n``:
    greedily, least misery of the members' satisfaction, then its mean, then the same two for the
    members' counts in their top 2 %, then the track's least misery and mean percentile; at most
    ``cap`` tracks per artist, one release per song."""
    members, total = pct.shape
    if n <= 0 or total == 0:
        return []
    size = min(total, max(MIN_SHORTLIST, SHORTLIST_PER_TRACK * n))
    pool = np.unique(
        np.concatenate([np.argpartition(-p, size - 1)[:size] for p in pct])
        if size < total
        else np.arange(total)
    )
    sub = pct[:, pool]
    serves, delights = sub >= TOP_DECILE, sub >= TOP_TWO_PERCENT
    worst, mean = sub.min(axis=0), sub.mean(axis=0)
    counts, strict = np.zeros(members), np.zeros(members)
    open_ = np.ones(len(pool), dtype=bool)
    per_artist: Counter[str] = Counter()
    titles: set[tuple[str, str]] = set()
    chosen: list[int] = []
    names = candidates["name"].to_numpy()
    artists = candidates["artists"].to_numpy()
    while len(chosen) < n and open_.any():
        after = counts[:, None] + serves  # (members, pool): the counts if each were taken
        after_strict = strict[:, None] + delights
        keys = (  # np.lexsort: the last key is the first criterion
            mean,
            worst,
            after_strict.sum(axis=0),
            after_strict.min(axis=0),
            after.sum(axis=0),
            after.min(axis=0),
        )
        order = np.lexsort(tuple(np.where(open_, k, -np.inf) for k in keys))
        best = int(order[-1])
        open_[best] = False
        row = int(pool[best])
        artist_keys = track_artist_keys(str(artists[row]))
        title = (" ".join(str(names[row]).lower().split()), ";".join(sorted(artist_keys)))
        if (title[0] and title in titles) or any(per_artist[k] >= cap for k in artist_keys):
            continue
        chosen.append(row)
        titles.add(title)
        per_artist.update(artist_keys)
        counts += serves[:, best]
        strict += delights[:, best]
    return chosen


def average_pick(
    candidates: pd.DataFrame, pct: np.ndarray, n: int, cap: int = MAX_PER_ARTIST
) -> list[int]:
    """The plain average: the ``n`` best mean percentiles (≤ ``cap`` per artist)."""
    return _ranked(candidates, pct.mean(axis=0), n, cap)


def single_pick(
    candidates: pd.DataFrame, pct: np.ndarray, member: int, n: int, cap: int = MAX_PER_ARTIST
) -> list[int]:
    """One member's own list: their ``n`` best percentiles (≤ ``cap`` per artist)."""
    return _ranked(candidates, pct[member], n, cap)


def _ranked(candidates: pd.DataFrame, score: np.ndarray, n: int, cap: int) -> list[int]:
    size = min(len(score), max(MIN_SHORTLIST, SHORTLIST_PER_TRACK * n))
    top = np.argpartition(-score, size - 1)[:size] if size < len(score) else np.arange(len(score))
    top = top[np.argsort(-score[top], kind="stable")]
    ids = cap_per_artist(list(candidates.index[top]), candidates, n, cap=cap)
    position = {track_id: int(p) for track_id, p in zip(candidates.index[top], top, strict=True)}
    return [position[t] for t in ids]


def blend(
    candidates: pd.DataFrame,
    scores: np.ndarray,
    n: int,
    *,
    keep: np.ndarray | None = None,
    context: Context | None = None,
) -> Blend:
    """A fair list of up to ``n`` of ``candidates`` for the members whose taste scores are the
    rows of ``scores`` (members, len(candidates)), in smooth playing order. ``keep`` (a boolean
    mask over the candidates, default all) leaves rows out, as :func:`recommender.ranking.select`
    does."""
    rows = np.arange(len(candidates)) if keep is None else np.flatnonzero(keep)
    scores = np.atleast_2d(scores)
    if not len(rows) or n <= 0:
        return Blend(picks=[], satisfaction=tuple(0.0 for _ in range(len(scores))))
    pool = candidates.iloc[rows]
    pct = member_percentiles(candidates, scores, rows, context)
    chosen = fair_pick(pool, pct, n)
    picked = pool.iloc[chosen]
    ordered = order_playlist(picked) if len(picked) > 2 else [str(t) for t in picked.index]
    column = {str(t): c for t, c in zip(picked.index, chosen, strict=True)}
    picks = [
        BlendPick(
            track_id=t,
            serves=tuple(int(m) for m in np.flatnonzero(pct[:, column[t]] >= TOP_DECILE)),
            percentiles=tuple(float(v) for v in pct[:, column[t]]),
        )
        for t in ordered
    ]
    return Blend(picks=picks, satisfaction=satisfaction(pct, chosen))
