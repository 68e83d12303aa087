"""The next-likes protocol: the time split, the metrics, the contract's keys and fair features."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from recommender.demo_catalog import demo_catalog
from recommender.evaluation.next_likes import (
    KS,
    NextLikesSplit,
    evaluate_next_likes,
    ranking_metrics,
    split_next_likes,
)
from recommender.features import FEATURE_NAMES, TasteProfile, feature_matrix
from recommender.tracks import normalise_tracks
from storage.catalog_csv import split_catalog
from storage.exportify import parse_exportify

CONTRACT_KEYS = {"train", "test", "candidates", "recall@50", "recall@100", "recall@500", "ndcg@100"}


def _tracks(energy: dict[str, float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "name": [f"song {t}" for t in energy],
            "artists": [f"Artist {t}" for t in energy],
            "energy": list(energy.values()),
        },
        index=pd.Index(list(energy), name="track_id"),
    )
    return normalise_tracks(frame)


# A catalog of ten strangers plus two library tracks (L2 from the train part, L9 a test like);
# the file's values for L2 and L9 differ from the catalog's, so we can tell whose were taken.
CATALOG = _tracks({**{f"cat{i}": i / 10 for i in range(10)}, "L2": 0.22, "L9": 0.99})
FILE_TRACKS = _tracks({f"L{i}": 0.5 for i in range(10)})
# Entries out of time order; L0 was added first, L9 last. L3 appears twice.
ENTRIES = pd.DataFrame(
    {
        "track_id": ["L5", "L9", "L0", "L3", "L7", "L1", "L8", "L2", "L6", "L4", "L3"],
        "rank": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        "added_at": [f"2024-01-{d:02d}T12:00:00Z" for d in (6, 10, 1, 4, 8, 2, 9, 3, 7, 5, 28)],
    }
)


@pytest.fixture(scope="module")
def split():
    return split_next_likes(CATALOG, FILE_TRACKS, ENTRIES)


# ---------------------------------------------------------------- the split


def test_train_is_the_oldest_80_percent_in_added_at_order(split) -> None:
    assert list(split.train["track_id"]) == [f"L{i}" for i in range(8)]


def test_test_likes_are_the_newest_20_percent(split) -> None:
    assert split.test_ids == ["L8", "L9"]


def test_a_repeated_entry_counts_once_at_its_first_row(split) -> None:
    assert list(split.train["track_id"]).count("L3") == 1


def test_candidates_are_the_catalog_minus_the_library_plus_the_test_likes(split) -> None:
    expected = {f"cat{i}" for i in range(10)} | {"L8", "L9"}
    assert set(split.candidates.index) == expected
    assert len(split.candidates) == 12
    assert split.candidates.index.is_unique


def test_a_train_track_is_never_a_candidate(split) -> None:
    assert not set(split.candidates.index) & set(split.train["track_id"])


def test_a_test_like_in_the_catalog_takes_the_catalog_features(split) -> None:
    assert split.candidates.loc["L9", "energy"] == pytest.approx(0.99)


def test_a_test_like_outside_the_catalog_takes_the_file_features(split) -> None:
    assert split.candidates.loc["L8", "energy"] == pytest.approx(0.5)


def test_train_tracks_take_catalog_features_where_the_catalog_has_them(split) -> None:
    assert set(split.tracks.index) == {f"L{i}" for i in range(8)}
    assert split.tracks.loc["L2", "energy"] == pytest.approx(0.22)
    assert split.tracks.loc["L0", "energy"] == pytest.approx(0.5)


def test_train_rows_are_library_rows_with_a_source(split) -> None:
    assert {"track_id", "rank", "added_at", "source"} <= set(split.train.columns)
    assert set(split.train["source"]) == {"exportify"}


@pytest.mark.parametrize(("size", "train"), [(10, 8), (7, 6), (5, 4), (3, 2), (1, 1)])
def test_eighty_twenty_rounds_to_the_nearest_track(size: int, train: int) -> None:
    entries = ENTRIES.drop_duplicates("track_id").iloc[:size]
    result = split_next_likes(CATALOG, FILE_TRACKS, entries)
    assert len(result.train) == train
    assert len(result.test_ids) == size - train


def test_without_dates_the_top_of_the_file_is_the_newest() -> None:
    entries = pd.DataFrame(
        {"track_id": [f"L{i}" for i in range(10)], "rank": range(1, 11), "added_at": None}
    )
    result = split_next_likes(CATALOG, FILE_TRACKS, entries)
    assert result.test_ids == ["L1", "L0"]


# ---------------------------------------------------------------- ranking metrics

IDS = pd.Index([f"c{i:04d}" for i in range(1000)])
RELEVANT = [f"c{i:04d}" for i in (3, 250, 600, 801, 999)]


def _scores_ranking_first(first: list[str]) -> np.ndarray:
    """Scores that rank ``first`` on top in the given order, everything else below."""
    scores = np.zeros(len(IDS))
    for position, track_id in enumerate(first):
        scores[IDS.get_loc(track_id)] = 10.0 - position * 0.001
    return scores


def test_a_perfect_ranker_scores_one() -> None:
    metrics = ranking_metrics(
        _scores_ranking_first(RELEVANT), IDS, RELEVANT, np.random.default_rng(0)
    )
    assert metrics == {"recall@50": 1.0, "recall@100": 1.0, "recall@500": 1.0, "ndcg@100": 1.0}


def test_a_reversed_ranker_scores_zero() -> None:
    scores = -_scores_ranking_first(RELEVANT)
    metrics = ranking_metrics(scores, IDS, RELEVANT, np.random.default_rng(0))
    assert metrics == {"recall@50": 0.0, "recall@100": 0.0, "recall@500": 0.0, "ndcg@100": 0.0}


def test_metrics_of_a_known_ranking() -> None:
    # Two test likes: one ranked first, the other 200th.
    relevant = ["c0003", "c0250"]
    scores = np.linspace(1.0, 0.0, len(IDS))  # c0000 first … c0999 last
    scores[IDS.get_loc("c0003")] = 2.0
    scores[IDS.get_loc("c0250")] = scores[199] - 1e-7  # just below the 199th
    metrics = ranking_metrics(scores, IDS, relevant, np.random.default_rng(0))
    assert metrics["recall@50"] == 0.5
    assert metrics["recall@100"] == 0.5
    assert metrics["recall@500"] == 1.0
    assert metrics["ndcg@100"] == pytest.approx(round(1 / (1 + 1 / math.log2(3)), 4))


@pytest.mark.parametrize("k", KS)
def test_recall_at_k_counts_the_likes_in_the_top_k(k: int) -> None:
    relevant = [IDS[k - 1], IDS[k]]  # one just inside, one just outside
    scores = np.linspace(1.0, 0.0, len(IDS))
    metrics = ranking_metrics(scores, IDS, relevant, np.random.default_rng(0))
    assert metrics[f"recall@{k}"] == 0.5


def test_ties_are_broken_at_random_but_reproducibly() -> None:
    scores = np.zeros(len(IDS))
    a = ranking_metrics(scores, IDS, RELEVANT, np.random.default_rng(1))
    b = ranking_metrics(scores, IDS, RELEVANT, np.random.default_rng(1))
    assert a == b
    # A constant ranker finds about K/1000 of the likes.
    runs = [
        ranking_metrics(scores, IDS, RELEVANT, np.random.default_rng(s))["recall@500"]
        for s in range(40)
    ]
    assert 0.35 < np.mean(runs) < 0.65


def test_no_test_likes_among_the_candidates_scores_zero() -> None:
    metrics = ranking_metrics(np.ones(len(IDS)), IDS, ["elsewhere"], np.random.default_rng(0))
    assert set(metrics.values()) == {0.0}


# ---------------------------------------------------------------- the whole protocol


def _demo_problem() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A demo catalog; the listener likes 40 of its edm tracks (they stay in the catalog)."""
    catalog, labels = demo_catalog(size=360, seed=3)
    liked = labels.loc[labels["genre"] == "edm", "track_id"].tolist()
    entries = pd.DataFrame(
        {
            "track_id": liked,
            "rank": range(1, len(liked) + 1),
            "added_at": pd.date_range("2024-01-01", periods=len(liked), freq="D").astype(str),
        }
    )
    return catalog, catalog.loc[liked], entries


