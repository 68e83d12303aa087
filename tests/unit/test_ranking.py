"""The workout and digest picker and the context-free order: allowed, shortlist, pick, rank_order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.context import Context
from recommender.ranking import (
    allowed,
    combined_scores,
    percentile_ranks,
    pick,
    rank_order,
    select,
    shortlist,
)
from recommender.tracks import normalise_tracks

FAST_TEMPO = 150.0


def random_tracks(n: int, seed: int = 0, n_artists: int | None = None) -> pd.DataFrame:
    """``n`` tracks of random sound, by ``n_artists`` artists (each its own by default)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "name": [f"Song {i}" for i in range(n)],
            "artists": [f"Artist {i % (n_artists or n)}" for i in range(n)],
            "danceability": rng.uniform(0, 1, n),
            "energy": rng.uniform(0, 1, n),
            "valence": rng.uniform(0, 1, n),
            "acousticness": rng.uniform(0, 1, n),
            "tempo": rng.uniform(60, 190, n),
            "loudness": rng.uniform(-30, -2, n),
            "key": rng.integers(0, 12, n).astype(float),
            "mode": rng.integers(0, 2, n).astype(float),
            "time_signature": 4.0,
        },
        index=pd.Index([f"t{i:04d}" for i in range(n)], name="track_id"),
    )
    return normalise_tracks(frame)


TRACKS = random_tracks(300, seed=0)
TASTE = np.random.default_rng(1).uniform(0, 1, len(TRACKS))
NO_LIBRARY = TRACKS.iloc[0:0]


class TowardFast:
    """A steer (the Steer protocol) that wants fast tracks: a fake of the learned heart response."""

    def weights(self, tracks: pd.DataFrame) -> np.ndarray:
        return np.where(tracks["tempo"].to_numpy() > FAST_TEMPO, 1.0, 0.3)

    def order(self, track_ids: list[str], tracks: pd.DataFrame) -> list[str]:
        tempo = tracks.loc[track_ids, "tempo"]
        return sorted(track_ids, key=lambda t: -float(tempo[t]))

    def reasons(self, picked: pd.DataFrame, pool: pd.DataFrame) -> list[str]:
        return ["speeds you up" if t > FAST_TEMPO else "" for t in picked["tempo"]]


# ---------------------------------------------------------------- allowed


def test_allowed_is_false_only_for_the_excluded_ids() -> None:
    keep = allowed(TRACKS.index, {"t0003", "t0010"})
    assert keep.shape == (len(TRACKS),)
    assert set(TRACKS.index[~keep]) == {"t0003", "t0010"}


def test_allowed_ignores_ids_it_does_not_hold() -> None:
    assert allowed(TRACKS.index, {"elsewhere"}).all()


def test_allowed_with_nothing_excluded_keeps_everything() -> None:
    assert allowed(TRACKS.index, set()).all()


def test_allowed_excludes_every_row_of_a_duplicated_id() -> None:
    index = pd.Index(["a", "b", "a", "c"])
    np.testing.assert_array_equal(allowed(index, {"a"}), [False, True, False, True])


# ---------------------------------------------------------------- shortlist


def test_a_small_catalog_is_shortlisted_whole_minus_the_excluded() -> None:
    keep = allowed(TRACKS.index, {"t0000"})
    rows = shortlist(TRACKS, TASTE, keep, Context(), None)
    np.testing.assert_array_equal(rows, np.flatnonzero(keep))


@pytest.mark.parametrize("context", [Context(), Context(mood="calm"), Context(bpm=128)])
def test_the_shortlist_is_the_best_allowed_rows_in_row_order(context: Context) -> None:
    keep = allowed(TRACKS.index, set(TRACKS.index[:20]))
    rows = shortlist(TRACKS, TASTE, keep, context, None, size=50)
    assert len(rows) == 50
    assert (np.diff(rows) > 0).all()
    assert keep[rows].all()
    rough = combined_scores(TRACKS, TASTE, context)
    left_out = np.setdiff1d(np.flatnonzero(keep), rows)
    assert rough[rows].min() >= rough[left_out].max()


def test_a_steer_shortlists_the_tracks_it_favours() -> None:
    keep = np.ones(len(TRACKS), dtype=bool)
    plain = shortlist(TRACKS, TASTE, keep, Context(), None, size=30)
    steered = shortlist(TRACKS, TASTE, keep, Context(), TowardFast(), size=30)
    tempo = TRACKS["tempo"].to_numpy()
    assert (tempo[steered] > FAST_TEMPO).mean() > (tempo[plain] > FAST_TEMPO).mean()


# ---------------------------------------------------------------- pick


def test_pick_without_a_steer_is_select_over_the_shortlist() -> None:
    keep = allowed(TRACKS.index, {"t0001", "t0002"})
    picks = pick(TRACKS, TASTE, keep, 5, library=NO_LIBRARY, profile=None, context=Context())
    pool = TRACKS.iloc[np.flatnonzero(keep)]
    expected = select(pool, TASTE[keep], 5, library=NO_LIBRARY, profile=None)
    assert picks == [(p.track_id, p.reason) for p in expected.picks]


