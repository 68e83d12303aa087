"""From taste scores to a list a listener gets: context fit, diversity, smooth order, one reason each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.candidates import MAX_PER_ARTIST, cap_per_artist
from recommender.context import Context, context_fit
from recommender.explain import reasons
from recommender.features import TasteProfile
from recommender.sequencing import coherence, order_playlist

#: With a context, a track keeps at least this share of its taste score however badly it fits.
CONTEXT_FLOOR = 0.25
SHORTLIST_FACTOR = 30
COHERENCE_REFERENCE = 2000


@dataclass(frozen=True)
class Pick:
    """One recommended track and why."""

    track_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class Selection:
    """Recommended tracks in playing order, and the order's coherence (None if under 3 tracks)."""

    picks: list[Pick]
    coherence: float | None


def percentile_ranks(scores: np.ndarray) -> np.ndarray:
    """Each score's rank as a fraction in (0, 1]; the best gets 1. Shape preserved."""
    n = len(scores)
    if n == 0:
        return np.zeros(0)
    ranks = np.empty(n)
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, n + 1)
    return ranks / n


def combined_scores(candidates: pd.DataFrame, taste: np.ndarray, context: Context) -> np.ndarray:
    """Taste percentile, scaled by the fit to the context when there is one. Shape (n,)."""
    pct = percentile_ranks(np.asarray(taste, dtype=float))
    if context.empty:
        return pct
    fit = context_fit(candidates, context)
    return pct * (CONTEXT_FLOOR + (1.0 - CONTEXT_FLOOR) * fit)


def select(
    candidates: pd.DataFrame,
    taste: np.ndarray,
    n: int,
    *,
    library: pd.DataFrame,
    profile: TasteProfile | None,
    context: Context | None = None,
    max_per_artist: int = MAX_PER_ARTIST,
    seed: int = 0,
) -> Selection:
    """The ``n`` best candidates (≤ ``max_per_artist`` per artist), ordered for smooth transitions.

    ``taste`` (n_candidates,) is the taste model's score of each candidate row.
    """
    context = context or Context()
    if candidates.empty or n <= 0:
        return Selection(picks=[], coherence=None)
    scores = combined_scores(candidates, taste, context)
    shortlist = min(len(candidates), max(n * SHORTLIST_FACTOR, 300))
    while True:
        top = np.argpartition(-scores, shortlist - 1)[:shortlist]
        top = top[np.argsort(-scores[top], kind="stable")]
        chosen = cap_per_artist(list(candidates.index[top]), candidates, n, cap=max_per_artist)
        # A few favourite artists can fill the whole shortlist: widen it until n fit the cap.
        if len(chosen) >= n or shortlist >= len(candidates):
            break
        shortlist = min(len(candidates), shortlist * 4)
    picked = candidates.loc[chosen]
    ordered_ids = order_playlist(picked) if len(picked) > 2 else list(picked.index)
    ordered = picked.loc[ordered_ids]
    by_id = dict(zip(candidates.index[top], scores[top], strict=True))
    why = reasons(ordered, library, profile, context)
    picks = [
        Pick(track_id=t, score=float(by_id[t]), reason=r)
        for t, r in zip(ordered_ids, why, strict=True)
    ]
    value = None
    if len(ordered) >= 3:
        rng = np.random.default_rng(seed)
        size = min(COHERENCE_REFERENCE, len(candidates))
        reference = candidates.iloc[rng.choice(len(candidates), size=size, replace=False)]
        value = float(coherence(ordered, reference, rng_seed=seed))
    return Selection(picks=picks, coherence=value)
