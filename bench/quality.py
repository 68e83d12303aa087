"""Every figure of issue 15's acceptance, on the shared listener.

    .venv/bin/python bench/quality.py [--seeds 0 1 2 3 4] [--half-life 365] [--no-baselines]

Prints the song-list figures (``bench.quality_lists.report``) and the genre figures
(``bench.quality_genre.report``) when those modules are present, then its own, each over
seeds 0–4 unless told otherwise:

- next-likes Recall@100 with and without recency weighting (mean of the seeds);
- new-artist Recall@100 (later likes by artists absent from the earlier 80 %,
  :mod:`recommender.evaluation.new_artists`), with and without recency;
- the share of new artists (none of whose artists the library holds) in a context-free
  /recommend 10 from a model of the whole library (the product's ``select``, owned tracks left out);
- Recall@100 over the best baseline (``beatmatch eval next-likes --baselines``, seed 0): ≥ 3×.

Needs ../shared/data beside the repository. Takes a few minutes on 2 cores (two full models a seed
for each protocol).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bot/__main__ sets it

import argparse
import importlib
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recommender.evaluation.baselines import evaluate_with_baselines  # noqa: E402
from recommender.evaluation.new_artists import artist_keys_of, evaluate_new_artists  # noqa: E402
from recommender.evaluation.next_likes import NextLikesSplit, evaluate_next_likes  # noqa: E402
from recommender.features import track_artist_keys  # noqa: E402
from recommender.ranking import allowed, select  # noqa: E402
from recommender.taste import TasteModel, TasteSettings  # noqa: E402
from storage.catalog_csv import read_catalog  # noqa: E402
from storage.exportify import read_exportify  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CATALOG = SHARED / "spotify_tracks.csv.gz"
LIBRARY = SHARED / "exportify_user_a.csv"
#: Sections written beside this one; each has ``report() -> None`` printing its figures.
OTHER_SECTIONS: tuple[tuple[str, str], ...] = (
    ("bench.quality_lists", "song identity and fresh lists"),
    ("bench.quality_genre", "moods within taste and genre beyond the catalog"),
)


def ranker_with(
    settings: TasteSettings,
) -> Callable[[NextLikesSplit, pd.DataFrame, int], np.ndarray]:
    """The product's ranker (the taste model) with ``settings``, the seed put in per run."""

    def rank(split: NextLikesSplit, pool: pd.DataFrame, seed: int) -> np.ndarray:
        model = TasteModel.fit(
            split.train, split.tracks, pool, settings=replace(settings, seed=seed)
        )
        return model.score(split.candidates)

    return rank


def mean_recall(
    evaluate: Callable[..., dict[str, float | int]],
    catalog: pd.DataFrame,
    library: object,
    settings: TasteSettings,
    seeds: Sequence[int],
) -> tuple[float, list[float], int]:
    """(mean Recall@100, per seed, test likes) of ``evaluate`` with the model's ``settings``."""
    per_seed, test = [], 0
    for seed in seeds:
        result = evaluate(
            catalog,
            library.tracks,  # type: ignore[attr-defined]
            library.entries,  # type: ignore[attr-defined]
            seed=seed,
            ranker=ranker_with(settings),
        )
        per_seed.append(float(result["recall@100"]))
        test = int(result["test"])
    return statistics.fmean(per_seed), per_seed, test


def new_artist_share(
    catalog: pd.DataFrame, library: object, settings: TasteSettings, n: int = 10
) -> float:
    """Share of a context-free /recommend ``n`` (a model of the whole library) by new artists."""
    entries = library.entries.assign(source="exportify")  # type: ignore[attr-defined]
    tracks = library.tracks  # type: ignore[attr-defined]
    owned = set(entries["track_id"])
    known = pd.concat([catalog.loc[catalog.index.intersection(list(owned))], tracks])
    known = known[~known.index.duplicated()]
    model = TasteModel.fit(entries, known, catalog, settings=settings)
    scores = model.score(catalog)
    library_tracks = known.loc[known.index.intersection(list(owned))]
    chosen = select(
        catalog,
        scores,
        n,
        library=library_tracks,
        profile=model.profile,
        keep=allowed(catalog.index, owned),
        seed=settings.seed,
    )
    mine = artist_keys_of(known, owned)
    ids = [p.track_id for p in chosen.picks]
    new = [not (set(track_artist_keys(str(catalog.at[t, "artists"]))) & mine) for t in ids]
    return sum(new) / max(len(new), 1)


def other_sections() -> None:
    """The figures q1 and q3 report, or a line saying a section is not there yet."""
    for module_name, what in OTHER_SECTIONS:
        print(f"== {what} ({module_name})")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            print(f"   skipped: {module_name} is not in this checkout yet")
            continue
        figures = (
            module.report(LIBRARY, CATALOG)
            if module_name == "bench.quality_lists"
            else module.report()
        )
        for key, value in figures.items():
            if isinstance(value, list):
                print(f"   {key}:")
                for item in value:
                    print(f"      {item}")
            else:
                print(f"   {key}: {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; exit status 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--half-life", type=float, default=TasteSettings().recency_half_life_days)
    parser.add_argument("--new-artist-share", type=float, default=TasteSettings().new_artist_share)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--no-others", action="store_true", help="only this part's figures")
    args = parser.parse_args(argv)
    if not args.no_others:
        other_sections()

    started = time.perf_counter()
    catalog, _ = read_catalog(CATALOG)
    library = read_exportify(LIBRARY)
    recent = TasteSettings(
        recency_half_life_days=args.half_life, new_artist_share=args.new_artist_share
    )
    flat = replace(recent, recency_half_life_days=0.0)
    seeds = args.seeds
    print(
        f"== taste that moves and discovery (seeds {seeds}, half-life {args.half_life} days, "
        f"new-artist share of positives {args.new_artist_share})"
    )
    for label, evaluate in (
        ("next-likes", evaluate_next_likes),
        ("new-artist", evaluate_new_artists),
    ):
        with_mean, with_seeds, test = mean_recall(evaluate, catalog, library, recent, seeds)
        flat_mean, flat_seeds, _ = mean_recall(evaluate, catalog, library, flat, seeds)
        print(
            f"   {label} Recall@100 ({test} later likes): with recency {with_mean:.4f} "
            f"{with_seeds}, without {flat_mean:.4f} {flat_seeds}"
        )
    for label, settings in (("with recency", recent), ("without", flat)):
        share = statistics.fmean(
            new_artist_share(catalog, library, replace(settings, seed=s)) for s in seeds
        )
        print(f"   new-artist share of /recommend 10, {label}: {share:.2f}")
    if not args.no_baselines:
        result = evaluate_with_baselines(catalog, library.tracks, library.entries, seed=seeds[0])
        print(
            f"   Recall@100 over the best baseline (seed {seeds[0]}): "
            f"{result['recall@100_vs_best_baseline']}x (need >= 3x)"
        )
    print(f"   ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
