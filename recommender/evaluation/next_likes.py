"""The next-likes protocol: can the ranker find a listener's future likes among the whole catalog?

Sort the library by "Added At"; the first 80 % is what the model may see, the last 20 % are the test
likes. Candidates are every catalog track not in the library plus the test likes, ranked
context-free by the one ranker (:func:`recommender.ranking.rank_order` of the taste model's
scores). Every candidate is scored from what it is: a test like that the catalog holds is taken
with the catalog's features (as the product's feature chain would), one it does not hold with
the file's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.ranking import rank_order
from recommender.taste import TasteModel, TasteSettings, time_order

KS: tuple[int, ...] = (50, 100, 500)
Ranker = Callable[["NextLikesSplit", pd.DataFrame, int], np.ndarray]


@dataclass(frozen=True)
class NextLikesSplit:
    """The pieces of one next-likes evaluation."""

    train: pd.DataFrame  # library rows the model may see
    tracks: pd.DataFrame  # features of the train tracks (catalog first, then the file)
    test_ids: list[str]
    candidates: pd.DataFrame  # catalog minus library, plus the test likes


def split_next_likes(
    catalog: pd.DataFrame,
    library_tracks: pd.DataFrame,
    entries: pd.DataFrame,
    train_fraction: float = 0.8,
) -> NextLikesSplit:
    """Build the time-ordered split; ``entries`` has track_id, rank, added_at (one row a track)."""
    rows = entries.drop_duplicates("track_id").copy()
    rows["source"] = rows.get("source", "exportify")
    order = time_order(rows).reindex(rows["track_id"]).to_numpy()
    rows = rows.iloc[np.argsort(order, kind="stable")]
    cut = round(len(rows) * train_fraction)
    train, test = rows.iloc[:cut], rows.iloc[cut:]
    # The feature chain: catalog values where the catalog has the track, the file's otherwise.
    known = pd.concat(
        [
            catalog.loc[catalog.index.intersection(library_tracks.index)],
            library_tracks.loc[library_tracks.index.difference(catalog.index)],
        ]
    )
    test_ids = list(test["track_id"])
    pool = catalog.drop(index=catalog.index.intersection(pd.Index(rows["track_id"].to_list())))
    candidates = pd.concat([pool, known.loc[known.index.intersection(test_ids)]])
    train_tracks = known.loc[known.index.intersection(train["track_id"].to_list())]
    return NextLikesSplit(
        train=train, tracks=train_tracks, test_ids=test_ids, candidates=candidates
    )


def ranking_metrics(
    scores: np.ndarray, candidate_ids: pd.Index, test_ids: list[str], rng: np.random.Generator
) -> dict[str, float]:
    """Recall@K and NDCG@100 of ``scores`` (n_candidates,); ties are broken at random."""
    order = rank_order(scores, rng)
    relevant = np.isin(candidate_ids.to_numpy()[order], np.asarray(test_ids))
    n_rel = int(relevant.sum())
    out: dict[str, float] = {}
    for k in KS:
        out[f"recall@{k}"] = round(float(relevant[:k].sum()) / max(n_rel, 1), 4)
    top = relevant[:100]  # fewer when there are fewer candidates
    gains = top / np.log2(np.arange(2, 2 + len(top)))
    ideal = (1.0 / np.log2(np.arange(2, 2 + min(n_rel, 100)))).sum()
    out["ndcg@100"] = round(float(gains.sum() / ideal) if ideal else 0.0, 4)
    return out


def beatmatch_ranker(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
    """The ranker ``/recommend`` uses, context-free: the per-user taste model."""
    model = TasteModel.fit(split.train, split.tracks, pool, settings=TasteSettings(seed=seed))
    return model.score(split.candidates)


def negatives_pool(catalog: pd.DataFrame, split: NextLikesSplit) -> pd.DataFrame:
    """What a model may draw negatives from: the catalog minus what it was shown as liked."""
    shown = pd.Index(split.train["track_id"].to_list())
    return catalog.drop(index=catalog.index.intersection(shown))


def evaluate_next_likes(
    catalog: pd.DataFrame,
    library_tracks: pd.DataFrame,
    entries: pd.DataFrame,
    *,
    seed: int = 0,
    ranker: Ranker = beatmatch_ranker,
) -> dict[str, float | int]:
    """Run the protocol and return the contract's JSON object (train, test, candidates, metrics)."""
    split = split_next_likes(catalog, library_tracks, entries)
    scores = ranker(split, negatives_pool(catalog, split), seed)
    metrics = ranking_metrics(
        scores, split.candidates.index, split.test_ids, np.random.default_rng(seed)
    )
    return {
        "train": len(split.train),
        "test": len(split.test_ids),
        "candidates": len(split.candidates),
        **metrics,
    }
