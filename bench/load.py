"""Many new listeners at once: time to a first recommendation, warm /recommend latency meanwhile,
the trainings the queue runs, and the peak memory of every process — over the shared catalog.

    .venv/bin/python bench/load.py [--listeners 200] [--window 300] [--warm 20] [--workers K]
                                   [--mode embedded|redis|both] [--no-burst] [--seed 0]

The real app is built as the product builds it (``bot.app``: a temporary data directory, the shared
catalog imported into SQLite and loaded like ``load_catalog``, the product's taste settings, the
model-work queue over the configured job runner), with ReccoBeats off, no cooldown, and the genre
classifier never asked for (``app.start`` is not called). Then, through the core:

1. **Warm-up** (before the clock): ``--warm`` listeners import a library and their full models are
   trained. From then on each asks ``/recommend 10`` every 1–3 s until the end; every latency is
   recorded.
2. **Spread**: ``--listeners`` fresh listeners arrive at uniformly random times over ``--window``
   seconds. Each imports an Exportify-like library (``service.taste.import_library(…, data=…)``),
   built in memory from rows of the shared listener's export and catalog tracks written as Exportify
   rows, 100–3,000 songs, then asks ``/recommend 10`` (``bot.core.dispatch.handle_text``). Its *time
   to first recommendation* runs from the import's start to that reply. The phase lasts until every
   listener's full model is trained.
3. **Burst** (unless ``--no-burst``): as many fresh listeners again, all at once; the same measures.

Peak RSS is the sum over this process (the bot) and all its descendants (the pool's workers; in
Redis mode also ``redis-server`` and the ``beatmatch worker`` processes with their work horses),
sampled from /proc every 0.5 s. Trainings are counted at the job runner (a counting wrapper around
the one ``bot.app.job_runner`` builds). The script prints figures and whether each target is met;
it never asserts. Needs ../shared/data beside the repository (and, for ``--mode redis``, the Redis
adapter and a ``redis-server`` on PATH).
"""

from __future__ import annotations

import os

# As bot/__main__ does before sklearn/xgboost load: idle OpenMP threads must not spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import asyncio
import contextlib
import csv
import gc
import importlib.util
import io
import logging
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Beatmatch, assemble, job_runner, load_catalog, open_storage  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.dispatch import guarded, handle_text  # noqa: E402
from bot.core.model_jobs import Job, TasteJob, TrainedFile, TrainingRefused  # noqa: E402
from bot.core.ports import JobRunner  # noqa: E402
from bot.core.replies import ChatUser, Reply  # noqa: E402
from bot.training.pool import default_processes  # noqa: E402
from recommender.tracks import AUDIO_FEATURES  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CATALOG = SHARED / "spotify_tracks.csv.gz"
LISTENER = SHARED / "exportify_user_a.csv"
REDIS_ADAPTER = "bot.training.redis_runner"
REDIS_WORKERS = 2
MIN_SONGS, MAX_SONGS = 100, 3000
SAMPLE_SECONDS = 0.5
PSS_EVERY = 4
GB = 1024**3

# Targets on 2 cores (DESIGN.md, issue 11).
WARM_P95 = 0.5
FIRST_P95 = 60.0
PEAK_RSS = 4 * GB

#: The markers /recommend's footer carries when the quick first model or the first guess answered.
QUICK_FOOTER = "first-pass model"
GUESS_FOOTER = "a first guess from the artists and sound"


