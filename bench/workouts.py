"""1,000 simultaneous live workouts at 1 Hz through the real Pulsoid WebSocket client and the
real workout manager, in one process; prints CPU share, p95 heart-rate → decision latency, RSS.

A fake Pulsoid runs in a child process (so its CPU is not counted) and sends every stream one
frame a second, ``measured_at`` = its send time. The bot process holds the catalog, a SQLite
database (WAL, synchronous=FULL), one aiohttp session with a WebSocket per user, the
WorkoutManager with the product's picker, and stores the samples. Latency is measured from a
frame's send time to the moment the manager has decided on it (zone, target, any picks).

Budgets (shared/DESIGN.md): ≤ 50 % of one core, p95 ≤ 50 ms, resident memory ≤ 300 MB.
Run: ``.venv/bin/python bench/workouts.py [--streams 1000] [--seconds 60] [--catalog PATH|demo]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import release_freed_memory  # noqa: E402
from bot.core.accounts.pulsoid import PulsoidAccounts  # noqa: E402
from bot.core.catalog import CatalogState, demo_state  # noqa: E402
from bot.core.delivery import Outbox  # noqa: E402
from bot.core.oauth import StateKeeper  # noqa: E402
from bot.core.taste.models import TasteModels  # noqa: E402
from bot.core.taste.picker import TastePicker  # noqa: E402
from bot.core.workout.finish import WorkoutFinisher  # noqa: E402
from bot.core.workout.heart_response import HeartResponses  # noqa: E402
from bot.core.workout.live import LiveWorkout  # noqa: E402
from bot.core.workout.manager import WorkoutManager  # noqa: E402
from bot.sources.heart_streams import HeartStreams  # noqa: E402
from bot.sources.pulsoid import PulsoidClient  # noqa: E402
from bot.sources.pulsoid_stream import PulsoidHeartStream  # noqa: E402
from storage.crypto import TokenCipher  # noqa: E402
from storage.database import DATABASE_FILE, Storage  # noqa: E402
from storage.token_vault import TokenVault  # noqa: E402

BUDGET_CPU, BUDGET_P95_MS, BUDGET_RSS_MB = 0.5, 50.0, 300.0
SHARED_CATALOG = ROOT.parent / "shared" / "data" / "spotify_tracks.csv.gz"
KEY = b"YmVuY2htYXJrLWtleS1iZW5jaG1hcmsta2V5LTMyYj0="


def heart(profile: str, n: int) -> float:
    """A listener's heart: a slow wave through the zones (periods differ per user) plus noise."""
    k = int(profile.rsplit("-", 1)[1])
    period = 240.0 + (k * 37) % 300
    wave = 125.0 + 30.0 * math.sin(2.0 * math.pi * n / period + k)
    return wave + ((k * 7919 + n * 104729) % 7) - 3


def serve(streams: int, port: multiprocessing.Queue[int]) -> None:
    """The child process: a fake Pulsoid with one token per user, one frame per second."""
    from tests.fakes.fake_pulsoid import FakePulsoid, Grant

    async def main() -> None:
        fake = FakePulsoid(frame_interval=1.0, clock_skew_ms=0, heart=heart)
        for k in range(streams):
            fake.grants[f"bench-token-{k:05d}"] = Grant(f"profile-{k}")
        base = await fake.start()
        port.put(int(base.rsplit(":", 1)[1].strip("/")))
        await asyncio.Event().wait()

    asyncio.run(main())


