"""How long one listener's taste models take to train, as the bot trains them: in a worker process
of the embedded pool, fit plus scoring the whole catalog, for the shared 720-song listener.

    .venv/bin/python bench/taste_training.py [--runs 5]

Builds the product's app over a temporary data directory with the shared catalog, imports the
shared Exportify file (which trains both models once: the warm-up), then runs the listener's quick
and full jobs ``--runs`` times each through the product's job runner, one at a time. Prints, per
kind, the wall time the bot waits for a job (hand-over, fit, catalog scores, answer back) and the
fit + score time the worker reports, as min / median / max. Budgets (issue 11, 2 cores): full
<= 10 s, quick <= 1 s. Needs ../shared/data beside the repository.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bot/__main__ sets it

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import assemble, load_catalog, open_storage  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.replies import ChatUser  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BUDGET = {"quick": 1.0, "full": 10.0}


async def measure(runs: int, data_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Per kind, (wall seconds at the runner, the worker's fit + score seconds) of each run."""
    config = load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(data_dir),
            "BEATMATCH_CATALOG_PATH": str(SHARED / "spotify_tracks.csv.gz"),
            "BEATMATCH_RECCOBEATS_ENABLED": "false",
            "BEATMATCH_LOGGING_LEVEL": "WARNING",
        }
    )
    storage = open_storage(config)
    catalog = await asyncio.to_thread(load_catalog, config, storage, False)
    app = assemble(config, storage, catalog, cooldown=0.0)
    taste = app.service.taste
    user = ChatUser("console", "bench")
    timings: dict[str, list[tuple[float, float]]] = {"quick": [], "full": []}
    try:
        reply = await taste.import_library(user, str(SHARED / "exportify_user_a.csv"))
        assert not reply.error, reply.text
        uid = await app.service.users.uid(user)
        await app.training.idle(uid)  # warm-up: the worker started and holds the catalog
        models = taste.models
        for _ in range(runs):
            for kind in ("quick", "full"):
                job = await asyncio.to_thread(models.job, uid, kind == "quick")
                started = time.perf_counter()
                answer = await app.work.runner.run(job)
                timings[kind].append((time.perf_counter() - started, answer.seconds))
    finally:
        await app.shutdown()
    return timings


def main() -> int:
    """Run the benchmark and print figures against the budgets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"needs {SHARED}", file=sys.stderr)
        return 2
    print(f"{os.cpu_count()} cores, load average before {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        timings = asyncio.run(measure(args.runs, Path(tmp)))
    print(f"load average after {os.getloadavg()}")
    for kind, rows in timings.items():
        wall = [w for w, _ in rows]
        fit = [f for _, f in rows]
        print(
            f"{kind:5} model, {len(rows)} runs: wall {min(wall):.2f} / "
            f"{statistics.median(wall):.2f} / {max(wall):.2f} s (min / median / max), "
            f"fit + score in the worker {min(fit):.2f} / {statistics.median(fit):.2f} / "
            f"{max(fit):.2f} s; budget {BUDGET[kind]:.0f} s -> "
            f"{'met' if max(wall) <= BUDGET[kind] else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
