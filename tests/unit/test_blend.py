"""The fair blend: least misery of the members' satisfaction, then its mean; ≤ 2 per artist."""

from __future__ import annotations

import numpy as np

from recommender.blend import (
    TOP_DECILE,
    TOP_TWO_PERCENT,
    average_pick,
    blend,
    fair_pick,
    member_percentiles,
)
from tests.unit.test_ranking import random_tracks


def _majority_and_minority(n: int, seed: int = 0) -> np.ndarray:
    """Three members who agree with each other and one who agrees with nobody."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=n)
    alike = [shared + 0.2 * rng.normal(size=n) for _ in range(3)]
    return np.vstack([*alike, -shared + 0.2 * rng.normal(size=n)])


def test_the_fair_blend_serves_the_odd_one_out_where_the_average_forgets_them() -> None:
    tracks = random_tracks(3000)
    scores = _majority_and_minority(len(tracks))
    pct = member_percentiles(tracks, scores, np.arange(len(tracks)))
    fair = fair_pick(tracks, pct, 20)
    plain = average_pick(tracks, pct, 20)
    served_fair = (pct[:, fair] >= TOP_DECILE).mean(axis=1)
    served_plain = (pct[:, plain] >= TOP_DECILE).mean(axis=1)
    assert served_plain[3] == 0.0  # the average of four never reaches the minority's top decile
    assert served_fair.min() >= 0.2
    assert served_fair.mean() >= 0.45


def test_the_odd_one_out_is_served_at_the_stricter_top_2_percent_bar_too() -> None:
    """Among tracks equal on top-decile counts, the fair list takes those in each member's own
    top 2 %: the minority (and the worst member) gets more of their very best than with the
    average, at both bars."""
    tracks = random_tracks(3000, seed=2)
    scores = _majority_and_minority(len(tracks), seed=2)
    pct = member_percentiles(tracks, scores, np.arange(len(tracks)))
    fair = fair_pick(tracks, pct, 20)
    plain = average_pick(tracks, pct, 20)
    for bar in (TOP_DECILE, TOP_TWO_PERCENT):
        served_fair = (pct[:, fair] >= bar).mean(axis=1)
        served_plain = (pct[:, plain] >= bar).mean(axis=1)
        assert served_fair[3] > served_plain[3]
        assert served_fair.min() > served_plain.min()
    assert (pct[:, fair] >= TOP_TWO_PERCENT).mean(axis=1).min() >= 0.4


def test_a_blend_keeps_two_tracks_per_artist_names_whom_each_serves_and_orders_smoothly() -> None:
    tracks = random_tracks(2000, n_artists=40)
    scores = _majority_and_minority(len(tracks), seed=1)
    result = blend(tracks, scores, 12)
    assert len(result.picks) == 12
    artists = tracks.loc[[p.track_id for p in result.picks], "artists"]
    assert artists.value_counts().max() <= 2
    assert all(p.serves for p in result.picks)
    for p in result.picks:
        assert p.serves == tuple(m for m, v in enumerate(p.percentiles) if v >= TOP_DECILE)
    assert len(result.satisfaction) == 4
    assert result.worst > 0


def test_a_blend_leaves_out_what_keep_excludes() -> None:
    tracks = random_tracks(500)
    scores = np.vstack([np.arange(500.0), np.arange(500.0)])
    keep = np.ones(500, dtype=bool)
    keep[-50:] = False  # the best of both
    result = blend(tracks, scores, 5, keep=keep)
    assert not {p.track_id for p in result.picks} & set(tracks.index[-50:])
