"""The genre protocol: train on one catalog, name the genres of another, score against its labels.

A test track may carry several labels (one catalog row each); a prediction hits if it is any of
them. "Unseen artist" tracks are those none of whose artists occurs in the training catalog: the
case the classifier cannot answer from catalog labels and must answer from the track itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from recommender.genre import GenreClassifier, GenreSettings, catalog_genres
from recommender.genre.prior import text_column
from recommender.tracks import split_artists

PREDICT_BATCH = 4096  # tracks per predict call: bounds memory on a large test catalog
KEYS: tuple[str, ...] = (
    "tracks",
    "top1",
    "top3",
    "macro_f1",
    "unseen_artist_tracks",
    "unseen_artist_top1",
    "unseen_artist_top3",
)


def split_catalog_by_track(
    tracks: pd.DataFrame, labels: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train tracks, train labels, test tracks, test labels); all rows of a track on one side."""
    ids = np.array(sorted(set(tracks.index.astype(str))), dtype=object)
    rng = np.random.default_rng(seed)
    test_ids = set(rng.choice(ids, size=round(len(ids) * test_fraction), replace=False))
    in_test = tracks.index.isin(list(test_ids))
    label_in_test = labels["track_id"].isin(test_ids)
    return (
        tracks[~in_test],
        labels[~label_in_test].reset_index(drop=True),
        tracks[in_test],
        labels[label_in_test].reset_index(drop=True),
    )


def artist_set(tracks: pd.DataFrame) -> set[str]:
    """Every artist named in a track table's ``artists`` column."""
    return {a for cell in text_column(tracks, "artists") for a in split_artists(cell)}


def score_top_k(
    predicted: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], unseen: Sequence[bool]
) -> dict[str, float | int]:
    """The protocol's numbers from each track's ranked genres, its labels and its unseen flag.

    Unseen-artist rates are 0.0 when the test set holds no such track.
    """
    top1 = np.array([bool(p) and p[0] in t for p, t in zip(predicted, truth, strict=True)])
    top3 = np.array([any(g in t for g in p[:3]) for p, t in zip(predicted, truth, strict=True)])
    first = [p[0] if p else "" for p in predicted]
    # One true label per track for F1: the predicted one if it is among the labels (a hit is a hit),
    # otherwise the first label.
    chosen = [f if f in t else t[0] for f, t in zip(first, truth, strict=True)]
    new = np.asarray(unseen, dtype=bool)

    def rate(hits: np.ndarray) -> float:
        return round(float(hits.mean()), 4) if len(hits) else 0.0

    macro = f1_score(chosen, first, average="macro", zero_division=0) if chosen else 0.0
    return {
        "tracks": len(truth),
        "top1": rate(top1),
        "top3": rate(top3),
        "macro_f1": round(float(macro), 4),
        "unseen_artist_tracks": int(new.sum()),
        "unseen_artist_top1": rate(top1[new]),
        "unseen_artist_top3": rate(top3[new]),
    }


def evaluate_genre(
    train_tracks: pd.DataFrame,
    train_labels: pd.DataFrame,
    test_tracks: pd.DataFrame,
    test_labels: pd.DataFrame,
    *,
    seed: int = 0,
    n_jobs: int = 2,
    progress: Callable[[str], None] | None = None,
    settings: GenreSettings | None = None,
) -> dict[str, float | int]:
    """Train on the train catalog, predict every labelled test track, return the protocol's dict."""
    model = GenreClassifier.fit(
        train_tracks, train_labels, seed=seed, n_jobs=n_jobs, progress=progress, settings=settings
    )
    return evaluate_model(model, train_tracks, test_tracks, test_labels, progress=progress)


def evaluate_model(
    model: GenreClassifier,
    train_tracks: pd.DataFrame,
    test_tracks: pd.DataFrame,
    test_labels: pd.DataFrame,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float | int]:
    """The protocol's dict for an already trained ``model`` (``train_tracks`` define "unseen")."""
    say = progress or (lambda _message: None)
    test = test_tracks[~test_tracks.index.duplicated()]
    truth_of = catalog_genres(test_labels, test.index)
    test = test[test.index.isin(list(truth_of))]  # a track without labels cannot be scored
    say(f"predicting {len(test):,} test tracks")
    predicted: list[list[str]] = []
    for start in range(0, len(test), PREDICT_BATCH):
        batch = test.iloc[start : start + PREDICT_BATCH]
        predicted.extend([g for g, _ in top] for top in model.predict_top_k(batch, k=3))
    known = artist_set(train_tracks)
    unseen = [not any(a in known for a in split_artists(c)) for c in text_column(test, "artists")]
    return score_top_k(predicted, [truth_of[str(t)] for t in test.index], unseen)