# -- libraries ------------------------------------------------------------------------------------
class Libraries:
    """Exportify-like libraries: rows of the shared listener's export plus catalog tracks (most
    of them from a few genres, so that each listener has a taste), written as Exportify writes."""

    def __init__(self, catalog: pd.DataFrame, genres: pd.DataFrame) -> None:
        raw = LISTENER.read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(raw, newline="")))
        self.header, self.shared = rows[0], [r for r in rows[1:] if r]
        uri = self.header.index("Track URI")
        shared_ids = {r[uri].rsplit(":", 1)[-1] for r in self.shared}
        self.catalog = catalog
        self.ids = catalog.index.to_numpy()
        position = pd.Series(np.arange(len(catalog)), index=catalog.index)
        labelled = genres[genres["track_id"].isin(catalog.index)]
        self.by_genre = [
            position[g["track_id"].unique()].to_numpy()
            for _, g in labelled.groupby("genre", observed=True)
        ]
        self.allowed = ~catalog.index.isin(list(shared_ids))

    def plan(self, rng: np.random.Generator) -> tuple[int, list[int], np.ndarray]:
        """(size, rows of the shared export, catalog positions) of one listener."""
        size = int(rng.integers(MIN_SONGS, MAX_SONGS + 1))
        n_shared = min(len(self.shared), int(size * rng.uniform(0.05, 0.5)))
        shared = sorted(rng.choice(len(self.shared), size=n_shared, replace=False).tolist())
        n_catalog = size - n_shared
        chosen = rng.choice(len(self.by_genre), size=int(rng.integers(1, 5)), replace=False)
        pool = np.concatenate([self.by_genre[g] for g in chosen])
        liked = rng.permutation(pool)[: int(0.8 * n_catalog)]
        spread = rng.choice(len(self.ids), size=2 * n_catalog, replace=False)
        picks = pd.unique(np.concatenate([liked, spread]))
        picks = picks[self.allowed[picks]][:n_catalog]
        return size, shared, rng.permutation(picks)

    def csv_bytes(self, shared: list[int], positions: np.ndarray, seed: int) -> bytes:
        """The Exportify CSV (UTF-8 with a BOM, like exportify.net) of one listener."""
        rng = np.random.default_rng(seed)
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.shared[i] for i in shared)
        tracks = self.catalog.iloc[positions]
        # Liked at random moments of 2019–2026.
        added = pd.to_datetime(
            rng.integers(1_546_300_800, 1_780_000_000, size=len(tracks)), unit="s"
        )
        columns: dict[str, Any] = {
            "uri": "spotify:track:" + tracks.index.to_series(),
            "name": tracks["name"],
            "album": tracks["album"],
            "artists": tracks["artists"],
            "released": "2020-01-01",
            "duration": tracks["duration_ms"].round().astype("Int64"),
            "popularity": tracks["popularity"].round().astype("Int64"),
            "explicit": "false",
            "by": "",
            "added": added.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(),
            "genres": "",
            "label": "Label",
        }
        for c in AUDIO_FEATURES:
            values = tracks[c]
            columns[c] = (
                values.round().astype("Int64") if c in ("key", "mode", "time_signature") else values
            )
        frame = pd.DataFrame(columns, index=tracks.index)
        frame.to_csv(out, header=False, index=False, lineterminator="\n", float_format="%g")
        return out.getvalue().encode("utf-8-sig")


# -- trainings ------------------------------------------------------------------------------------
class CountingRunner:
    """The product's job runner, with every job counted by kind (quick, full, genre)."""

    def __init__(self, inner: JobRunner) -> None:
        self.inner = inner
        self.done: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.seconds: defaultdict[str, list[float]] = defaultdict(list)
        self.per_user: Counter[tuple[int, str]] = Counter()
        self.jobs: list[tuple[str, int, float]] = []  # (kind, library rows, fit seconds)

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    async def run(self, job: Job) -> TrainedFile:
        kind, rows = "genre", 0
        if isinstance(job, TasteJob):
            rows = len(job.library)
            kind = "quick" if job.quick else "full"
            self.per_user[(job.user_id, kind)] += 1
        try:
            answer = await self.inner.run(job)
        except TrainingRefused:
            self.refused[kind] += 1
            raise
        except asyncio.CancelledError:
            raise
        except Exception:
            self.failed[kind] += 1
            raise
        self.done[kind] += 1
        self.seconds[kind].append(answer.seconds)
        self.jobs.append((kind, rows, answer.seconds))
        return answer

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:  # e.g. ProcessPool.pids()
        return getattr(self.inner, name)

    def snapshot(self) -> tuple[Counter[str], dict[str, int]]:
        return Counter(self.done), {k: len(v) for k, v in self.seconds.items()}


# -- memory ---------------------------------------------------------------------------------------
@dataclass
class MemoryPeak:
    total: int = 0
    bot: int = 0
    workers: int = 0
    redis: int = 0
    processes: int = 0
    pss: int = 0  # proportional set size: pages shared (forked work-horses) counted once


