"""Model work on real ``beatmatch worker`` processes through a real Redis (RQ).

A module's ``redis-server`` runs on a free loopback port with no persistence; two workers (the
venv's python, ``-m bot worker``) take the jobs of the shared queue, and tests that kill or stop
a worker start their own on a queue of their own. Catalogs are tiny and fits small, so the
process starts dominate; every wait is bounded generously (a busy 2-core machine), none is timed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from redis import Redis
from rq import Callback, Queue
from rq.job import Job as RQJob
from rq.results import Result
from rq.serializers import JSONSerializer

from bot.core.catalog import CatalogState, demo_state
from bot.core.model_jobs import GenreJob, WorkerLost
from bot.core.replies import ChatUser
from bot.training.execute import WorkerCatalog, execute
from bot.training.redis_queue import TRAIN, alive_key, catalog_key
from bot.training.redis_runner import RedisRunner
from recommender.genre import GenreClassifier
from recommender.taste import TasteModel
from storage.catalog_csv import read_catalog
from tests.conftest import (
    catalog_exportify_rows,
    tiny_catalog_rows,
    tiny_exportify_rows,
    write_catalog,
    write_exportify,
)
from tests.integration.test_training_pool import SLOW, taste_job
from tests.redis_server import START_SECONDS, RedisServer, WorkerProcess, Workers, redis_server
from tests.rig import make_app, settle

SHARED = "shared"  # the queue of the module's two workers
PLANT = "TEST_PLANTED_FILE"  # where a foreign job would write (never BEATMATCH_*: config)
CON = ChatUser("console", "local", "you")
#: How long a job may take to end once its worker is lost (ALIVE_TTL is 10 s): generous.
LOST_SECONDS = 90.0


def plant(*args: object) -> None:
    """What a foreign job would do if a worker ran it: leave a file behind."""
    Path(os.environ[PLANT]).write_text("ran")


class Planter:
    """A pickle that calls ``plant`` as it is loaded."""

    def __reduce__(self) -> tuple[Callable[..., None], tuple[()]]:
        return plant, ()


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file a foreign job would write."""
    return tmp_path_factory.mktemp("plant") / "planted"


@pytest.fixture(scope="module")
def workers(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory, planted: Path
) -> Iterator[Workers]:
    started = Workers(redis.url, tmp_path_factory.mktemp("workers"), env={PLANT: str(planted)})
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture(scope="module")
def pair(workers: Workers, redis: RedisServer) -> list[WorkerProcess]:
    """Two workers on the shared queue, alive."""
    return _alive(redis, workers.start(SHARED, 2))


@pytest.fixture
def connection(redis: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def catalog() -> CatalogState:
    return demo_state(300)


def _held(catalog: CatalogState) -> WorkerCatalog:
    return WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres)


def _runner(
    redis: RedisServer, catalog: CatalogState, queue: str = SHARED, capacity: int = 2
) -> RedisRunner:
    return RedisRunner(redis.url, queue, _held(catalog), capacity)


def _alive(redis: RedisServer, started: list[WorkerProcess]) -> list[WorkerProcess]:
    """Wait until each worker says it is alive in Redis (it has loaded the model libraries)."""
    client = Redis.from_url(redis.url)
    try:
        deadline = time.monotonic() + START_SECONDS
        for worker in started:
            while not client.exists(alive_key(worker.queue, worker.name)):
                if worker.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"worker {worker.name} did not start:\n{worker.log}")
                time.sleep(0.1)
    finally:
        client.close()
    return started


async def _until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll ``check`` until it gives something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        await asyncio.sleep(0.1)
    return value


def _status(connection: Redis, job_id: str) -> str:
    status = connection.hget(RQJob.key_for(job_id), "status")
    return status.decode() if isinstance(status, bytes) else ""


async def _fitting(worker: WorkerProcess, runner: RedisRunner, connection: Redis) -> int:
    """The work-horse of ``worker`` once it fits the runner's one job in flight."""

    def started() -> bool:
        jobs = list(runner.jobs())
        return len(jobs) == 1 and _status(connection, jobs[0]) == "started"

    await _until(started, 120, "the job started")
    [horse] = await _until(worker.horses, 30, "its work-horse")
    return int(horse)


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except FileNotFoundError:
        return False


