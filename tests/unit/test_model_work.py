"""The model-work queue: bounded, by priority, one waiting job per key, cancellable, stoppable.

A fake runner stands in for the worker processes: each job waits until the test releases it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.core.errors import Restarting, Withdrawn
from bot.core.model_jobs import GenreJob, Job, TrainedFile, TrainingRefused
from bot.core.model_work import ModelWork, Priority


@dataclass
class HeldRunner:
    """Runs jobs only when released; remembers the order they started in."""

    capacity: int = 1
    started: list[str] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    closed: bool = False

    async def run(self, job: Job) -> TrainedFile:
        self.started.append(job.catalog)
        gate = self.gates.setdefault(job.catalog, asyncio.Event())
        await gate.wait()
        if job.catalog in self.refuse:
            raise TrainingRefused("too few tracks")
        return TrainedFile(job.catalog.encode())

    def release(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()

    async def close(self) -> None:
        self.closed = True


def job(name: str) -> GenreJob:
    """A job the fake runner knows by name (the catalog field carries it)."""
    return GenreJob(catalog=name)


async def answer(_job: Job, trained: TrainedFile) -> str:
    return trained.model.decode()


async def until(check: object, timeout: float = 2.0) -> None:
    async def wait() -> None:
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.005)

    await asyncio.wait_for(wait(), timeout)


async def test_at_most_capacity_jobs_run_at_once() -> None:
    runner = HeldRunner(capacity=2)
    work = ModelWork(runner)
    futures = [
        work.submit(f"k{i}", Priority.RETRAIN, lambda i=i: job(f"j{i}"), answer) for i in range(4)
    ]
    await until(lambda: len(runner.started) == 2)
    await asyncio.sleep(0.05)
    assert runner.started == ["j0", "j1"]
    runner.release("j0")
    await until(lambda: len(runner.started) == 3)
    for name in ("j1", "j2", "j3"):
        runner.release(name)
    assert await asyncio.gather(*futures) == ["j0", "j1", "j2", "j3"]


async def test_a_waiting_listener_goes_before_retrains_and_refreshes() -> None:
    runner = HeldRunner()
    work = ModelWork(runner)
    first = work.submit("busy", Priority.RETRAIN, lambda: job("busy"), answer)
    await until(lambda: runner.started == ["busy"])
    work.submit("refresh", Priority.REFRESH, lambda: job("refresh"), answer)
    work.submit("retrain", Priority.RETRAIN, lambda: job("retrain"), answer)
    work.submit("genre", Priority.CATALOG, lambda: job("genre"), answer)
    work.submit("full", Priority.FIRST, lambda: job("full"), answer)
    work.submit("quick", Priority.WAITING, lambda: job("quick"), answer)
    for name in ("busy", "quick", "full", "retrain", "genre", "refresh"):
        runner.release(name)
    await first
    await work.idle()
    assert runner.started == ["busy", "quick", "full", "retrain", "genre", "refresh"]


async def test_a_second_request_joins_the_waiting_job_which_reads_the_newest_data() -> None:
    runner = HeldRunner()
    work = ModelWork(runner)
    work.submit("other", Priority.RETRAIN, lambda: job("other"), answer)
    await until(lambda: runner.started == ["other"])
    early = work.submit("ann", Priority.REFRESH, lambda: job("ann-old"), answer)
    later = work.submit("ann", Priority.WAITING, lambda: job("ann-new"), answer)
    assert later is early  # one waiting job per key
    runner.release("other")
    runner.release("ann-new")
    assert await later == "ann-new"
    assert runner.started == ["other", "ann-new"]  # it ran once, with the newest inputs


async def test_a_request_while_its_key_runs_queues_one_more_run_after_it() -> None:
    runner = HeldRunner(capacity=2)
    work = ModelWork(runner)
    running = work.submit("ann", Priority.RETRAIN, lambda: job("ann-1"), answer)
    await until(lambda: runner.started == ["ann-1"])
    again = work.submit("ann", Priority.RETRAIN, lambda: job("ann-2"), answer)
    assert again is not running
    await asyncio.sleep(0.05)
    assert runner.started == ["ann-1"]  # the same key never runs twice at once
    runner.release("ann-1")
    runner.release("ann-2")
    assert (await running, await again) == ("ann-1", "ann-2")


async def test_nothing_to_do_gives_none_without_a_worker() -> None:
    runner = HeldRunner()
    work = ModelWork(runner)
    assert await work.submit("ann", Priority.FIRST, lambda: None, answer) is None
    assert runner.started == []


async def test_cancel_drops_a_waiting_job_and_abandons_a_running_one() -> None:
    runner = HeldRunner()
    work = ModelWork(runner)
    running = work.submit("ann", Priority.RETRAIN, lambda: job("ann"), answer)
    await until(lambda: runner.started == ["ann"])
    waiting = work.submit("bob", Priority.RETRAIN, lambda: job("bob"), answer)
    work.cancel("bob")
    work.cancel("ann")
    for future in (running, waiting):
        with pytest.raises(Withdrawn):
            await future
    runner.release("bob")
    await asyncio.sleep(0.05)
    assert runner.started == ["ann"]  # bob never started
    assert work.busy() == 0


async def test_a_refusal_reaches_whoever_waits() -> None:
    runner = HeldRunner(refuse={"ann"})
    work = ModelWork(runner)
    future = work.submit("ann", Priority.FIRST, lambda: job("ann"), answer)
    runner.release("ann")
    with pytest.raises(TrainingRefused):
        await future


async def test_stop_tells_everyone_the_bot_restarts_and_closes_the_runner_at_once() -> None:
    runner = HeldRunner()
    work = ModelWork(runner)
    running = work.submit("ann", Priority.RETRAIN, lambda: job("ann"), answer)
    await until(lambda: runner.started == ["ann"])
    waiting = work.submit("bob", Priority.RETRAIN, lambda: job("bob"), answer)
    await asyncio.wait_for(work.stop(), timeout=1.0)  # the running fit is never waited for
    assert runner.closed
    for future in (running, waiting):
        with pytest.raises(Restarting):
            await future
    late = work.submit("cid", Priority.FIRST, lambda: job("cid"), answer)
    with pytest.raises(Restarting):
        await late