class MemorySampler(threading.Thread):
    """Sums the RSS of this process and all its descendants every 0.5 s; peaks per phase."""

    def __init__(self) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.root = os.getpid()
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.phase = "setup"
        self.peaks: dict[str, MemoryPeak] = defaultdict(MemoryPeak)
        self.last = MemoryPeak()
        self.count = 0
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with contextlib.suppress(Exception):
                self.sample()

    def stop(self) -> None:
        self._stop.set()

    def sample(self) -> None:
        self.count += 1
        children: defaultdict[int, list[int]] = defaultdict(list)
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children[ppid].append(int(entry.name))
        now = MemoryPeak()
        todo = [self.root]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, ()))
            rss = self._rss(pid)
            if rss is None:
                continue
            now.processes += 1
            # smaps_rollup walks the page tables of a 1 GB process: every 4th sample only.
            now.pss += (self._pss(pid) if self.count % PSS_EVERY == 0 else None) or rss
            if pid == self.root:
                now.bot += rss
            elif self._comm(pid).startswith("redis-server"):
                now.redis += rss
            else:
                now.workers += rss
        now.total = now.bot + now.workers + now.redis
        self.last = now
        peak = self.peaks[self.phase]
        peak.total = max(peak.total, now.total)
        peak.bot = max(peak.bot, now.bot)
        peak.workers = max(peak.workers, now.workers)
        peak.redis = max(peak.redis, now.redis)
        peak.processes = max(peak.processes, now.processes)
        if self.count % PSS_EVERY == 0:
            peak.pss = max(peak.pss, now.pss)

    def _rss(self, pid: int) -> int | None:
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.page
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _pss(pid: int) -> int | None:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
        return None

    @staticmethod
    def _comm(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return ""


# -- outside services (Redis mode) ----------------------------------------------------------------
class Services:
    """redis-server and ``beatmatch worker`` processes this bench started; all stopped at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start_redis(self) -> str:
        port = _free_port()
        log_file = (self.folder / "redis.log").open("wb")
        process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the bench, which stops it in order
        )
        self.processes.append(("redis-server", process))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: see {self.folder / 'redis.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return f"redis://127.0.0.1:{port}/0"
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start listening within 10 s")

    def start_workers(self, count: int, url: str, queue: str, env: dict[str, str]) -> None:
        for number in range(count):
            log_file = (self.folder / f"worker-{number}.log").open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--redis", url, "--queue", queue],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.processes.append((f"worker {number}", process))

    def check(self) -> list[str]:
        """Which started processes have exited already."""
        return [
            f"{name} (exit {p.returncode})" for name, p in self.processes if p.poll() is not None
        ]

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_missing() -> str:
    """Why the Redis mode can't run here ("" when it can)."""
    if importlib.util.find_spec(REDIS_ADAPTER) is None:
        return (
            f"not available yet: {REDIS_ADAPTER.replace('.', '/')}.py (the Redis job runner and "
            "`beatmatch worker --redis URL`) is not in this checkout"
        )
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH (Debian: apt-get install redis-server)"
    return ""


# -- one run --------------------------------------------------------------------------------------
@dataclass
class Listener:
    name: str
    size: int
    arrive: float  # seconds after the phase starts
    uid: int = 0
    first: float | None = None  # import start → first /recommend reply
    full: float | None = None  # import start → full model trained
    imported: float | None = None  # the import alone
    answered_by: str = ""  # "quick first model" | "full model" | "error: …"
    full_stored: bool = False
    library: Path | None = None  # their Exportify file, written before the clock


@dataclass
class Phase:
    name: str
    listeners: list[Listener]
    start: float = 0.0
    answered: float = 0.0  # bench clock: every first reply in
    drained: float = 0.0  # bench clock: every full model trained
    trainings: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, list[float]] = field(default_factory=dict)
    duplicate_quick: int = 0
    jobs: list[tuple[str, int, float]] = field(default_factory=list)
    gave_up: bool = False


@dataclass
class RunResult:
    mode: str
    workers: str
    catalog_size: int = 0
    catalog_seconds: float = 0.0
    warm_seconds: float = 0.0
    warm_trainings: Counter[str] = field(default_factory=Counter)
    phases: list[Phase] = field(default_factory=list)
    warm: list[tuple[float, float, bool]] = field(default_factory=list)  # (clock, seconds, error)
    warm_stored: int = 0
    warm_count: int = 0
    memory: dict[str, MemoryPeak] = field(default_factory=dict)
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()
    note: str = ""