# -- (a) the same models as in-process -----------------------------------------------------------
async def test_taste_and_genre_jobs_come_back_as_execute_gives_them(
    redis: RedisServer, pair: list[WorkerProcess], tmp_path: Path
) -> None:
    tracks, genres = read_catalog(write_catalog(tmp_path / "tiny.csv", tiny_catalog_rows()))
    genres["genre"] = genres["genre"].astype("category")  # as the database gives it
    tiny = CatalogState(tracks, genres, is_demo=False)
    runner = _runner(redis, tiny)
    job = taste_job(tiny)
    try:
        taste, genre = await asyncio.wait_for(
            asyncio.gather(runner.run(job), runner.run(GenreJob(tiny.fingerprint, 1))), 300
        )
    finally:
        await runner.close()

    here = execute(job, _held(tiny))
    assert taste.scores is not None and here.scores is not None
    assert taste.scores.dtype == np.float32
    np.testing.assert_allclose(taste.scores, here.scores, rtol=1e-6)
    (tmp_path / "taste.npz").write_bytes(taste.model)
    model = TasteModel.load(tmp_path / "taste.npz")
    np.testing.assert_allclose(model.score(tiny.tracks), here.scores, rtol=1e-5)
    assert taste.info == here.info

    (tmp_path / "remote.model").write_bytes(genre.model)
    (tmp_path / "local.model").write_bytes(
        execute(GenreJob(tiny.fingerprint, 1), _held(tiny)).model
    )
    remote = GenreClassifier.load(tmp_path / "remote.model")
    local = GenreClassifier.load(tmp_path / "local.model")
    np.testing.assert_allclose(remote.predict_proba(tracks), local.predict_proba(tracks))
    logs = "".join(w.log for w in pair)
    assert f"genre classifier of catalog {tiny.fingerprint}: trained" in logs  # done there


# -- (b) the app, on the workers -----------------------------------------------------------------
async def test_an_app_on_redis_workers_imports_a_library_and_recommends(
    redis: RedisServer, pair: list[WorkerProcess], catalog: CatalogState, tmp_path: Path
) -> None:
    acoustic = catalog.genres.loc[catalog.genres["genre"] == "acoustic", "track_id"].tolist()
    rows = catalog_exportify_rows(catalog.tracks, acoustic[:20])
    library = write_exportify(
        tmp_path / "liked.csv", rows + tiny_exportify_rows("acoustic", 12).to_numpy().tolist()
    )
    app = make_app(tmp_path, catalog, runner=_runner(redis, catalog), simulated_heart=False)
    try:
        reply = await app.service.taste.import_library(CON, str(library))
        assert "Imported" in reply.text
        await asyncio.wait_for(settle(app), 300)
        uid = await app.service.users.uid(CON)
        assert app.training.models.has_stored(uid)  # the full model, trained by a worker

        recommended = await app.service.taste.recommend(CON, 5)
        ids = [card.track_id for card in recommended.tracks]
        assert len(ids) == 5 and not set(ids) & set(acoustic[:20])
    finally:
        await settle(app)
        await app.shutdown()
    logs = "".join(w.log for w in pair)
    assert f"taste model of user {uid}: trained" in logs


# -- (c) two workers, two jobs at once -----------------------------------------------------------
async def test_two_jobs_run_on_the_two_workers_at_once(
    redis: RedisServer, pair: list[WorkerProcess], catalog: CatalogState, connection: Redis
) -> None:
    runner = _runner(redis, catalog, capacity=2)
    runs = [
        asyncio.ensure_future(runner.run(taste_job(catalog, user, settings=SLOW)))
        for user in (31, 32, 33)
    ]
    try:

        def started() -> list[str]:
            return [j for j in runner.jobs() if _status(connection, j) == "started"]

        both = await _until(lambda: len(started()) == 2 and started(), 120, "two jobs started")
        assert len(runner.jobs()) == 2  # capacity 2: the third waits in the bot, not in Redis
        names = {connection.hget(RQJob.key_for(j), "worker_name") for j in both}
        assert names == {w.name.encode() for w in pair}
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await runner.close()
    # Cancelled while started: RQ stops them (kills their work-horses), freeing both workers.
    await _until(
        lambda: sum(w.log.count("stopped by user") for w in pair) == 2, 60, "both fits stopped"
    )
    assert all(not w.horses() for w in pair)


