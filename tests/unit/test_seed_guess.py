"""The seeded first guess: a listener with no library, known by a few named songs and artists
and a short list rated 👍/👎, gets a ranking of the whole catalog at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.first_guess import GuessIndex, seed_library, seed_scores
from recommender.genre_sound import GenreSound
from tests.unit.test_taste import _make

# The catalog: Alpha (loud), Beta (quiet), and loud and quiet strangers.
CATALOG = pd.concat(
    [
        _make("alp", 10, 1, "Alpha", 0.95),
        _make("bet", 10, 4, "Beta;Gamma", 0.05),
        _make("lou", 40, 2, [f"Loud {i}" for i in range(40)], 0.95),
        _make("qui", 40, 3, [f"Quiet {i}" for i in range(40)], 0.05),
    ]
)
INDEX = GuessIndex.of(CATALOG)


def _top(scores: np.ndarray, n: int, leave_out: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    order = [CATALOG.index[i] for i in np.argsort(-scores, kind="stable")]
    return [t for t in order if t not in leave_out][:n]


def test_a_named_artist_stands_for_their_most_popular_tracks() -> None:
    seeds = seed_library(CATALOG, [], ["  beta "], INDEX)  # case and spaces ignored
    assert len(seeds) == 5 and all(t.startswith("bet") for t in seeds)
    popularity = CATALOG.loc[[t for t in CATALOG.index if t.startswith("bet")], "popularity"]
    assert set(seeds) == set(popularity.sort_values(ascending=False).index[:5])
    assert seed_library(CATALOG, ["lou003", "nope"], ["Nobody"], INDEX) == ["lou003"]


def test_named_artists_come_first_then_what_sounds_like_the_seeds() -> None:
    _, scores, seeds = seed_scores(CATALOG, ["lou001"], ["Alpha"], index=INDEX)
    assert scores.shape == (len(CATALOG),) and scores.dtype == np.float32
    assert all(t.startswith("alp") for t in _top(scores, 5, seeds))  # Alpha's other tracks
    strangers = scores[20:]
    assert np.median(strangers[:40]) > np.median(strangers[40:])  # loud like the seeds


def test_ratings_move_the_guess() -> None:
    """A 👍 on a quiet track lifts quiet strangers; a 👎 on a loud one sinks loud strangers."""
    before = seed_scores(CATALOG, ["lou001", "lou002", "alp000"], [], index=INDEX)[1]
    liked = {"qui000": 1, "qui001": 1, "qui002": 1}
    after = seed_scores(CATALOG, ["lou001", "lou002", "alp000"], [], liked, index=INDEX)[1]
    assert np.median(after[60:]) > np.median(before[60:])
    disliked = {"lou010": -1, "lou011": -1}
    sunk = seed_scores(CATALOG, ["lou001", "lou002", "alp000"], [], disliked, index=INDEX)[1]
    assert np.median(sunk[20:60]) < np.median(before[20:60])


def test_the_seeds_genres_lift_what_sounds_like_them_even_unlabelled() -> None:
    """A seed halfway between loud and quiet, labelled metal: of the unlabelled strangers
    (most of what a listener likes next is not in the catalog), the loud ones come first."""
    catalog = pd.concat(
        [
            _make("met", 40, 5, [f"Metal {i}" for i in range(40)], 0.95),
            _make("amb", 40, 6, [f"Ambient {i}" for i in range(40)], 0.05),
            _make("mid", 1, 7, "Halfway", 0.5),
            _make("xlo", 30, 8, [f"Stranger L{i}" for i in range(30)], 0.8),
            _make("xqu", 30, 9, [f"Stranger Q{i}" for i in range(30)], 0.2),
        ]
    )
    labels = pd.DataFrame(
        {
            "track_id": [*catalog.index[:40], *catalog.index[40:80], "mid000"],
            "genre": ["metal"] * 40 + ["ambient"] * 40 + ["metal"],
        }
    )
    index = GuessIndex.of(catalog)
    genres = GenreSound.of(catalog, labels, index.columns)
    assert genres is not None
    assert genres.mix(["mid000"])[genres.names.index("metal")] == 1.0
    scores = seed_scores(catalog, ["mid000"], index=index, genres=genres)[1]
    strangers = pd.Series(scores[81:], index=catalog.index[81:]).sort_values(ascending=False)
    assert sum(t.startswith("xlo") for t in strangers.index[:20]) >= 18