def test_pick_never_returns_an_excluded_track() -> None:
    excluded = set(TRACKS.index[np.argsort(-TASTE)[:40]])  # the 40 best-liked
    keep = allowed(TRACKS.index, excluded)
    picks = pick(TRACKS, TASTE, keep, 10, library=NO_LIBRARY, profile=None, context=Context())
    assert len(picks) == 10
    assert not {t for t, _ in picks} & excluded


def test_a_steered_pick_plays_the_favoured_track_first_and_says_why() -> None:
    keep = np.ones(len(TRACKS), dtype=bool)
    steer = TowardFast()
    picks = pick(
        TRACKS, TASTE, keep, 6, library=NO_LIBRARY, profile=None, context=Context(), steer=steer
    )
    ids = [t for t, _ in picks]
    assert ids == steer.order(ids, TRACKS)
    for track_id, reason in picks:
        fast = TRACKS.at[track_id, "tempo"] > FAST_TEMPO
        assert reason.endswith("; speeds you up") == fast
        assert reason and not reason.startswith(";")


def test_a_steer_changes_what_is_picked() -> None:
    keep = np.ones(len(TRACKS), dtype=bool)
    common = {"library": NO_LIBRARY, "profile": None, "context": Context()}
    plain = pick(TRACKS, TASTE, keep, 10, **common)
    steered = pick(TRACKS, TASTE, keep, 10, **common, steer=TowardFast())
    tempo = TRACKS["tempo"]
    assert tempo[[t for t, _ in steered]].mean() > tempo[[t for t, _ in plain]].mean()


def test_pick_from_nothing_allowed_is_empty() -> None:
    keep = np.zeros(len(TRACKS), dtype=bool)
    steer = TowardFast()
    assert pick(TRACKS, TASTE, keep, 5, library=NO_LIBRARY, profile=None, context=Context()) == []
    assert (
        pick(
            TRACKS, TASTE, keep, 5, library=NO_LIBRARY, profile=None, context=Context(), steer=steer
        )
        == []
    )


# ---------------------------------------------------------------- rank_order


def test_rank_order_puts_the_best_score_first() -> None:
    scores = np.array([0.2, 0.9, 0.5, 0.1])
    np.testing.assert_array_equal(rank_order(scores, np.random.default_rng(0)), [1, 2, 0, 3])


def test_rank_order_breaks_ties_at_random_but_reproducibly() -> None:
    scores = np.zeros(50)
    a = rank_order(scores, np.random.default_rng(4))
    b = rank_order(scores, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(50))
    assert list(a) != list(range(50))  # not the row order


def test_rank_order_never_lets_a_tie_break_outrank_a_real_difference() -> None:
    scores = np.array([0.5, 0.5 + 1e-6, 0.5, 0.5 + 1e-6])
    for seed in range(5):
        order = rank_order(scores, np.random.default_rng(seed))
        assert set(order[:2]) == {1, 3}


# -- select over the whole catalog with a mask -----------------------------------------------------
@pytest.mark.parametrize("context", [Context(), Context(mood="energetic"), Context(bpm=128)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_select_with_a_mask_is_select_over_the_rows_it_keeps(context: Context, seed: int) -> None:
    """/recommend passes the whole catalog and a mask instead of copying what is left of it: the
    list, its scores, reasons and coherence are those of the rows kept, and the best-scoring rows
    left out never come back."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(TRACKS)) > 0.3
    keep[np.argsort(-TASTE)[:5]] = False  # the five best are owned
    masked = select(TRACKS, TASTE, 10, library=NO_LIBRARY, profile=None, context=context, keep=keep)
    copied = select(
        TRACKS[keep], TASTE[keep], 10, library=NO_LIBRARY, profile=None, context=context
    )
    assert masked == copied
    assert not set(TRACKS.index[~keep]) & {p.track_id for p in masked.picks}


def test_without_a_context_the_scores_are_percentiles_with_ties_ranked_like_percentile_ranks() -> (
    None
):
    """Ties in taste (another release of one song scores the same) keep the order and the scores
    the full percentile ranking gives them: the later row ranks higher."""
    taste = np.repeat(np.linspace(0.0, 1.0, len(TRACKS) // 3), 3)
    picks = select(TRACKS, taste, 6, library=NO_LIBRARY, profile=None, max_per_artist=9).picks
    pct = pd.Series(percentile_ranks(taste), index=TRACKS.index)
    assert {p.track_id: p.score for p in picks} == {p.track_id: pct[p.track_id] for p in picks}
    assert {p.track_id for p in picks} == set(pct.nlargest(6).index)


def test_select_with_nothing_kept_is_empty() -> None:
    keep = np.zeros(len(TRACKS), dtype=bool)
    assert select(TRACKS, TASTE, 5, library=NO_LIBRARY, profile=None, keep=keep).picks == []
