"""Is /blend fair? Least misery vs the plain average vs the most active member's own list.

Simulated listeners: the shared listener's library split by its main catalog genres (one listener
per genre), and listeners made from catalog genre profiles (a sample of the catalog's tracks of two
random genres). Each listener's taste scores the whole catalog as the bot's first guess does
(``recommender.first_guess``: artists and sound, no training). Over 50 groups of 3–5 listeners it
prints, for a 20-track list, the worst-served member's satisfaction (share of the list in their
own top decile) and the members' mean, for the fair blend, the plain average of percentiles, and
the single most active member's (largest library's) own ranking; then the time of one blend of 5
members over the whole catalog once their scores exist.

    python bench/blend.py [--catalog PATH] [--library PATH] [--groups 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.blend import (
    TOP_DECILE,
    average_pick,
    blend,
    fair_pick,
    member_percentiles,
    single_pick,
)
from recommender.first_guess import GuessIndex, first_guess_scores
from storage.catalog_csv import read_catalog
from storage.exportify import read_exportify

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LIST_SIZE = 20
SPLIT_GENRES = 5  # the shared listener's main genres, one listener each
PROFILE_LISTENERS = 12
PROFILE_TRACKS = 80


def _entries(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"track_id": ids, "source": "exportify", "rank": range(len(ids)), "added_at": 0.0}
    )


def listeners(
    catalog: pd.DataFrame, genres: pd.DataFrame, library: Path, rng: np.random.Generator
) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(name, library entries, track table) per simulated listener."""
    parsed = read_exportify(library)
    own = parsed.entries["track_id"].tolist()
    labels = genres[genres["track_id"].isin(own)]
    out = []
    for genre in labels["genre"].value_counts().index[:SPLIT_GENRES]:
        ids = sorted(set(labels.loc[labels["genre"] == genre, "track_id"]))
        out.append((f"user_a/{genre}", _entries(ids), parsed.tracks.loc[ids]))
    names = genres["genre"].unique()
    for i in range(PROFILE_LISTENERS):
        pair = rng.choice(names, size=2, replace=False)
        pool = genres.loc[genres["genre"].isin(pair), "track_id"].unique()
        ids = list(rng.choice(pool, size=min(PROFILE_TRACKS, len(pool)), replace=False))
        out.append((f"profile{i}/{'+'.join(pair)}", _entries(ids), catalog.loc[ids]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(SHARED / "spotify_tracks.csv.gz"))
    parser.add_argument("--library", default=str(SHARED / "exportify_user_a.csv"))
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    catalog, genres = read_catalog(args.catalog)
    index = GuessIndex.of(catalog)
    people = listeners(catalog, genres, Path(args.library), rng)
    scores = np.vstack(
        [first_guess_scores(catalog, lib, tracks, index=index)[1] for _, lib, tracks in people]
    )
    sizes = np.array([len(lib) for _, lib, _ in people])
    everyone = np.arange(len(catalog))
    figures: dict[str, tuple[list[float], list[float]]] = {
        k: ([], []) for k in ("fair", "average", "most active")
    }
    for _ in range(args.groups):
        group = rng.choice(len(people), size=int(rng.integers(3, 6)), replace=False)
        owned = set().union(*(set(people[g][1]["track_id"]) for g in group))
        keep = ~catalog.index.isin(list(owned))
        rows = everyone[keep]
        pool = catalog.iloc[rows]
        pct = member_percentiles(catalog, scores[group], rows)
        active = int(np.argmax(sizes[group]))
        lists = {
            "fair": fair_pick(pool, pct, LIST_SIZE),
            "average": average_pick(pool, pct, LIST_SIZE),
            "most active": single_pick(pool, pct, active, LIST_SIZE),
        }
        for name, chosen in lists.items():
            served = (pct[:, chosen] >= TOP_DECILE).mean(axis=1)
            figures[name][0].append(float(served.min()))
            figures[name][1].append(float(served.mean()))
    print(
        f"{len(people)} simulated listeners ({SPLIT_GENRES} from the shared library's main "
        f"genres, {PROFILE_LISTENERS} genre profiles), {args.groups} groups of 3–5, "
        f"{LIST_SIZE} tracks; satisfaction = share of the list in a member's own top decile"
    )
    print(f"{'strategy':<12} {'worst member':>13} {'mean':>7}")
    for name, (worst, mean) in figures.items():
        print(f"{name:<12} {statistics.mean(worst):>13.3f} {statistics.mean(mean):>7.3f}")
    fair_worst, fair_mean = (statistics.mean(v) for v in figures["fair"])
    avg_worst, avg_mean = (statistics.mean(v) for v in figures["average"])
    print(
        f"fair vs average: worst ×{fair_worst / max(avg_worst, 1e-9):.2f}, "
        f"mean {100 * (fair_mean - avg_mean) / max(avg_mean, 1e-9):+.1f} %"
    )
    five = scores[:5]
    times = []
    for _ in range(5):
        started = time.perf_counter()
        blend(catalog, five, 10)
        times.append(time.perf_counter() - started)
    print(
        f"blend of 5 members over {len(catalog):,} tracks (scores in memory): "
        f"median {statistics.median(times):.3f} s (budget 1 s)"
    )


if __name__ == "__main__":
    main()
