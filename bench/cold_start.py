"""How well a listener with no library is served from a few seeds, on the next-likes protocol.

    .venv/bin/python bench/cold_start.py [--draws 10] [--full-runs 1]

The shared listener (../shared/data/exportify_user_a.csv) over the shared catalog: their library
sorted by "Added At", the first 80 % is what may be seen, the last 20 % are the test likes (the
``beatmatch eval next-likes`` split). Per draw, the seeds a new listener would name with /start are
drawn from the first 80 %: 5 of its tracks that the catalog holds, or 3 of its artists (the catalog
stands for each by their most popular tracks, as the bot does). The seeded first guess
(``recommender.first_guess.seed_scores``) ranks the candidates; what the seeds stand for is left
out of the ranking, as /recommend leaves it out. Each guess is measured twice: from the seeds
alone, and after the 8 ratings /start asks for (the guess's top 8 over the catalog, at most one
per artist, rated 👍 when the listener has the track in their first 80 %, 👎 otherwise); beside
it, the real taste model trained on those seeds and 👍 (the 👎 as hard negatives), which is what
serving a trained model instead of the guess would give such a listener. Prints
Recall@50/100/500 and NDCG@100, mean of ``--draws`` draws, beside the popularity baseline, the
popularity within the seeds' catalog genres, and the full taste model trained on the whole first
80 % (mean of ``--full-runs`` training seeds; 0 leaves it out).
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
from recommender.genre_sound import GenreSound  # noqa: E402
from recommender.taste import TasteModel, TasteSettings  # noqa: E402
from recommender.tracks import split_artists  # noqa: E402
from storage.catalog_csv import read_catalog  # noqa: E402
from storage.exportify import read_exportify  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
METRICS = ("recall@50", "recall@100", "recall@500", "ndcg@100")
#: How many tracks /start offers to rate.
OFFERED = 8


def draw_seeds(
    split: NextLikesSplit,
    catalog: pd.DataFrame,
    kind: str,
    rng: np.random.Generator,
    n_tracks: int = 5,
) -> tuple[list[str], list[str]]:
    """(tracks, artists) a listener names: ``n_tracks`` catalog tracks or 3 artists of the first
    80 %."""
    seen = [t for t in split.train["track_id"] if t in catalog.index]
    if kind == "tracks":
        return list(rng.choice(seen, size=n_tracks, replace=False)), []
    artists = sorted({a for t in seen for a in split_artists(catalog.at[t, "artists"])[:1]})
    return [], list(rng.choice(artists, size=3, replace=False))


def seeded(
    split: NextLikesSplit,
    catalog: pd.DataFrame,
    index: GuessIndex,
    genres: GenreSound | None,
    tracks: list[str],
    artists: list[str],
    ratings: dict[str, int] | None = None,
) -> np.ndarray:
    """The seeded guess's score of every candidate (what the seeds stand for and the rated
    tracks: -inf)."""
    seeds = seed_library(catalog, tracks, artists, index)
    ratings = ratings or {}
    candidates = split.candidates
    extra = [t for t in dict.fromkeys([*seeds, *ratings]) if t not in candidates.index]
    frame = pd.concat([candidates, catalog.loc[extra]])
    scores = seed_scores(frame, seeds, artists, ratings, GuessIndex.of(frame), genres)[1]
    scores = scores[: len(candidates)].astype(np.float64)
    scores[np.isin(candidates.index, [*seeds, *ratings])] = -np.inf
    return scores


def simulated_ratings(
    split: NextLikesSplit,
    catalog: pd.DataFrame,
    index: GuessIndex,
    genres: GenreSound | None,
    tracks: list[str],
    artists: list[str],
) -> dict[str, int]:
    """What the listener answers to the 8 tracks /start offers: the guess's top over the
    catalog (not a seed, one per artist), 👍 (+1) if they have it in their first 80 %."""
    scores = seed_scores(catalog, tracks, artists, index=index, genres=genres)
    seeds, had = set(scores[2]), set(split.train["track_id"])
    ratings: dict[str, int] = {}
    artists_offered: set[str] = set()
    for row in np.argsort(-scores[1], kind="stable"):
        track = str(catalog.index[row])
        first = (split_artists(catalog["artists"].iat[row]) or [""])[0].lower()
        if track in seeds or first in artists_offered:
            continue
        artists_offered.add(first)
        ratings[track] = 1 if track in had else -1
        if len(ratings) == OFFERED:
            break
    return ratings


def trained_on_seeds(
    split: NextLikesSplit,
    catalog: pd.DataFrame,
    seeds: list[str],
    artists: list[str],
    ratings: dict[str, int],
    seed: int,
) -> np.ndarray:
    """What training the real taste model on the seeds and the 👍-rated tracks (the 👎 as hard
    negatives) would rank: the alternative to the guess for a listener with no library."""
    liked = [t for t, v in ratings.items() if v > 0]
    ids = list(dict.fromkeys([*seeds, *liked]))
    library = pd.DataFrame(
        {"track_id": ids, "source": "seeds", "rank": np.arange(1, len(ids) + 1), "added_at": ""}
    )
    top = pd.DataFrame(
        {"artist": artists, "time_range": "long", "rank": np.arange(1, len(artists) + 1)}
    )
    known = catalog.loc[list(dict.fromkeys([*ids, *ratings]))]
    pool = catalog.drop(index=known.index)
    model = TasteModel.fit(
        library, known, pool, ratings, top_artists=top, settings=TasteSettings(seed=seed)
    )
    scores = model.score(split.candidates).astype(np.float64)
    scores[np.isin(split.candidates.index, [*seeds, *ratings])] = -np.inf
    return scores


def popular_in_seed_genres(
    split: NextLikesSplit, catalog: pd.DataFrame, genres: GenreSound, seeds: list[str]
) -> np.ndarray:
    """A baseline: candidates labelled with one of the seeds' catalog genres, most popular
    first, then the rest by popularity."""
    mix = genres.mix(seeds)
    rows = catalog.index.get_indexer(split.candidates.index)
    weight = np.bincount(genres.label_rows, weights=mix[genres.label_codes], minlength=len(catalog))
    in_mix = np.where(rows >= 0, weight[np.maximum(rows, 0)] > 0, False)
    popularity = split.candidates["popularity"].fillna(0).to_numpy(dtype=float)
    scores = popularity + 1000.0 * in_mix
    scores[np.isin(split.candidates.index, seeds)] = -np.inf
    return scores


def mean_metrics(runs: list[dict[str, float]]) -> dict[str, float]:
    return {m: statistics.fmean(r[m] for r in runs) for m in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(SHARED / "spotify_tracks.csv.gz"))
    parser.add_argument("--library", default=str(SHARED / "exportify_user_a.csv"))
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--full-runs", type=int, default=1)
    parser.add_argument(
        "--seed-tracks",
        type=int,
        default=5,
        help="tracks a listener names (more: a listener who has since liked that many)",
    )
    parser.add_argument("--kinds", nargs="+", default=["tracks", "artists"])
    args = parser.parse_args()

    catalog, labels = read_catalog(args.catalog)
    library = read_exportify(args.library)
    split = split_next_likes(catalog, library.tracks, library.entries)
    index = GuessIndex.of(catalog)
    started = time.perf_counter()
    genres = GenreSound.of(catalog, labels, index.columns)
    print(f"genre sound of {len(labels):,} labels: {time.perf_counter() - started:.1f} s")
    ids = split.candidates.index
    print(
        f"listener: {len(split.train)} seen, {len(split.test_ids)} test likes, "
        f"{len(ids):,} candidates"
    )
    rows: dict[str, dict[str, float]] = {}
    for kind in args.kinds:
        label = f"{args.seed_tracks} tracks" if kind == "tracks" else "3 artists"
        runs: dict[str, list[dict[str, float]]] = {}
        seconds, thumbs = [], []
        for draw in range(args.draws):
            rng = np.random.default_rng(draw)
            tracks, artists = draw_seeds(split, catalog, kind, rng, args.seed_tracks)
            seeds = seed_library(catalog, tracks, artists, index)

            def measure(
                name: str,
                scores: np.ndarray,
                draw: int = draw,
                runs: dict[str, list[dict[str, float]]] = runs,
            ) -> None:
                metrics = ranking_metrics(scores, ids, split.test_ids, np.random.default_rng(draw))
                runs.setdefault(name, []).append(metrics)

            measure(
                f"seeds: {label}, no genres", seeded(split, catalog, index, None, tracks, artists)
            )
            begun = time.perf_counter()
            measure(f"seeds: {label}", seeded(split, catalog, index, genres, tracks, artists))
            seconds.append(time.perf_counter() - begun)
            rated = simulated_ratings(split, catalog, index, genres, tracks, artists)
            thumbs.append(sum(v > 0 for v in rated.values()))
            measure(
                f"seeds: {label} + 8 ratings",
                seeded(split, catalog, index, genres, tracks, artists, rated),
            )
            measure(
                f"model trained on {label} + 👍",
                trained_on_seeds(split, catalog, seeds, artists, rated, draw),
            )
            if genres is not None:
                measure(
                    f"popular in {label}' genres",
                    popular_in_seed_genres(split, catalog, genres, seeds),
                )
        rows.update({name: mean_metrics(r) for name, r in runs.items()})
        print(
            f"  ({label}: {statistics.median(seconds):.2f} s a guess, median; "
            f"{statistics.fmean(thumbs):.1f} of {OFFERED} offered rated 👍, mean)"
        )
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
    if fulls:
        rows[f"full model ({len(split.train)} tracks)"] = mean_metrics(fulls)

    print(f"{'':34s}" + "".join(f"{m:>12s}" for m in METRICS))
    for label, row in rows.items():
        print(f"{label:34s}" + "".join(f"{row[m]:12.3f}" for m in METRICS))


if __name__ == "__main__":
    main()
