"""Discovery: the taste model also rates the sound of artists the listener does not have yet."""

from __future__ import annotations

from dataclasses import replace

from recommender.taste import TasteModel, TasteSettings
from tests.unit.test_taste import CATALOG, FAST, LIBRARY, TRACKS, _make

# The listener likes high energy, and Alpha (15 of their 50 songs).
QUIET_ALPHA = _make("alpha", 5, 7, "Alpha", 0.05)
LOUD_NEWCOMER = _make("fresh", 5, 8, "Newcomer", 0.95)


def test_a_newcomer_with_the_listeners_sound_outranks_a_known_artist_off_it() -> None:
    settings = replace(FAST, new_artist_share=TasteSettings().new_artist_share, seed=1)
    model = TasteModel.fit(LIBRARY, TRACKS, CATALOG, settings=settings)
    assert model.score(LOUD_NEWCOMER).mean() > model.score(QUIET_ALPHA).mean()