async def test_closing_the_runner_stops_a_fit_in_progress_at_once(
    redis: RedisServer, pair: list[WorkerProcess], catalog: CatalogState, connection: Redis
) -> None:
    stops = sum(w.log.count("stopped by user") for w in pair)
    runner = _runner(redis, catalog, capacity=1)
    fit = asyncio.ensure_future(runner.run(taste_job(catalog, 41, settings=SLOW)))
    [job_id] = await _until(runner.jobs, 60, "the job in flight")
    await _until(lambda: _status(connection, job_id) == "started", 120, "the fit started")
    started = time.monotonic()
    await runner.close()
    assert time.monotonic() - started < 5.0  # the port asks for about a second
    with pytest.raises(WorkerLost):
        await asyncio.wait_for(fit, 30)
    await _until(
        lambda: sum(w.log.count("stopped by user") for w in pair) == stops + 1, 60, "fit stopped"
    )
    with pytest.raises(WorkerLost, match="closed"):
        await runner.run(taste_job(catalog, 42))


# -- (d) a worker killed mid-fit -----------------------------------------------------------------
async def test_a_job_whose_worker_is_killed_ends_as_worker_lost(
    redis: RedisServer, workers: Workers, catalog: CatalogState, connection: Redis
) -> None:
    [worker] = _alive(redis, workers.start("lost"))
    runner = _runner(redis, catalog, "lost", capacity=1)
    try:
        # Its work-horse killed (out of memory, say): the worker reports the job lost, goes on.
        fit = asyncio.ensure_future(runner.run(taste_job(catalog, settings=SLOW)))
        horse = await _fitting(worker, runner, connection)
        os.kill(horse, signal.SIGKILL)
        with pytest.raises(WorkerLost):
            await asyncio.wait_for(fit, LOST_SECONDS)
        assert len((await asyncio.wait_for(runner.run(taste_job(catalog)), 120)).model) > 0

        # The worker itself killed: its horse ends with it, the bot knows within ALIVE_TTL.
        fit = asyncio.ensure_future(runner.run(taste_job(catalog, settings=SLOW)))
        horse = await _fitting(worker, runner, connection)
        worker.process.kill()
        worker.process.wait(timeout=10)
        with pytest.raises(WorkerLost, match="stopped answering"):
            await asyncio.wait_for(fit, LOST_SECONDS)
        await _until(lambda: not _pid_alive(horse), 30, "the orphaned work-horse ended")
    finally:
        await runner.close()


async def test_sigterm_ends_a_worker_at_once_and_its_job_is_lost(
    redis: RedisServer, workers: Workers, catalog: CatalogState, connection: Redis
) -> None:
    [busy] = _alive(redis, workers.start("sigterm"))
    runner = _runner(redis, catalog, "sigterm", capacity=1)
    try:
        fit = asyncio.ensure_future(runner.run(taste_job(catalog, settings=SLOW)))
        horse = await _fitting(busy, runner, connection)
        busy.process.send_signal(signal.SIGTERM)
        with pytest.raises(WorkerLost):
            await asyncio.wait_for(fit, LOST_SECONDS)
        assert busy.process.wait(timeout=60) == 0
        assert not _pid_alive(horse)
    finally:
        await runner.close()

    [idle] = _alive(redis, workers.start("sigterm"))
    idle.process.send_signal(signal.SIGTERM)
    assert idle.process.wait(timeout=60) == 0
    assert "stopped" in idle.log


# -- (e) cancelling a queued job -----------------------------------------------------------------
async def test_a_cancelled_queued_job_never_runs(
    redis: RedisServer, workers: Workers, catalog: CatalogState, connection: Redis
) -> None:
    runner = _runner(redis, catalog, "nobody-listens", capacity=1)
    try:
        waiting = asyncio.ensure_future(runner.run(taste_job(catalog, 51)))
        [job_id] = await _until(runner.jobs, 60, "the job in flight")
        await _until(lambda: _status(connection, job_id) == "queued", 60, "the job queued")
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await _until(lambda: not connection.exists(RQJob.key_for(job_id)), 30, "job deleted")
    finally:
        await runner.close()
    assert Queue("nobody-listens", connection=connection).count == 0

    [late] = workers.start("nobody-listens", 1, "--burst")  # a worker that comes later
    assert late.process.wait(timeout=START_SECONDS) == 0
    assert "taste model of user 51" not in late.log and job_id not in late.log


