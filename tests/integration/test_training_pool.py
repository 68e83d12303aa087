"""The embedded job runner: real worker processes train models for the bot, which never does.

Each test starts real spawn processes; jobs are tiny (a demo catalog, small forests) so that the
process start dominates.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.core.catalog import CatalogState, demo_state
from bot.core.model_jobs import GenreJob, TasteJob, TrainingRefused, WorkerLost
from bot.training.execute import WorkerCatalog, execute
from bot.training.pool import ProcessPool
from recommender.ensemble import EnsembleSettings
from recommender.genre import GenreClassifier
from recommender.taste import TasteModel
from tests.conftest import ROOT
from tests.rig import FAST

SLOW = replace(FAST, ensemble=EnsembleSettings(rf_trees=4000, xgb_rounds=4000, n_jobs=1))


@pytest.fixture(scope="module")
def catalog() -> CatalogState:
    return demo_state(400)


@pytest.fixture
def held(catalog: CatalogState) -> WorkerCatalog:
    return WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres)


def taste_job(catalog: CatalogState, user: int = 1, settings: object = FAST) -> TasteJob:
    """A listener who likes the catalog's acoustic tracks."""
    genres = catalog.genres
    liked = genres.loc[genres["genre"] == "acoustic", "track_id"].astype(str).unique()[:40]
    library = pd.DataFrame(
        {
            "track_id": liked,
            "source": "exportify",
            "rank": np.arange(1, len(liked) + 1, dtype=float),
            "added_at": [f"2025-01-{1 + i % 28:02d}T10:00:00Z" for i in range(len(liked))],
        }
    )
    return TasteJob(
        user_id=user,
        fingerprint=f"{catalog.fingerprint}:1",
        catalog=catalog.fingerprint,
        quick=False,
        library=library,
        tracks=catalog.tracks.loc[liked],
        feedback={},
        top_artists=pd.DataFrame(columns=["artist", "time_range", "rank"]),
        settings=settings,  # type: ignore[arg-type]
    )


async def test_a_worker_process_trains_what_the_bot_would_have(
    catalog: CatalogState, held: WorkerCatalog, tmp_path: Path
) -> None:
    pool = ProcessPool(held, processes=1)
    try:
        job = taste_job(catalog)
        trained = await pool.run(job)
        [worker] = pool.pids()
        assert worker != os.getpid()  # fitted elsewhere
        here = execute(job, held)
        assert trained.scores is not None and here.scores is not None
        np.testing.assert_allclose(trained.scores, here.scores)
        (tmp_path / "m.npz").write_bytes(trained.model)
        model = TasteModel.load(tmp_path / "m.npz")
        np.testing.assert_allclose(model.score(catalog.tracks), trained.scores, rtol=1e-6)

        genre = await pool.run(GenreJob(catalog.fingerprint, n_jobs=1))
        (tmp_path / "g.model").write_bytes(genre.model)
        probe = catalog.tracks.head(20)
        expected = GenreClassifier.load(
            _saved(execute(GenreJob(catalog.fingerprint, 1), held), tmp_path)
        )
        np.testing.assert_allclose(
            GenreClassifier.load(tmp_path / "g.model").predict_proba(probe),
            expected.predict_proba(probe),
        )
        assert pool.pids() == [worker]  # one process, several jobs
    finally:
        await pool.close()


def _saved(trained: object, folder: Path) -> Path:
    path = folder / "expected.model"
    path.write_bytes(trained.model)  # type: ignore[attr-defined]
    return path


async def test_a_library_without_features_is_refused_not_crashed(
    catalog: CatalogState, held: WorkerCatalog
) -> None:
    pool = ProcessPool(held, processes=1)
    try:
        job = taste_job(catalog)
        blank = job.tracks.copy()
        blank[["danceability", "energy", "tempo", "valence", "loudness"]] = np.nan
        blank[["speechiness", "acousticness", "instrumentalness", "liveness", "key"]] = np.nan
        with pytest.raises(TrainingRefused):
            await pool.run(replace(job, tracks=blank))
        assert len((await pool.run(job)).model) > 0  # the same worker goes on
    finally:
        await pool.close()


async def test_a_worker_killed_mid_fit_is_reported_and_replaced(
    catalog: CatalogState, held: WorkerCatalog
) -> None:
    pool = ProcessPool(held, processes=1)
    try:
        long = asyncio.ensure_future(pool.run(taste_job(catalog, settings=SLOW)))
        worker = await _a_worker(pool)
        await asyncio.sleep(0.5)
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(WorkerLost):
            await asyncio.wait_for(long, timeout=30)
        assert len((await pool.run(taste_job(catalog))).model) > 0
        assert pool.pids() and pool.pids() != [worker]
    finally:
        await pool.close()


async def test_closing_ends_a_worker_mid_fit_at_once(
    catalog: CatalogState, held: WorkerCatalog
) -> None:
    pool = ProcessPool(held, processes=1)
    long = asyncio.ensure_future(pool.run(taste_job(catalog, settings=SLOW)))
    worker = await _a_worker(pool)
    started = time.monotonic()
    await pool.close()
    assert time.monotonic() - started < 5.0
    assert not _alive(worker)
    with pytest.raises(WorkerLost):
        await long


async def test_trainings_in_progress_leave_the_default_threads_to_chat_commands(
    catalog: CatalogState, held: WorkerCatalog
) -> None:
    """Waiting on a worker takes none of the threads chat commands read the database in: with
    as many workers as default threads, all training, a command's read still runs at once."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(2))
    pool = ProcessPool(held, processes=2)
    long = [asyncio.ensure_future(pool.run(taste_job(catalog, u, SLOW))) for u in (1, 2)]
    try:
        while len(pool.pids()) < 2:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # both jobs sent; both pipes waited on
        assert not any(job.done() for job in long)
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "read"), timeout=2) == "read"
    finally:
        await pool.close()
        await asyncio.gather(*long, return_exceptions=True)


def test_a_worker_ends_when_the_bot_is_killed(tmp_path: Path) -> None:
    """kill -9 of the bot leaves no worker behind (it notices its parent is gone)."""
    script = tmp_path / "killed_bot.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from dataclasses import replace
            from bot.core.catalog import demo_state
            from bot.training.execute import WorkerCatalog
            from bot.training.pool import ProcessPool
            from tests.integration.test_training_pool import SLOW, taste_job

            async def main():
                catalog = demo_state(300)
                pool = ProcessPool(WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres), 1)
                task = asyncio.ensure_future(pool.run(taste_job(catalog, settings=SLOW)))
                while not pool.pids():
                    await asyncio.sleep(0.05)
                print(pool.pids()[0], flush=True)
                await task

            if __name__ == "__main__":
                asyncio.run(main())
            """
        )
    )
    bot = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert bot.stdout is not None
        worker = int(bot.stdout.readline())
        assert _alive(worker)
        bot.kill()
        bot.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        if bot.poll() is None:
            bot.kill()


async def _a_worker(pool: ProcessPool) -> int:
    for _ in range(600):
        if pool.pids():
            return pool.pids()[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no worker process started")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except FileNotFoundError:
        return False
