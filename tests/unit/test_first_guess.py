"""The first guess that answers a new listener while their model waits in a busy queue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.first_guess import GuessIndex, first_guess_scores
from tests.unit.test_taste import _library, _make

# The listener: 20 loud tracks by Alpha, 10 by one-off artists.
LIBRARY = _make("lib", 30, 0, ["Alpha"] * 20 + [f"Solo {i}" for i in range(10)], 0.95)
# The catalog: Alpha's other tracks (quiet ones too), loud and quiet tracks by strangers.
CATALOG = pd.concat(
    [
        _make("alp", 10, 1, "Alpha", np.linspace(0.1, 0.9, 10)),
        _make("lou", 40, 2, [f"Loud {i}" for i in range(40)], 0.95),
        _make("qui", 40, 3, [f"Quiet {i}" for i in range(40)], 0.05),
    ]
)


def _top(scores: np.ndarray, n: int) -> list[str]:
    return list(CATALOG.index[np.argsort(-scores, kind="stable")[:n]])


def test_the_listeners_artist_comes_first_then_what_sounds_like_their_library() -> None:
    _, scores = first_guess_scores(CATALOG, _library(LIBRARY), LIBRARY)
    assert scores.shape == (len(CATALOG),) and scores.dtype == np.float32
    assert all(t.startswith("alp") for t in _top(scores, 10))  # an artist they keep coming back to
    strangers = scores[10:]
    loud, quiet = strangers[:40], strangers[40:]
    assert np.median(loud) > np.median(quiet)  # then the sound of their library


def test_disliked_tracks_stop_vouching_for_their_artist() -> None:
    library = _library(LIBRARY)
    liked = first_guess_scores(CATALOG, library, LIBRARY)[1]
    feedback = {t: -1 for t in LIBRARY.index[:20]}  # every Alpha track disliked
    after = first_guess_scores(CATALOG, library, LIBRARY, feedback)[1]
    assert after[:10].max() < liked[:10].min()
    assert not all(t.startswith("alp") for t in _top(after, 10))


def test_tracks_without_audio_features_score_by_artist_alone() -> None:
    catalog = CATALOG.copy()
    catalog.loc[catalog.index[:3], "energy"] = np.nan
    scores = first_guess_scores(catalog, _library(LIBRARY), LIBRARY)[1]
    assert np.isfinite(scores).all()
    assert scores[:3].min() > scores[10:].max()  # still above every stranger


def test_a_kept_catalog_index_gives_the_same_guess() -> None:
    """The bot keeps the catalog's GuessIndex (artists and sound worked out once) for every
    listener: no listener's guess changes what the next one gets."""
    index = GuessIndex.of(CATALOG)
    narrow = LIBRARY.drop(columns=["valence"])
    for library in (LIBRARY, narrow, LIBRARY.iloc[20:], LIBRARY):
        fresh = first_guess_scores(CATALOG, _library(library), library)[1]
        kept = first_guess_scores(CATALOG, _library(library), library, index=index)[1]
        np.testing.assert_array_equal(kept, fresh)


def test_a_library_without_some_audio_features_is_compared_on_the_rest() -> None:
    narrow = LIBRARY.drop(columns=["valence", "danceability"])
    scores = first_guess_scores(CATALOG, _library(narrow), narrow)[1]
    strangers = scores[10:]
    assert np.median(strangers[:40]) > np.median(strangers[40:])
