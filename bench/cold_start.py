"""How well a listener with no library is served from a few seeds, on the next-likes protocol.

    .venv/bin/python bench/cold_start.py [--draws 10] [--full-runs 1]

The shared listener (../shared/data/exportify_user_a.csv) over the shared catalog: their library
sorted by "Added At", the first 80 % is what may be seen, the last 20 % are the test likes (the
``beatmatch eval next-likes`` split). Per draw, the seeds a new listener would name with /start are
drawn from the first 80 %: 5 of its tracks that the catalog holds, or 3 of its artists (the catalog
stands for each by their most popular tracks, as the bot does). The seeded first guess
(``recommender.first_guess.seed_scores``) ranks the candidates; what the seeds stand for is left
out of the ranking, as /recommend leaves it out. Prints Recall@50/100/500 and NDCG@100, mean of
``--draws`` draws, beside the popularity baseline and the full taste model trained on the whole
first 80 % (mean of ``--full-runs`` training seeds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recommender.evaluation.baselines import popularity  # noqa: E402
from recommender.evaluation.next_likes import (  # noqa: E402
    NextLikesSplit,
    beatmatch_ranker,
    negatives_pool,
    ranking_metrics,
    split_next_likes,
)
from recommender.first_guess import GuessIndex, seed_library, seed_scores  # noqa: E402
from recommender.tracks import split_artists  # noqa: E402
from storage.catalog_csv import read_catalog  # noqa: E402
from storage.exportify import read_exportify  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
METRICS = ("recall@50", "recall@100", "recall@500", "ndcg@100")


def draw_seeds(
    split: NextLikesSplit, catalog: pd.DataFrame, kind: str, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """(tracks, artists) a listener names: 5 catalog tracks or 3 artists of the first 80 %."""
    seen = [t for t in split.train["track_id"] if t in catalog.index]
    if kind == "tracks":
        return list(rng.choice(seen, size=5, replace=False)), []
    artists = sorted({a for t in seen for a in split_artists(catalog.at[t, "artists"])[:1]})
    return [], list(rng.choice(artists, size=3, replace=False))


def seeded(
    split: NextLikesSplit,
    catalog: pd.DataFrame,
    index: GuessIndex,
    tracks: list[str],
    artists: list[str],
) -> np.ndarray:
    """The seeded guess's score of every candidate (what the seeds stand for: -inf)."""
    seeds = seed_library(catalog, tracks, artists, index)
    candidates = split.candidates
    extra = [t for t in seeds if t not in candidates.index]
    frame = pd.concat([candidates, catalog.loc[extra]])
    scores = seed_scores(frame, seeds, artists, index=GuessIndex.of(frame))[1][: len(candidates)]
    scores = scores.astype(np.float64)
    scores[np.isin(candidates.index, seeds)] = -np.inf
    return scores


def mean_metrics(runs: list[dict[str, float]]) -> dict[str, float]:
    return {m: statistics.fmean(r[m] for r in runs) for m in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(SHARED / "spotify_tracks.csv.gz"))
    parser.add_argument("--library", default=str(SHARED / "exportify_user_a.csv"))
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--full-runs", type=int, default=1)
    args = parser.parse_args()

    catalog, _ = read_catalog(args.catalog)
    library = read_exportify(args.library)
    split = split_next_likes(catalog, library.tracks, library.entries)
    index = GuessIndex.of(catalog)
    ids = split.candidates.index
    print(
        f"listener: {len(split.train)} seen, {len(split.test_ids)} test likes, "
        f"{len(ids):,} candidates"
    )
    rows: dict[str, dict[str, float]] = {}
    for kind in ("tracks", "artists"):
        runs, seconds = [], []
        for draw in range(args.draws):
            rng = np.random.default_rng(draw)
            tracks, artists = draw_seeds(split, catalog, kind, rng)
            started = time.perf_counter()
            scores = seeded(split, catalog, index, tracks, artists)
            seconds.append(time.perf_counter() - started)
            runs.append(ranking_metrics(scores, ids, split.test_ids, rng))
        label = "seeds: 5 tracks" if kind == "tracks" else "seeds: 3 artists"
        rows[label] = mean_metrics(runs)
        print(f"  ({label}: {statistics.median(seconds):.2f} s a guess, median)")
    pops = [
        ranking_metrics(
            popularity(split, catalog, d), ids, split.test_ids, np.random.default_rng(d)
        )
        for d in range(args.draws)
    ]
    rows["popularity baseline"] = mean_metrics(pops)
    fulls = []
    for seed in range(args.full_runs):
        scores = beatmatch_ranker(split, negatives_pool(catalog, split), seed)
        fulls.append(ranking_metrics(scores, ids, split.test_ids, np.random.default_rng(seed)))
    rows[f"full model ({len(split.train)} tracks)"] = mean_metrics(fulls)

    print(f"{'':28s}" + "".join(f"{m:>12s}" for m in METRICS))
    for label, row in rows.items():
        print(f"{label:28s}" + "".join(f"{row[m]:12.3f}" for m in METRICS))


if __name__ == "__main__":
    main()
