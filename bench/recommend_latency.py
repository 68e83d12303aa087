"""How long /recommend takes for one user over the shared catalog with a warm model, against fitting
a fresh plain RF300+XGB300 per call (what the original projects did).

    .venv/bin/python bench/recommend_latency.py [--runs 20]

Prints the median compute time of the real service call (sqlite reads, selection, ordering,
reasons) and the ratio. Needs ../shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from xgboost import XGBClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import assemble  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.catalog import CatalogState  # noqa: E402
from bot.core.replies import ChatUser  # noqa: E402
from recommender.tracks import KAGGLE_NUMERIC  # noqa: E402
from storage.catalog_csv import read_catalog  # noqa: E402
from storage.database import Storage  # noqa: E402
from storage.exportify import read_exportify  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def plain_fit_and_rank(catalog: pd.DataFrame, library: pd.DataFrame, seed: int) -> np.ndarray:
    """The replaced method: fit RF300 + XGB300 on library vs random negatives, score everything."""
    rng = np.random.default_rng(seed)
    negatives = catalog.iloc[rng.choice(len(catalog), size=len(library), replace=False)]
    columns = list(KAGGLE_NUMERIC)
    x = pd.concat([library[columns], negatives[columns]]).to_numpy(dtype=float)
    y = np.r_[np.ones(len(library)), np.zeros(len(negatives))]
    rf = RandomForestClassifier(n_estimators=300, n_jobs=2, random_state=seed).fit(x, y)
    xgb = XGBClassifier(n_estimators=300, n_jobs=2, random_state=seed).fit(x, y)
    cand = catalog[columns].to_numpy(dtype=float)
    return (rf.predict_proba(cand)[:, 1] + xgb.predict_proba(cand)[:, 1]) / 2.0


async def time_service(runs: int, data_dir: Path) -> tuple[list[float], float, int]:
    """Median-able timings of /recommend 10 with a warm model; also the warm-up time."""
    storage = Storage.open(data_dir / "bench.db")
    tracks, genres = read_catalog(SHARED / "spotify_tracks.csv.gz")
    storage.tracks.replace_catalog(tracks, genres)
    catalog = CatalogState(*storage.tracks.load_catalog(), is_demo=False)
    # The product's wiring and default models; the data under data_dir, nothing asked online.
    config = load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(data_dir),
            "BEATMATCH_RECCOBEATS_ENABLED": "false",
        }
    )
    app = assemble(config, storage, catalog, cooldown=0.0)
    taste = app.service.taste
    user = ChatUser("console", "bench")  # a path import is the console's
    try:
        await taste.import_library(user, str(SHARED / "exportify_user_a.csv"))
        started = time.perf_counter()
        await taste.recommend(user, 10)  # the first answer (the model the import started training)
        warmup = time.perf_counter() - started
        uid = await app.service.users.uid(user)
        await taste.training.schedule(uid)  # a warm, full model for the timed calls
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            reply = await taste.recommend(user, 10)
            timings.append(time.perf_counter() - started)
            assert len(reply.tracks) == 10
    finally:
        await app.shutdown()  # closes the database
    return timings, warmup, catalog.size


def main() -> int:
    """Run the benchmark and print figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline-runs", type=int, default=3)
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"needs {SHARED}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        timings, warmup, size = asyncio.run(time_service(args.runs, Path(tmp)))
    ours = statistics.median(timings)
    catalog, _ = read_catalog(SHARED / "spotify_tracks.csv.gz")
    library = read_exportify(SHARED / "exportify_user_a.csv").tracks
    baseline = []
    for seed in range(args.baseline_runs):
        started = time.perf_counter()
        plain_fit_and_rank(catalog, library, seed)
        baseline.append(time.perf_counter() - started)
    theirs = statistics.median(baseline)
    print(f"catalog tracks:                      {size:,}")
    print(f"first /recommend after the import:   {warmup:.2f} s")
    print(
        f"/recommend 10, warm model, median:   {ours * 1000:.0f} ms "
        f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}, {len(timings)} runs)"
    )
    print(f"fresh plain RF300+XGB300 per call:   {theirs:.2f} s median of {len(baseline)}")
    print(f"ratio (plain / beatmatch):           {theirs / ours:.1f}x")
    print(
        f"target: <= 0.3 s and >= 5x -> {'met' if ours <= 0.3 and theirs / ours >= 5 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
