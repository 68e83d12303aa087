"""Discovery: the taste model also rates the sound of artists the listener does not have yet, and a\nlist keeps a few slots for them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from recommender.context import Context
from recommender.features import TasteProfile
from recommender.ranking import select
from recommender.taste import TasteModel, TasteSettings
from tests.unit.test_taste import CATALOG, FAST, LIBRARY, TRACKS, _make

# The listener likes high energy, and Alpha (15 of their 50 songs).
QUIET_ALPHA = _make("alpha", 5, 7, "Alpha", 0.05)
LOUD_NEWCOMER = _make("fresh", 5, 8, "Newcomer", 0.95)


def test_a_newcomer_with_the_listeners_sound_outranks_a_known_artist_off_it() -> None:
    settings = replace(FAST, new_artist_share=TasteSettings().new_artist_share, seed=1)
    model = TasteModel.fit(LIBRARY, TRACKS, CATALOG, settings=settings)
    assert model.score(LOUD_NEWCOMER).mean() > model.score(QUIET_ALPHA).mean()


def _ranked_catalog() -> tuple[pd.DataFrame, np.ndarray]:
    """400 tracks, best by taste first: the top 40 by five artists the listener keeps, then
    tracks by twenty newcomers (two each) and a known artist, alternating."""
    known = [f"Known {i % 5}" for i in range(40)]
    rest = [f"Newcomer {i // 4}" if i % 4 < 2 else "Known 0" for i in range(360)]
    artists = known + rest
    tracks = _make("c", len(artists), 0, "x", 0.7)
    tracks["artists"] = artists
    tracks["name"] = [f"Song {i}" for i in range(len(artists))]
    return tracks, -np.arange(len(artists), dtype=float)


KEEPER = TasteProfile(
    artist_weight={f"known {i}": 1.0 for i in range(5)},
    total_weight=5.0,
    artist_count={f"known {i}": 3 for i in range(5)},
)


def test_a_list_keeps_slots_for_artists_new_to_the_listener_and_says_so() -> None:
    tracks, taste = _ranked_catalog()
    chosen = select(tracks, taste, 10, library=tracks.iloc[0:0], profile=KEEPER)
    by_id = {p.track_id: p for p in chosen.picks}
    newcomers = [t for t in by_id if tracks.at[t, "artists"].startswith("Newcomer")]
    assert len(chosen.picks) == 10 and len(newcomers) == 3
    # The best-ranked newcomers, one song each; the other seven are the best known tracks.
    assert sorted(tracks.loc[newcomers, "artists"]) == ["Newcomer 0", "Newcomer 1", "Newcomer 2"]
    assert all(by_id[t].reason.startswith("new to you: ") for t in newcomers)
    assert not any(by_id[t].reason.startswith("new to you") for t in by_id if t not in newcomers)


def test_a_newcomer_the_taste_model_rates_badly_is_not_let_in() -> None:
    tracks, taste = _ranked_catalog()
    tracks = pd.concat([tracks.iloc[:40], tracks.iloc[40:].assign(artists="Known 1")])
    outsider = _make("z", 1, 0, "Newcomer Far", 0.7).assign(name="Far")
    tracks = pd.concat([tracks, outsider])
    taste = np.r_[taste, -1e9]  # the very worst by taste
    chosen = select(tracks, taste, 10, library=tracks.iloc[0:0], profile=KEEPER)
    assert "z000" not in {p.track_id for p in chosen.picks}


def test_without_discovery_slots_known_artists_fill_the_list() -> None:
    tracks, taste = _ranked_catalog()
    chosen = select(tracks, taste, 10, library=tracks.iloc[0:0], profile=KEEPER, discovery=0.0)
    assert all(tracks.at[p.track_id, "artists"].startswith("Known") for p in chosen.picks)


def test_a_mood_keeps_to_what_the_taste_model_rates_best_for_it() -> None:
    # Newcomers given slots for a moment strayed outside the listener's genres: when a mood (or a
    # tempo, or the heart) asks for something, the list is the one without discovery slots.
    tracks, taste = _ranked_catalog()
    mood = Context(mood="energetic")
    common = {"library": tracks.iloc[0:0], "profile": KEEPER, "context": mood}
    asked = select(tracks, taste, 10, **common)
    plain = select(tracks, taste, 10, **common, discovery=0.0)
    assert [p.track_id for p in asked.picks] == [p.track_id for p in plain.picks]