def test_evaluate_next_likes_keys_are_the_contract() -> None:
    catalog, library_tracks, entries = _demo_problem()

    def by_energy(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
        return split.candidates["energy"].to_numpy()

    result = evaluate_next_likes(catalog, library_tracks, entries, ranker=by_energy)
    assert set(result) == CONTRACT_KEYS
    assert result["train"] == 24
    assert result["test"] == 6
    assert result["candidates"] == len(catalog) - 30 + 6
    assert isinstance(result["train"], int)
    for key in CONTRACT_KEYS - {"train", "test", "candidates"}:
        assert 0.0 <= result[key] <= 1.0


def test_the_ranker_sees_only_the_training_part() -> None:
    catalog, library_tracks, entries = _demo_problem()
    seen: dict[str, object] = {}

    def spy(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
        seen.update(split=split, pool=pool, seed=seed)
        return np.zeros(len(split.candidates))

    evaluate_next_likes(catalog, library_tracks, entries, seed=5, ranker=spy)
    split, pool = seen["split"], seen["pool"]
    assert isinstance(split, NextLikesSplit) and isinstance(pool, pd.DataFrame)
    test_ids = set(entries["track_id"].iloc[24:])
    assert not set(split.train["track_id"]) & test_ids
    assert not set(split.tracks.index) & test_ids
    assert test_ids <= set(split.candidates.index)
    # Negatives may come from anywhere in the catalog but the likes the model was shown.
    assert not set(pool.index) & set(split.train["track_id"])
    assert len(pool) == len(catalog) - len(split.train)
    assert seen["seed"] == 5


def test_evaluate_next_likes_with_the_product_ranker() -> None:
    catalog, library_tracks, entries = _demo_problem()
    result = evaluate_next_likes(catalog, library_tracks, entries, seed=0)
    assert set(result) == CONTRACT_KEYS
    # edm tracks among 336 candidates of 12 genres: the model finds the future edm likes.
    assert result["recall@100"] >= 0.5


# ---------------------------------------------------------------- fairness: catalog vs Exportify rows

KAGGLE_HEADER = (
    "track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,"
    "key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
    "time_signature,track_genre"
)
EXPORTIFY_HEADER = (
    "Track URI,Track Name,Album Name,Artist Name(s),Release Date,Duration (ms),Popularity,"
    "Explicit,Added By,Added At,Genres,Record Label,Danceability,Energy,Key,Loudness,Mode,"
    "Speechiness,Acousticness,Instrumentalness,Liveness,Valence,Tempo,Time Signature"
)
# (id, artists, name, popularity, duration, explicit, dance, energy, key, loud, mode, speech,
#  acoustic, instrumental, live, valence, tempo, time signature)
SHARED_TRACKS = [
    ("5SuOikwiRyPMVoIQDJUgSV", "Gen Hoshino", "Comedy", 73, 230666, True, 0.676, 0.461, 1,
     -6.746, 0, 0.143, 0.0322, 1.01e-06, 0.358, 0.715, 87.917, 4),
    ("1iJBSr7s7jYXzM8EGcbK5b", "Ingrid Michaelson;ZAYN", "To Begin Again", 57, 210826, False,
     0.438, 0.359, 0, -9.734, 1, 0.0557, 0.21, 0.0, 0.117, 0.12, 76.332, 4),
    ("6lfxq3CG4xtTiEg7opyCyx", "Kina Grannis", "Can't Help Falling In Love", 71, 201933, False,
     0.266, 0.0596, -1, -17.235, 1, 0.0363, 0.905, 7.07e-05, 0.132, 0.143, 0, 1),
    ("4ptDJbJl35d7gQfeNteBwp", "Chord Overstreet", "Hold On", 0, 198853, False, 0.618, 0.443,
     2, -9.681, 1, 0.0526, 0.469, 0.0, 0.0829, 0.167, 119.949, 3),
]  # fmt: skip


def _catalog_rows() -> pd.DataFrame:
    lines = [KAGGLE_HEADER]
    for tid, artists, name, pop, dur, explicit, *audio in SHARED_TRACKS:
        values = [tid, artists, f"{name} - Album", name, pop, dur, explicit, *audio, "acoustic"]
        lines.append(",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values))
    rows = pd.read_csv(io.StringIO("\n".join(lines)), dtype={"track_id": str})
    return split_catalog(rows)[0]


def _exportify_rows() -> pd.DataFrame:
    lines = [EXPORTIFY_HEADER]
    for tid, artists, name, pop, dur, explicit, *audio in SHARED_TRACKS:
        values = [
            f"spotify:track:{tid}",
            name,
            f"{name} - Album",
            artists,
            "2021-03-04",
            dur,
            pop,
            str(explicit).lower(),
            "",
            "2024-05-06T07:08:09Z",
            "",
            "Label",
            *audio,
        ]
        lines.append(",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values))
    return parse_exportify("\n".join(lines).encode()).tracks


def test_a_track_has_the_same_features_from_the_catalog_and_from_exportify() -> None:
    from_catalog = _catalog_rows()
    from_file = _exportify_rows().loc[from_catalog.index]
    profile = TasteProfile.from_library(from_file)  # affinity features are compared too
    a = feature_matrix(from_catalog, profile)
    b = feature_matrix(from_file, profile)
    assert a.shape == (len(SHARED_TRACKS), len(FEATURE_NAMES))
    for j, name in enumerate(FEATURE_NAMES):
        if name == "release_year":  # the file knows it, the catalog never does: see below
            continue
        np.testing.assert_array_equal(a[:, j], b[:, j], err_msg=name)


def test_the_quirky_track_is_unknown_in_both_sources() -> None:
    # Kina Grannis: key -1, tempo 0 and time signature 1 all mean "unknown" either way.
    quirky = "6lfxq3CG4xtTiEg7opyCyx"
    for table in (_catalog_rows(), _exportify_rows()):
        assert table.loc[quirky, ["key", "tempo", "time_signature"]].isna().all()


def test_release_year_is_the_only_difference() -> None:
    from_catalog = _catalog_rows()
    from_file = _exportify_rows().loc[from_catalog.index]
    assert from_catalog["release_year"].isna().all()
    assert (from_file["release_year"] == 2021).all()
