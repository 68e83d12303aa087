"""The genre classifier against its budgets, and against a plain audio-feature RandomForest.

    .venv/bin/python bench/genre_budget.py [--seed 0] [--baseline-trees 100]

Splits the shared catalog 80/20 by track id, trains the classifier on the 80 % in a child process
(so its peak resident memory is the training's own), saves and reloads it, times one-track
predictions, scores the 20 % with the `eval genre` protocol, and trains the baseline the product
brief names (a RandomForest on the 15 numeric columns only) to print both unseen-artist rates
side by side. Needs ../shared/data beside the repository; prints a note and exits 0 without it.
"""

from __future__ import annotations

import os

# XGBoost's OpenMP threads busy-wait by default; when other processes share the 2 cores that made
# training 3× slower in wall time here. Must be set before any OpenMP library is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recommender.evaluation.genre import (  # noqa: E402
    artist_set,
    evaluate_model,
    split_catalog_by_track,
)
from recommender.genre import GenreClassifier, catalog_genres, numeric_matrix  # noqa: E402
from recommender.tracks import AUDIO_FEATURES, split_artists  # noqa: E402
from storage.catalog_csv import read_catalog  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RECCOBEATS_GAPS = ("popularity", "duration_ms", "time_signature")


def train_in_child(
    train: tuple[pd.DataFrame, pd.DataFrame], seed: int, path: Path, report: Path
) -> None:
    """Fit, save, and write the training's wall/CPU time and peak RSS to ``report`` (JSON)."""
    started, cpu = time.perf_counter(), time.process_time()

    def say(message: str) -> None:
        print(f"  [{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    model = GenreClassifier.fit(train[0], train[1], seed=seed, n_jobs=2, progress=say)
    figures = {
        "train_wall_s": time.perf_counter() - started,
        "train_cpu_s": time.process_time() - cpu,
        "model_report": model.report,
        "blend": model.blend.as_dict(),
    }
    model.save(path)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report.write_text(json.dumps(figures))


def single_track_latency(model: GenreClassifier, tracks: pd.DataFrame, n: int) -> list[float]:
    """Milliseconds of predict_top_k for each of ``n`` tracks, one track a call."""
    times = []
    for i in range(min(n, len(tracks))):
        one = tracks.iloc[i : i + 1]
        started = time.perf_counter()
        model.predict_top_k(one, k=3)
        times.append((time.perf_counter() - started) * 1000)
    return times


def baseline_unseen(
    train: tuple[pd.DataFrame, pd.DataFrame],
    test: tuple[pd.DataFrame, pd.DataFrame],
    trees: int,
    seed: int,
) -> dict[str, float]:
    """Top-1/top-3 on unseen-artist test tracks of a plain RF on the numeric columns."""
    tracks, labels = train
    rows = labels[labels["track_id"].isin(set(tracks.index))]
    x = numeric_matrix(tracks.loc[rows["track_id"]])  # one row per (track, label)
    started = time.perf_counter()
    forest = RandomForestClassifier(
        n_estimators=trees, min_samples_leaf=5, max_samples=0.5, n_jobs=2, random_state=seed
    ).fit(x, rows["genre"].to_numpy())
    fit_s = time.perf_counter() - started
    known = artist_set(tracks)
    truth = catalog_genres(test[1], test[0].index)
    unseen = test[0][
        [
            t in truth and not any(a in known for a in split_artists(c))
            for t, c in zip(test[0].index, test[0]["artists"], strict=True)
        ]
    ]
    proba = forest.predict_proba(numeric_matrix(unseen))
    top = np.argsort(-proba, axis=1)[:, :3]
    names = forest.classes_
    hits = [[names[j] in truth[t] for j in row] for t, row in zip(unseen.index, top, strict=True)]
    return {
        "unseen_artist_tracks": len(unseen),
        "unseen_artist_top1": round(float(np.mean([h[0] for h in hits])), 4),
        "unseen_artist_top3": round(float(np.mean([any(h) for h in hits])), 4),
        "fit_s": round(fit_s, 1),
    }


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-trees", type=int, default=100)
    parser.add_argument("--latency-tracks", type=int, default=200)
    args = parser.parse_args()
    source = SHARED / "spotify_tracks.csv.gz"
    if not source.exists():
        print(f"genre_budget: {source} not found; nothing to measure.")
        return 0
    print(f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, load average {os.getloadavg()}")
    tracks, labels = read_catalog(source)
    train_tracks, train_labels, test_tracks, test_labels = split_catalog_by_track(
        tracks, labels, test_fraction=0.2, seed=args.seed
    )
    print(f"train {len(train_tracks):,} tracks, test {len(test_tracks):,} tracks")
    with tempfile.TemporaryDirectory() as tmp:
        path, report = Path(tmp) / "genre.model", Path(tmp) / "figures.json"
        child = multiprocessing.get_context("fork").Process(
            target=train_in_child,
            args=((train_tracks, train_labels), args.seed, path, report),
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            print("training failed")
            return 1
        figures = json.loads(report.read_text())
        size_mb = path.stat().st_size / 1e6
        started = time.perf_counter()
        model = GenreClassifier.load(path)
        load_s = time.perf_counter() - started
    started = time.perf_counter()
    result = evaluate_model(model, train_tracks, test_tracks, test_labels)
    predict_s = time.perf_counter() - started
    latency = single_track_latency(model, test_tracks, args.latency_tracks)
    sparse = test_tracks.drop(columns=list(RECCOBEATS_GAPS))
    latency_sparse = single_track_latency(model, sparse, args.latency_tracks)
    print(f"training: {figures['train_wall_s']:.0f} s wall, {figures['train_cpu_s']:.0f} s CPU")
    print(f"training peak RSS (child process, catalog included): {figures['peak_rss_mb']:.0f} MB")
    print(f"model file: {size_mb:.1f} MB; load {load_s:.2f} s")
    print(f"predicting {result['tracks']:,} test tracks: {predict_s:.1f} s")
    print(
        f"eval genre total (train + predict): {figures['train_wall_s'] + predict_s:.0f} s; "
        f"one track: median {statistics.median(latency):.1f} ms, "
        f"p95 {np.percentile(latency, 95):.1f} ms; without popularity/duration/time signature: "
        f"median {statistics.median(latency_sparse):.1f} ms"
    )
    print("held-out slice of training:", json.dumps(figures["model_report"]))
    print("blend:", json.dumps(figures["blend"]))
    print("eval:", json.dumps(result))
    no_audio = test_tracks.drop(columns=["popularity", *AUDIO_FEATURES])
    for label, degraded in (
        ("ReccoBeats-like (no popularity/duration/time signature)", sparse),
        ("names only (no popularity, no audio features)", no_audio),
    ):
        print(
            f"eval, {label}:",
            json.dumps(evaluate_model(model, train_tracks, degraded, test_labels)),
        )
    base = baseline_unseen(
        (train_tracks, train_labels), (test_tracks, test_labels), args.baseline_trees, args.seed
    )
    print(f"baseline RF{args.baseline_trees} on the 15 numeric columns:", json.dumps(base))
    for key in ("unseen_artist_top1", "unseen_artist_top3"):
        print(f"{key}: {result[key]:.4f} vs {base[key]:.4f} = {result[key] / base[key]:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