def rss_mb() -> float:
    """Current resident set size (MB) from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def load_catalog(choice: str, workdir: Path) -> tuple[Storage, CatalogState]:
    """The real catalog when asked for (or present), else the demo — loaded as ``beatmatch run``
    loads it: imported beforehand by another process, then read from SQLite."""
    path = SHARED_CATALOG if choice == "auto" else Path(choice)
    if choice != "demo" and path.is_file():
        env = {**os.environ, "BEATMATCH_STORAGE_DATA_DIR": str(workdir)}
        subprocess.run(
            [sys.executable, "-m", "bot", "import-catalog", str(path)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        storage = Storage.open(workdir / DATABASE_FILE)
        tracks, genres = storage.tracks.load_catalog()
        release_freed_memory()
        state = CatalogState(tracks=tracks, genres=genres, is_demo=False, fingerprint="bench")
        return storage, state
    return Storage.open(workdir / DATABASE_FILE), demo_state(3000)


async def run(args: argparse.Namespace, base: str) -> None:
    """Start the workouts, measure a window, print the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="beatmatch-bench-"))
    storage, catalog = load_catalog(args.catalog, workdir)
    vault = TokenVault(storage.accounts, TokenCipher(KEY))
    client = PulsoidClient("bench", "bench", base, base, timeout=30.0)
    outbox = Outbox()  # no front connected: the messages are dropped
    accounts = PulsoidAccounts(client, vault, StateKeeper(storage.accounts, KEY), outbox)
    # The product's picker and heart responses, wired as ``bot.app.assemble`` wires them.
    models = TasteModels(storage.taste, storage.tracks, catalog, workdir / "models")
    picker = TastePicker(models, storage.taste, catalog)
    responses = HeartResponses(storage.users, storage.workouts, storage.tracks, catalog.tracks)
    latencies: list[float] = []
    measuring = False

    def on_decision(live: LiveWorkout) -> None:
        stream = live.stream
        if measuring and isinstance(stream, PulsoidHeartStream) and stream.last_measured_at:
            latencies.append(time.time() * 1000.0 - stream.last_measured_at)

    manager = WorkoutManager(
        storage.workouts,
        storage.tracks,
        catalog.tracks,
        picker.pick,
        HeartStreams(accounts, client),
        WorkoutFinisher(storage.workouts, workdir / "charts", responses),
        outbox,
        responses=responses,
        on_decision=on_decision,
    )
    users = []
    for k in range(args.streams):
        uid = storage.users.user_id("bench", str(k))
        storage.workouts.update_profile(
            uid, age=25 + k % 30, resting_hr=55 + k % 15, goal_zone=1 + k % 5
        )
        vault.save(uid, "pulsoid", {"access_token": f"bench-token-{k:05d}"}, f"profile-{k}", "")
        users.append(uid)

    # As ``beatmatch run`` does once started: the catalog and the modules are long-lived, so
    # the garbage collector stops scanning them (a full scan of them pauses the loop ~0.4 s).
    gc.collect()
    gc.freeze()
    baseline = rss_mb()
    ramp = args.ramp / max(len(users), 1)
    for uid in users:  # listeners start over the ramp, not in the same millisecond
        await manager.start(uid, None, None)
        await asyncio.sleep(ramp)
    await asyncio.sleep(args.warmup)
    live = len(manager.live)
    connected = sum(1 for w in manager.live.values() if getattr(w.stream, "connected", False))
    samples_before = sum(w.session.summary().samples for w in manager.live.values())
    measuring = True
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(args.seconds)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    measuring = False
    samples = sum(w.session.summary().samples for w in manager.live.values()) - samples_before
    resident, peak = rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    suggested = sum(len(w.suggested) for w in manager.live.values())
    await manager.shutdown()
    await client.close()
    stored = storage.sql.rows("select count(*) as n from hr_samples")[0]["n"]
    storage.close()
    shutil.rmtree(workdir, ignore_errors=True)
    # The taste-model libraries load with the first model trained or read; none is here (the
    # listeners have no library), so show what a process that also serves models would hold.
    import sklearn.ensemble  # noqa: F401
    import xgboost  # noqa: F401

    with_models = rss_mb()

    share = (cpu1 - cpu0) / (wall1 - wall0)
    lat = np.asarray(latencies)
    p50, p95, p99 = (float(np.percentile(lat, q)) for q in (50, 95, 99))
    print(
        f"catalog {len(catalog.tracks):,} tracks ({'demo' if catalog.is_demo else 'real'}); "
        f"{live} workouts live, {connected} WebSockets open"
    )
    print(
        f"window {wall1 - wall0:.1f} s: {samples:,} readings decided "
        f"({samples / (wall1 - wall0):.0f}/s), {len(lat):,} latencies, "
        f"{suggested:,} tracks suggested in all, {stored:,} samples stored (5 s downsampling)"
    )
    print(f"CPU: {share:.1%} of one core (budget {BUDGET_CPU:.0%}, ratio {share / BUDGET_CPU:.2f})")
    print(
        f"HR→decision latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms "
        f"(budget p95 {BUDGET_P95_MS:.0f} ms, ratio {p95 / BUDGET_P95_MS:.2f})"
    )
    print(
        f"resident memory: {resident:.0f} MB now, peak {peak:.0f} MB "
        f"(budget {BUDGET_RSS_MB:.0f} MB, ratio {resident / BUDGET_RSS_MB:.2f}); "
        f"{baseline:.0f} MB before the first workout (modules + catalog), so the "
        f"{live} workouts hold {resident - baseline:.0f} MB"
    )
    print(
        f"a process that has also trained or read a taste model holds the model libraries too: "
        f"{with_models:.0f} MB (+{with_models - resident:.0f} MB)"
    )


def main() -> None:
    """Start the fake Pulsoid process, run the benchmark, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=15.0, help="after the last start")
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds to start them all")
    parser.add_argument("--catalog", default="auto", help="PATH, demo, or auto (shared data)")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    port: multiprocessing.Queue[int] = ctx.Queue()
    server = ctx.Process(target=serve, args=(args.streams, port), daemon=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{port.get(timeout=30)}/"
        asyncio.run(run(args, base))
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