# -- (f) the catalog travels once ----------------------------------------------------------------
async def test_the_catalog_is_stored_once_and_fetched_once_per_worker(
    redis: RedisServer, pair: list[WorkerProcess], connection: Redis
) -> None:
    own = demo_state(320)  # a catalog version of this test's own
    runner = _runner(redis, own, capacity=2)
    users = [61, 62, 63, 64]
    try:
        for first in (0, 2):
            await asyncio.wait_for(
                asyncio.gather(*(runner.run(taste_job(own, u)) for u in users[first : first + 2])),
                300,
            )
    finally:
        await runner.close()
    assert runner.catalog_uploads == 1
    assert connection.exists(catalog_key(SHARED, own.fingerprint))

    fetched = {}
    for worker in pair:
        log = worker.log
        ran = [u for u in users if f"taste model of user {u}: training" in log]
        fetched[worker.name] = log.count(f"catalog {own.fingerprint} fetched")
        assert fetched[worker.name] == (1 if ran else 0), log
    assert sum(fetched.values()) >= 1

    another_bot = _runner(redis, own)  # the same catalog: nothing sent again
    try:
        await asyncio.wait_for(another_bot.run(taste_job(own, 65)), 120)
    finally:
        await another_bot.close()
    assert another_bot.catalog_uploads == 0
    assert all(w.log.count(f"catalog {own.fingerprint} fetched") <= 1 for w in pair)


# -- (g) nothing but beatmatch's JSON runs -------------------------------------------------------
async def test_a_job_that_is_not_beatmatchs_is_refused_without_running(
    redis: RedisServer,
    pair: list[WorkerProcess],
    catalog: CatalogState,
    connection: Redis,
    planted: Path,
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("still here")
    pickled = Queue(SHARED, connection=connection)  # RQ's default serializer: pickle
    as_json = Queue(SHARED, connection=connection, serializer=JSONSerializer)
    plant_name = f"{__name__}.plant"
    refused = {
        "a pickle": pickled.enqueue(plant, Planter()).id,
        "another function": as_json.enqueue("os.remove", str(victim)).id,
        "a test's function": as_json.enqueue(plant_name).id,
        "junk tables": as_json.enqueue(
            TRAIN,
            {"beatmatch": 1, "kind": "taste", "catalog": catalog.fingerprint, "tables": "%%"},
            on_failure=Callback(plant_name),
        ).id,
        "an unknown field": as_json.enqueue(
            TRAIN,
            {"beatmatch": 1, "kind": "genre", "catalog": catalog.fingerprint, "n_jobs": 1, "x": 1},
            on_failure=Callback(plant_name),
        ).id,
    }
    for what, job_id in refused.items():
        await _until(lambda j=job_id: _status(connection, j) == "failed", 120, f"{what} refused")
        job = RQJob.fetch(job_id, connection=connection, serializer=JSONSerializer)
        failure = Result.fetch_latest(job, serializer=JSONSerializer)
        assert failure is not None and failure.type == Result.Type.FAILED
        assert any(
            mark in (failure.exc_string or "")
            for mark in ("DeserializationError", "RefusedJob", "CodecError")
        ), (what, failure.exc_string)
    # A job hash that isn't even RQ's: dropped with a warning; the worker does not end.
    connection.hset(RQJob.key_for("not-rq"), mapping={"data": "x", "status": "nonsense"})
    connection.rpush(as_json.key, "not-rq")
    await _until(lambda: any("job not-rq refused" in w.log for w in pair), 120, "the hash refused")
    assert all(w.process.poll() is None for w in pair)
    assert not planted.exists()
    assert victim.read_text() == "still here"

    runner = _runner(redis, catalog)  # the workers go on with beatmatch's jobs
    try:
        assert len((await asyncio.wait_for(runner.run(taste_job(catalog, 71)), 120)).model) > 0
    finally:
        await runner.close()
