"""Baselines for the next-likes protocol: what the methods beatmatch replaces would score.

Each baseline is a ranker ``(split, negatives_pool, seed) -> scores`` over ``split.candidates``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import NearestNeighbors
from xgboost import XGBClassifier

from recommender.candidates import sample_negatives
from recommender.evaluation.next_likes import NextLikesSplit, evaluate_next_likes
from recommender.tracks import AUDIO_FEATURES, KAGGLE_NUMERIC

BaselineRanker = Callable[[NextLikesSplit, pd.DataFrame, int], np.ndarray]
KNN_NEIGHBOURS = 10


def _standardised(train: pd.DataFrame, *others: pd.DataFrame) -> list[np.ndarray]:
    """Audio features scaled by the training library's mean/std; NaN → the column mean (0)."""
    columns = list(AUDIO_FEATURES)
    mean = train[columns].mean()
    std = train[columns].std().replace(0, 1).fillna(1)
    return [((f[columns] - mean) / std).fillna(0.0).to_numpy(dtype=float) for f in (train, *others)]


def popularity(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
    """Most popular first (what a chart would recommend)."""
    return split.candidates["popularity"].fillna(0).to_numpy(dtype=float)


def centroid(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
    """Closest to the library's average sound first."""
    lib, cand = _standardised(split.tracks, split.candidates)
    return -np.linalg.norm(cand - lib.mean(axis=0), axis=1)


def knn(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
    """Closest to the nearest library tracks first (mean distance to the k nearest)."""
    lib, cand = _standardised(split.tracks, split.candidates)
    k = min(KNN_NEIGHBOURS, len(lib))
    distances, _ = NearestNeighbors(n_neighbors=k).fit(lib).kneighbors(cand)
    return -distances.mean(axis=1)


def plain_rf_xgb(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
    """RF(300) + XGB(300) on the 15 Kaggle numeric columns, library vs as many random negatives:
    what the original projects did."""
    rng = np.random.default_rng(seed)
    negatives = sample_negatives(pool, len(split.tracks), rng)
    columns = list(KAGGLE_NUMERIC)
    x = pd.concat([split.tracks[columns], negatives[columns]]).to_numpy(dtype=float)
    y = np.r_[np.ones(len(split.tracks)), np.zeros(len(negatives))]
    rf = RandomForestClassifier(n_estimators=300, n_jobs=2, random_state=seed).fit(x, y)
    xgb = XGBClassifier(n_estimators=300, n_jobs=2, random_state=seed).fit(x, y)
    cand = split.candidates[columns].to_numpy(dtype=float)
    return (rf.predict_proba(cand)[:, 1] + xgb.predict_proba(cand)[:, 1]) / 2.0


BASELINES: Mapping[str, BaselineRanker] = {
    "popularity": popularity,
    "centroid": centroid,
    "knn": knn,
    "plain_rf_xgb": plain_rf_xgb,
}


def evaluate_with_baselines(
    catalog: pd.DataFrame, library_tracks: pd.DataFrame, entries: pd.DataFrame, *, seed: int = 0
) -> dict[str, object]:
    """beatmatch's next-likes result plus each baseline's, and the Recall@100 ratio to the best."""
    result: dict[str, object] = dict(
        evaluate_next_likes(catalog, library_tracks, entries, seed=seed)
    )
    baselines = {
        name: evaluate_next_likes(catalog, library_tracks, entries, seed=seed, ranker=ranker)
        for name, ranker in BASELINES.items()
    }
    result["baselines"] = {
        name: {k: v for k, v in metrics.items() if k.startswith(("recall", "ndcg"))}
        for name, metrics in baselines.items()
    }
    best = max(float(m["recall@100"]) for m in baselines.values())
    ours = float(result["recall@100"])  # type: ignore[arg-type]
    result["recall@100_vs_best_baseline"] = round(ours / best, 2) if best > 0 else None
    return result