class Bench:
    """One mode's run over one app."""

    def __init__(self, args: argparse.Namespace, mode: str, sampler: MemorySampler) -> None:
        self.args = args
        self.mode = mode
        self.sampler = sampler
        self.rng = np.random.default_rng(args.seed)
        self.client = ThreadPoolExecutor(1, thread_name_prefix="bench-client")  # builds the CSVs
        self.app: Beatmatch | None = None
        self.runner: CountingRunner | None = None
        self.libraries: Libraries | None = None
        self.clock0 = time.perf_counter()
        self.stop_warm = asyncio.Event()
        workers = args.workers or default_processes()
        label = (
            f"{REDIS_WORKERS} `beatmatch worker` processes on Redis"
            if mode == "redis"
            else f"embedded pool of {workers} worker process{'es' if workers > 1 else ''}"
        )
        self.result = RunResult(mode=mode, workers=label)

    def now(self) -> float:
        return time.perf_counter() - self.clock0

    async def run(self, folder: Path, services: Services) -> RunResult:
        args, result = self.args, self.result
        result.load_before = os.getloadavg()
        env = {
            "BEATMATCH_STORAGE_DATA_DIR": str(folder / "data"),
            "BEATMATCH_CATALOG_PATH": str(CATALOG),
            "BEATMATCH_RECCOBEATS_ENABLED": "false",
            "BEATMATCH_RECOMMEND_COOLDOWN_SECONDS": "0",
            "BEATMATCH_LOGGING_LEVEL": "WARNING",
        }
        if args.workers:
            env["BEATMATCH_TRAINING_WORKERS"] = str(args.workers)
        if self.mode == "redis":
            url = await asyncio.to_thread(services.start_redis)
            queue = f"beatmatch-load-{os.getpid()}"
            env["BEATMATCH_TRAINING_REDIS_URL"] = url
            env["BEATMATCH_TRAINING_QUEUE"] = queue
            # training.workers is the jobs in flight on Redis: one for each worker started here.
            env["BEATMATCH_TRAINING_WORKERS"] = str(REDIS_WORKERS)
            worker_env = {**env, "BEATMATCH_STORAGE_DATA_DIR": str(folder / "worker-data")}
            services.start_workers(REDIS_WORKERS, url, queue, worker_env)
        config = load_config(env=env)

        started = time.perf_counter()
        storage = open_storage(config)
        try:
            catalog = await asyncio.to_thread(load_catalog, config, storage, False)
            await asyncio.to_thread(catalog.prepare)  # as bot.app.build does
        except BaseException:
            storage.close()
            raise
        result.catalog_seconds = time.perf_counter() - started
        result.catalog_size = catalog.size
        self.runner = CountingRunner(job_runner(config, catalog))
        self.app = app = assemble(config, storage, catalog, cooldown=0.0, runner=self.runner)
        # As run_console does after build: long-lived objects out of the collector's way.
        gc.collect()
        gc.freeze()
        self.libraries = Libraries(catalog.tracks, catalog.genres)
        warm_tasks: list[asyncio.Task[None]] = []
        progress = asyncio.create_task(self.progress())
        try:
            await self.warm_up()
            # Every library is written to a file before the clock: building them is the
            # clients' work, and it must not take the bot process's CPU while latencies count.
            phases = [self.plan("spread", args.listeners, args.window)]
            if args.burst:
                phases.append(self.plan("burst", args.listeners, 0.0))
            await self.write_libraries(phases, folder / "libraries")
            self.clock0 = time.perf_counter()
            warm_tasks = [asyncio.create_task(self.warm_loop(i)) for i in range(result.warm_count)]
            for planned in phases:
                await self.phase(planned)
            self.stop_warm.set()
            await asyncio.gather(*warm_tasks)
            result.warm_stored = sum(
                await asyncio.gather(
                    *(
                        asyncio.to_thread(app.service.taste.models.has_stored, uid)
                        for uid in self.warm_uids
                    )
                )
            )
        finally:
            progress.cancel()
            for task in warm_tasks:
                task.cancel()
            await asyncio.gather(progress, *warm_tasks, return_exceptions=True)
            self.sampler.phase = "shutdown"
            await app.shutdown()
            self.client.shutdown(wait=False, cancel_futures=True)
            gc.unfreeze()
        result.load_after = os.getloadavg()
        result.memory = dict(self.sampler.peaks)
        return result

    # -- warm listeners -------------------------------------------------------------------------
    warm_uids: list[int]

    async def warm_up(self) -> None:
        """Import the warm listeners' libraries and train their full models (not timed)."""
        assert self.app is not None and self.runner is not None
        count = self.args.warm
        self.result.warm_count = count
        print(f"[{self.mode}] warm-up: {count} listeners' full models…", flush=True)
        started = time.perf_counter()
        listeners = [self.new_listener(f"warm-{i}", 0.0) for i in range(count)]
        self.warm_uids = []
        for listener, (shared, positions, seed) in listeners:
            data = await self.build(shared, positions, seed)
            reply = await guarded(
                self.user(listener.name),
                self.app.service.taste.import_library(
                    self.user(listener.name), data=data, filename=f"{listener.name}.csv"
                ),
            )
            if reply.error:
                print(f"  {listener.name}: import failed: {reply.text}", flush=True)
            self.warm_uids.append(await self.app.service.users.uid(self.user(listener.name)))
        await self.app.work.idle()
        await self.app.training.idle()
        for listener, _ in listeners:  # each model loaded once, as a listener seen before would be
            await handle_text(self.app.service, self.user(listener.name), "/recommend 10")
        self.result.warm_seconds = time.perf_counter() - started
        self.result.warm_trainings = Counter(self.runner.done)

    async def warm_loop(self, number: int) -> None:
        assert self.app is not None
        user = self.user(f"warm-{number}")
        pace = random.Random(self.args.seed * 1000 + number)
        next_at = self.now() + pace.uniform(0.0, 3.0)
        while not self.stop_warm.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_warm.wait(), max(0.0, next_at - self.now()))
                return
            started = self.now()
            reply = await handle_text(self.app.service, user, "/recommend 10")
            self.result.warm.append((started, self.now() - started, reply.error))
            next_at = started + pace.uniform(1.0, 3.0)

    # -- fresh listeners ------------------------------------------------------------------------
    def new_listener(
        self, name: str, arrive: float
    ) -> tuple[Listener, tuple[list[int], np.ndarray, int]]:
        assert self.libraries is not None
        size, shared, positions = self.libraries.plan(self.rng)
        seed = int(self.rng.integers(2**31))
        return Listener(name, size, arrive), (shared, positions, seed)

    async def build(self, shared: list[int], positions: np.ndarray, seed: int) -> bytes:
        assert self.libraries is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.client, self.libraries.csv_bytes, shared, positions, seed
        )

    @staticmethod
    def user(name: str) -> ChatUser:
        return ChatUser("console", name)

    def plan(self, name: str, count: int, window: float) -> tuple[Phase, list[tuple[Any, ...]]]:
        arrivals = (
            np.sort(self.rng.uniform(0.0, window, size=count)) if window > 0 else [0.0] * count
        )
        planned = [self.new_listener(f"{name}-{i}", float(t)) for i, t in enumerate(arrivals)]
        phase = Phase(name, [listener for listener, _ in planned])
        return phase, [recipe for _, recipe in planned]

    async def write_libraries(
        self, phases: list[tuple[Phase, list[tuple[Any, ...]]]], folder: Path
    ) -> None:
        """Each listener's Exportify file, written to ``folder`` (read back at their arrival)."""
        folder.mkdir(parents=True, exist_ok=True)
        count = sum(len(phase.listeners) for phase, _ in phases)
        print(f"[{self.mode}] writing {count} listeners' libraries…", flush=True)
        for phase, recipes in phases:
            for listener, recipe in zip(phase.listeners, recipes, strict=True):
                data = await self.build(*recipe)
                listener.library = folder / f"{listener.name}.csv"
                await asyncio.to_thread(listener.library.write_bytes, data)

    async def phase(self, planned: tuple[Phase, list[tuple[Any, ...]]]) -> None:
        assert self.app is not None and self.runner is not None
        phase, _ = planned
        self.result.phases.append(phase)
        self.sampler.phase = phase.name
        before = Counter(self.runner.done)
        before_seconds = {k: len(v) for k, v in self.runner.seconds.items()}
        before_users = Counter(self.runner.per_user)
        before_jobs = len(self.runner.jobs)
        phase.start = self.now()
        print(
            f"[{self.mode}] {phase.name}: {len(phase.listeners)} listeners"
            + (f" over {self.args.window:.0f} s" if phase.name == "spread" else " at once"),
            flush=True,
        )
        self.phase_answers = {listener.name: asyncio.Event() for listener in phase.listeners}
        tasks = [
            asyncio.create_task(self.listener(phase, listener)) for listener in phase.listeners
        ]
        answered = asyncio.create_task(self.all_answered(phase))
        try:
            await asyncio.wait_for(self.drain(tasks), self.args.max_wait)
        except TimeoutError:
            phase.gave_up = True
            print(
                f"[{self.mode}] {phase.name}: gave up after {self.args.max_wait:.0f} s", flush=True
            )
        await answered
        phase.drained = self.now()
        stored = await asyncio.gather(
            *(
                asyncio.to_thread(self.app.service.taste.models.has_stored, listener.uid)
                for listener in phase.listeners
                if listener.uid
            )
        )
        for listener, ok in zip([x for x in phase.listeners if x.uid], stored, strict=True):
            listener.full_stored = bool(ok)
        phase.trainings = Counter(self.runner.done)
        phase.trainings.subtract(before)
        phase.seconds = {k: v[before_seconds.get(k, 0) :] for k, v in self.runner.seconds.items()}
        phase.jobs = self.runner.jobs[before_jobs:]
        uids = {listener.uid for listener in phase.listeners}
        phase.duplicate_quick = sum(
            1
            for (uid, kind), n in self.runner.per_user.items()
            if uid in uids and kind == "quick" and n - before_users.get((uid, kind), 0) > 1
        )

    phase_answers: dict[str, asyncio.Event]

    async def drain(self, tasks: list[asyncio.Task[None]]) -> None:
        """Every listener answered and every model trained (the queue idle)."""
        assert self.app is not None
        await asyncio.gather(*tasks)
        await self.app.work.idle()
        await self.app.training.idle()

    async def all_answered(self, phase: Phase) -> None:
        await asyncio.gather(*(event.wait() for event in self.phase_answers.values()))
        phase.answered = self.now()

    async def listener(self, phase: Phase, listener: Listener) -> None:
        assert self.app is not None and listener.library is not None
        service = self.app.service
        user = self.user(listener.name)
        try:
            await asyncio.sleep(max(0.0, phase.start + listener.arrive - self.now()))
            # The file they send, read in the clients' own thread (a chat library would hand the
            # bot the bytes of a download): not in the bot's executor.
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(self.client, listener.library.read_bytes)
            started = self.now()
            reply = await guarded(
                user,
                service.taste.import_library(user, data=data, filename=f"{listener.name}.csv"),
            )
            del data
            listener.imported = self.now() - started
            if reply.error:
                listener.answered_by = f"error: import: {reply.text[:80]}"
            else:
                answer = await handle_text(service, user, "/recommend 10")
                listener.first = self.now() - started
                listener.answered_by = _answered_by(answer)
            self.phase_answers[listener.name].set()
            listener.uid = await service.users.uid(user)
            await self.app.training.idle(listener.uid)
            listener.full = self.now() - started
        finally:
            self.phase_answers[listener.name].set()

    # -- progress -------------------------------------------------------------------------------
    async def progress(self) -> None:
        assert self.app is not None and self.runner is not None
        while True:
            await asyncio.sleep(self.args.progress)
            memory = self.sampler.last
            phase = self.result.phases[-1] if self.result.phases else None
            where = "warm-up"
            if phase is not None:
                first = sum(1 for x in phase.listeners if x.first is not None or x.answered_by)
                full = sum(1 for x in phase.listeners if x.full is not None)
                where = f"{phase.name}: {first}/{len(phase.listeners)} answered, {full} full models"
            recent = [s for c, s, _ in self.result.warm if c >= self.now() - self.args.progress]
            warm = f", warm p95 {_p(recent, 95):.2f} s" if recent else ""
            print(
                f"  t={self.now():6.0f} s  {where}; queue {self.app.work.busy()}, trainings "
                f"{self.runner.done['quick']} quick / {self.runner.done['full']} full{warm}; "
                f"RSS {memory.total / GB:.2f} GB in {memory.processes} processes",
                flush=True,
            )


