"""The one ranker: from taste scores to what a listener gets, for /recommend, workouts, the digest
and ``eval next-likes``.

Taste scores become percentile ranks, re-ranked by the fit to a context (mood, tempo, heart zone)
among the best by taste when there is one; :func:`select` then keeps the best (≤ 2 per artist), with a
share of the slots kept for artists new to the listener among those the taste model rates well,
orders them for smooth transitions and gives each one reason. :func:`pick` is the workout and digest picker around it: it
ranks only a shortlist of the catalog and may be steered by a learned heart-rate response.
:func:`rank_order` is the context-free order the next-likes protocol measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from recommender.candidates import MAX_PER_ARTIST, cap_per_artist
from recommender.context import Context, context_fit, within_taste
from recommender.explain import reasons
from recommender.features import TasteProfile, track_artist_keys
from recommender.sequencing import coherence, order_playlist

SHORTLIST_FACTOR = 30
COHERENCE_REFERENCE = 2000
#: The workout picker ranks at most this many of the best-fitting catalog tracks in full.
PREFILTER = 1000
#: Tie-breaking noise of :func:`rank_order`: far below any real difference between two scores.
TIE_JITTER = 1e-9
#: Share of a list kept for artists the listener has none of (rounded up), when the shortlist
#: (the best by taste) holds them: without it, "more by artists you have" fills every slot.
DISCOVERY_SHARE = 0.3


class Steer(Protocol):
    """Steering toward a goal (a learned heart-rate response): what :func:`pick` asks of it."""

    def weights(self, tracks: pd.DataFrame) -> np.ndarray:
        """Score multipliers, shape (n_tracks,): higher = moves toward the goal."""
        ...

    def order(self, track_ids: list[str], tracks: pd.DataFrame) -> list[str]:
        """``track_ids`` in playing order (the one that should play now first)."""
        ...

    def reasons(self, picked: pd.DataFrame, pool: pd.DataFrame) -> list[str]:
        """A phrase (maybe empty) per picked track; ``pool`` is what it was picked from."""
        ...


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


def combined_scores(
    candidates: pd.DataFrame, taste: np.ndarray, context: Context, rows: np.ndarray | None = None
) -> np.ndarray:
    """Taste percentile, re-ranked by the fit to the context within the best by taste when there
    is one (:func:`recommender.context.within_taste`). Shape (n,).

    With ``rows`` (positions in ``candidates``), only those rows are candidates and ``taste`` is
    theirs.
    """
    pct = percentile_ranks(np.asarray(taste, dtype=float))
    if context.empty:
        return pct
    fit = context_fit(candidates, context)
    if rows is not None:
        fit = fit[rows]
    return within_taste(pct, fit)


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
    keep: np.ndarray | None = None,
    discovery: float = DISCOVERY_SHARE,
) -> Selection:
    """The ``n`` best candidates (≤ ``max_per_artist`` per artist), ordered for smooth transitions.

    ``taste`` (n_candidates,) is the taste model's score of each candidate row. ``keep`` (a boolean
    mask over the rows, default all) leaves rows out as if they were not there: the whole catalog
    can be passed without copying the table per call (/recommend over 76k tracks). With a
    ``profile`` that knows artists, ``discovery`` (a share of ``n``, rounded up) of the slots go to
    the best-ranked shortlisted tracks by artists the listener has none of, one per artist — in a
    list without a context only: when a mood, a tempo or the heart asks for something, the list keeps
    to what the taste model rates best for it (newcomers chosen for the moment strayed outside the
    listener's genres: mood:energetic 0.8, bpm:128 0.7 within their top genres, against 1.0 without).
    """
    context = context or Context()
    if not context.empty:
        discovery = 0.0
    rows = np.arange(len(candidates)) if keep is None else np.flatnonzero(keep)
    if not len(rows) or n <= 0:
        return Selection(picks=[], coherence=None)
    taste = np.asarray(taste, dtype=float)[rows]
    scores = None if context.empty else combined_scores(candidates, taste, context, rows)
    shortlist = min(len(rows), max(n * SHORTLIST_FACTOR, 300))
    while True:
        top, top_scores = _best(taste, scores, shortlist)
        ids = candidates.index[rows[top]]
        ranked = newcomers_first(list(ids), candidates, n, profile, discovery)
        chosen = cap_per_artist(ranked, candidates, n, cap=max_per_artist)
        # A few favourite artists can fill the whole shortlist: widen it until n fit the cap.
        if len(chosen) >= n or shortlist >= len(rows):
            break
        shortlist = min(len(rows), shortlist * 4)
    picked = candidates.loc[chosen]
    ordered_ids = order_playlist(picked) if len(picked) > 2 else list(picked.index)
    ordered = picked.loc[ordered_ids]
    by_id = dict(zip(ids, top_scores, strict=True))
    why = reasons(ordered, library, profile, context)
    picks = [
        Pick(track_id=t, score=float(by_id[t]), reason=r)
        for t, r in zip(ordered_ids, why, strict=True)
    ]
    value = None
    if len(ordered) >= 3:
        rng = np.random.default_rng(seed)
        size = min(COHERENCE_REFERENCE, len(rows))
        reference = candidates.iloc[rows[rng.choice(len(rows), size=size, replace=False)]]
        value = float(coherence(ordered, reference, rng_seed=seed))
    return Selection(picks=picks, coherence=value)


def newcomers_first(
    ranked_ids: list[str],
    candidates: pd.DataFrame,
    n: int,
    profile: TasteProfile | None,
    share: float,
) -> list[str]:
    """``ranked_ids`` (best first) with the best ``ceil(share × n)`` tracks by artists new to the
    listener (none of their artists in ``profile``), one per artist, moved to the front.

    Unchanged without a profile that knows artists (no library: every artist is new)."""
    want = int(np.ceil(share * n)) if n > 0 and share > 0 else 0
    counts = profile.artist_count if profile is not None else {}
    if not want or not counts:
        return ranked_ids
    artists = candidates.loc[ranked_ids, "artists"].astype(str).to_numpy()
    new = [
        track_id
        for track_id, cell in zip(ranked_ids, artists, strict=True)
        if not any(counts.get(key, 0) for key in track_artist_keys(cell))
    ]
    front = cap_per_artist(new, candidates, want, cap=1)
    if not front:
        return ranked_ids
    taken = set(front)
    return front + [t for t in ranked_ids if t not in taken]


def _best(taste: np.ndarray, scores: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the ``size`` best, best first; their combined scores).

    Without a context (``scores`` None) the combined score is the taste percentile, so only the
    best ``size`` are sorted: the i-th best of n has percentile (n − i) / n, exactly what
    :func:`percentile_ranks` gives it (equal scores: the later row ranks higher), without sorting
    the whole catalog on every /recommend.
    """
    n = len(taste)
    if scores is not None:
        top = np.argpartition(-scores, size - 1)[:size]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top, scores[top]
    top = np.argpartition(taste, n - size)[n - size :]
    top = top[np.lexsort((top, taste[top]))][::-1]
    return top, (n - np.arange(size)) / n


def rank_order(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``scores`` (n,) best first; equal scores in random (``rng``) order, shape (n,).

    Context-free, the ranker orders candidates by taste score alone; random tie-breaking keeps
    the row order (e.g. where a candidate came from) from deciding between equal scores.
    """
    jitter = rng.random(len(scores)) * TIE_JITTER
    return np.lexsort((jitter, -np.asarray(scores, dtype=float)))


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
    steer: Steer | None,
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


def pick(
    tracks: pd.DataFrame,
    taste: np.ndarray,
    keep: np.ndarray,
    n: int,
    *,
    library: pd.DataFrame,
    profile: TasteProfile | None,
    context: Context,
    steer: Steer | None = None,
) -> list[tuple[str, str]]:
    """Up to ``n`` (track id, reason) from the rows of ``tracks`` that ``keep`` (n_tracks,) allows.

    ``taste`` (n_tracks,) scores every row. With ``steer``, tracks expected to move the heart
    toward the goal rank higher, the one that moves it most comes first, and the reasons say so.
    """
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