def _answered_by(reply: Reply) -> str:
    if reply.error:
        return f"error: {reply.text[:80]}"
    if not reply.tracks:
        return "error: no tracks"
    if GUESS_FOOTER in reply.footer:
        return "first guess"
    if QUICK_FOOTER in reply.footer:
        return "quick first model"
    return "full model"


# -- report ---------------------------------------------------------------------------------------
def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _s(value: float | None) -> str:
    if value is None or np.isnan(value):
        return "—"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def _gb(value: int) -> str:
    return f"{value / GB:.2f} GB"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(result: RunResult, args: argparse.Namespace) -> None:
    phases = result.phases
    title = f"beatmatch load — {result.workers}"
    print()
    print(title)
    print("=" * len(title))
    print(
        f"{os.cpu_count()} cores; load average before {_load(result.load_before)}, "
        f"after {_load(result.load_after)}; seed {args.seed}"
    )
    print(
        f"catalog: {result.catalog_size:,} tracks, imported and loaded in "
        f"{result.catalog_seconds:.0f} s"
    )
    warm_done = result.warm_trainings
    print(
        f"warm-up: {result.warm_count} listeners' full models in {result.warm_seconds:.0f} s "
        f"({warm_done['quick']} quick + {warm_done['full']} full trainings)"
    )
    print()
    width = 30
    names = [
        f"{p.name} ({len(p.listeners)}"
        + (f" over {args.window:.0f} s)" if p.name == "spread" else " at once)")
        for p in phases
    ]
    print(f"{'':{width}}" + "".join(f"{n:>26}" for n in names))

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:{width}}" + "".join(f"{c:>26}" for c in cells))

    firsts = [[x.first for x in p.listeners if x.first is not None] for p in phases]
    row("library songs (mean)", [f"{np.mean([x.size for x in p.listeners]):.0f}" for p in phases])
    row("first recommendation p50", [_s(_p(f, 50)) for f in firsts])
    row("first recommendation p95", [_s(_p(f, 95)) for f in firsts])
    row("first recommendation max", [_s(max(f) if f else None) for f in firsts])
    imports = [[x.imported for x in p.listeners if x.imported is not None] for p in phases]
    row("  the import alone p50 / p95", [f"{_s(_p(i, 50))} / {_s(_p(i, 95))}" for i in imports])
    for source in ("first guess", "quick first model", "full model"):
        row(
            f"  answered by {source}",
            [str(sum(1 for x in p.listeners if x.answered_by == source)) for p in phases],
        )
    row(
        "  failed",
        [str(sum(1 for x in p.listeners if x.answered_by.startswith("error"))) for p in phases],
    )
    row(
        "full models done",
        [f"{sum(x.full_stored for x in p.listeners)}/{len(p.listeners)}" for p in phases],
    )
    row("  all done, from phase start", [_s(p.drained - p.start) for p in phases])
    row(
        "  after the last arrival",
        [_s(p.drained - p.start - max((x.arrive for x in p.listeners), default=0)) for p in phases],
    )
    row("  per listener p50", [_s(_p([x.full for x in p.listeners if x.full], 50)) for p in phases])
    row(
        "trainings run (quick/full)",
        [f"{p.trainings['quick']} / {p.trainings['full']}" for p in phases],
    )
    row(
        "  listeners with 2+ quick",
        [str(p.duplicate_quick) for p in phases],
    )
    row(
        "  training time mean (q/f)",
        [
            f"{_mean(p.seconds.get('quick')):.1f} / {_mean(p.seconds.get('full')):.1f} s"
            for p in phases
        ],
    )
    for kind in ("quick", "full"):
        row(
            f"  {kind} fit s: <1k/1-2k/2k+ songs",
            [
                " / ".join(
                    f"{_mean([t for k, n, t in p.jobs if k == kind and lo <= n < hi]):.1f}"
                    for lo, hi in ((0, 1000), (1000, 2000), (2000, 10**9))
                )
                for p in phases
            ],
        )
    spans = []
    for p in phases:
        spans.append(
            (
                [s for c, s, _ in result.warm if p.start <= c < p.answered],
                [s for c, s, _ in result.warm if p.answered <= c < p.drained],
                [s for c, s, _ in result.warm if p.start <= c < p.drained],
                sum(1 for c, _, e in result.warm if p.start <= c < p.drained and e),
            )
        )
    row("warm /recommend asks", [str(len(s[2])) for s in spans])
    row("  p95 / max, first answers", [f"{_s(_p(s[0], 95))} / {_s(_mx(s[0]))}" for s in spans])
    row("  p95 / max, until all full", [f"{_s(_p(s[1], 95))} / {_s(_mx(s[1]))}" for s in spans])
    row("  p95 / max, whole phase", [f"{_s(_p(s[2], 95))} / {_s(_mx(s[2]))}" for s in spans])
    row("  errors", [str(s[3]) for s in spans])
    peaks = [result.memory.get(p.name, MemoryPeak()) for p in phases]
    row("peak RSS, all processes", [_gb(m.total) for m in peaks])
    row(
        "  bot / workers / redis",
        [f"{_gb(m.bot)[:-3]}/{_gb(m.workers)[:-3]}/{_gb(m.redis)}" for m in peaks],
    )
    row("  PSS (shared pages once)", [_gb(m.pss) for m in peaks])
    row("  processes (max)", [str(m.processes) for m in peaks])
    for p in phases:
        if p.gave_up:
            print(f"({p.name}: gave up waiting after {args.max_wait:.0f} s — figures incomplete)")
    setup = result.memory.get("setup", MemoryPeak())
    print(f"(setup — catalog import and warm-up — peaked at {_gb(setup.total)})")
    print()
    every_warm = [s for _, s, _ in result.warm]
    warm_p95 = max((_p(s[2], 95) for s in spans if s[2]), default=float("nan"))
    spread = phases[0]
    spread_p95 = _p(firsts[0], 95)
    listeners = sum(len(p.listeners) for p in phases) + result.warm_count
    stored = sum(x.full_stored for p in phases for x in p.listeners) + result.warm_stored
    answered_all = all(x.first is not None for x in spread.listeners)
    peak = max((m.total for m in peaks), default=0)
    print("targets (2 cores):")
    print(
        f"  warm /recommend p95 <= {WARM_P95} s throughout: worst phase {_s(warm_p95)} "
        f"(all {len(every_warm)} asks: p95 {_s(_p(every_warm, 95))}, max {_s(_mx(every_warm))}) "
        f"-> {_verdict(warm_p95 <= WARM_P95)}"
    )
    print(
        f"  first recommendation p95 <= {FIRST_P95:.0f} s, spread arrivals: {_s(spread_p95)}"
        f"{'' if answered_all else ' (some listeners got no recommendation)'} "
        f"-> {_verdict(spread_p95 <= FIRST_P95 and answered_all)}"
        + (f"; burst (reported): {_s(_p(firsts[1], 95))}" if len(phases) > 1 else "")
    )
    print(
        f"  every listener's full model done: {stored}/{listeners} -> "
        f"{_verdict(stored == listeners)}"
    )
    print(f"  peak RSS <= 4 GB, all processes: {_gb(peak)} -> {_verdict(peak <= PEAK_RSS)}")
    by = Counter(x.answered_by for p in phases for x in p.listeners)
    print(
        f"first answers: {by['first guess']} from the first guess (artists and sound, no "
        f"training; labelled in the footer), {by['quick first model']} from a quick first model "
        f"(trained at once when a worker was free), {by['full model']} from the full model."
    )
    if result.note:
        print(result.note)


def _mean(values: list[float] | None) -> float:
    return float(np.mean(values)) if values else float("nan")


def _mx(values: list[float]) -> float | None:
    return max(values) if values else None


def _load(values: tuple[float, ...]) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "?"


# -- main -----------------------------------------------------------------------------------------
async def run_mode(args: argparse.Namespace, mode: str, cleanup: list[Callable[[], None]]) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"beatmatch-load-{mode}-"))
    services = Services(folder)
    cleanup.append(services.stop)
    cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    sampler = MemorySampler()
    sampler.start()
    bench = Bench(args, mode, sampler)
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if main_task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        result = await bench.run(folder, services)
        if mode == "redis" and (gone := services.check()):
            result.note = "processes that exited during the run: " + ", ".join(gone)
        report(result, args)
    finally:
        sampler.stop()
        await asyncio.to_thread(services.stop)
        shutil.rmtree(folder, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listeners", type=int, default=200, help="fresh listeners per phase")
    parser.add_argument("--window", type=float, default=300.0, help="seconds of spread arrivals")
    parser.add_argument("--warm", type=int, default=20, help="listeners with warm models asking")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="embedded pool size (default: cores - 1); Redis mode runs 2 workers",
    )
    parser.add_argument("--mode", choices=("embedded", "redis", "both"), default="embedded")
    parser.add_argument("--no-burst", dest="burst", action="store_false", help="skip the burst")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-wait", type=float, default=4 * 3600.0, help="give up on a phase after this long"
    )
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between progress")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not SHARED.is_dir():
        print(f"needs {SHARED}", file=sys.stderr)
        return 2
    modes = ["embedded", "redis"] if args.mode == "both" else [args.mode]
    cleanup: list[Callable[[], None]] = []
    status = 0
    try:
        for mode in modes:
            if mode == "redis" and (why := redis_missing()):
                print(f"\nRedis mode: {why}; skipped.")
                status = 1
                continue
            asyncio.run(run_mode(args, mode, cleanup))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted: stopped every process this bench started", file=sys.stderr)
        status = 130
    finally:
        for step in reversed(cleanup):
            with contextlib.suppress(Exception):
                step()
    return status


if __name__ == "__main__":
    sys.exit(main())
