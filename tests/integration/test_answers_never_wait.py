"""No command waits for a model to be trained when there is an answer without it.

The job runner here holds every job until the test lets it go, so a command that waited for a
training would never return: each test's reply (under a timeout) shows it didn't.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from bot.app import Beatmatch
from bot.core.catalog import CatalogState
from bot.core.model_jobs import GenreJob, Job, TrainedFile
from bot.core.replies import ChatUser
from bot.training.execute import WorkerCatalog, execute
from recommender.demo_catalog import demo_catalog
from tests.conftest import catalog_exportify_rows, tiny_exportify_rows, write_exportify
from tests.rig import make_app, settle

ANN = ChatUser("console", "ann", "Ann")
QUICK = 5.0  # seconds: far more than an answer needs, far less than a held job


class HeldRunner:
    """Runs jobs for real in a thread, but only once the test releases them."""

    capacity = 1

    def __init__(self, catalog: CatalogState) -> None:
        self.catalog = WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres)
        self.go = asyncio.Event()
        self.started: list[Job] = []

    async def run(self, job: Job) -> TrainedFile:
        self.started.append(job)
        await self.go.wait()
        return await asyncio.to_thread(execute, job, self.catalog)

    async def close(self) -> None:
        self.go.set()


@pytest.fixture(scope="module")
def catalog() -> CatalogState:
    tracks, genres = demo_catalog(size=600)
    return CatalogState(tracks=tracks, genres=genres, is_demo=True)


@pytest.fixture
def runner(catalog: CatalogState) -> HeldRunner:
    return HeldRunner(catalog)


@pytest.fixture
async def app(
    tmp_path: Path, catalog: CatalogState, runner: HeldRunner
) -> AsyncIterator[Beatmatch]:
    built = make_app(tmp_path, catalog, runner=runner, simulated_heart=False)
    built.start()  # the genre classifier: queued for training (held)
    yield built
    runner.go.set()
    await settle(built)
    await built.shutdown()


@pytest.fixture
def library_csv(tmp_path: Path, catalog: CatalogState) -> Path:
    """24 acoustic tracks of the catalog and 12 acoustic-sounding tracks it lacks."""
    acoustic = catalog.genres.loc[catalog.genres["genre"] == "acoustic", "track_id"].tolist()
    rows = catalog_exportify_rows(catalog.tracks, acoustic[:24])
    outside = tiny_exportify_rows("acoustic", 12).to_numpy().tolist()
    return write_exportify(tmp_path / "liked.csv", rows + outside)


async def test_genre_of_a_catalog_track_answers_from_its_label_while_the_classifier_trains(
    app: Beatmatch, runner: HeldRunner, catalog: CatalogState
) -> None:
    seed = str(catalog.genres.loc[catalog.genres["genre"] == "classical", "track_id"].iloc[0])
    reply = await asyncio.wait_for(app.service.lookup.genre(ANN, seed), QUICK)
    assert "Catalog genre: classical" in reply.text
    assert "Classifier's top 3" not in reply.text
    assert "still being trained" in reply.text and "top 3 shows here then" in reply.text
    assert [type(job) for job in runner.started] == [GenreJob]  # queued, not done in the command
    runner.go.set()
    await app.service.lookup.genres.prepare()
    again = await app.service.lookup.genre(ANN, seed)
    assert "Catalog genre: classical" in again.text and "Classifier's top 3" in again.text


async def test_genre_of_an_unlabelled_track_says_to_ask_again(
    app: Beatmatch, runner: HeldRunner, library_csv: Path
) -> None:
    await app.service.taste.import_library(ANN, str(library_csv))
    outside = pd.read_csv(library_csv, encoding="utf-8-sig", dtype=str)["Track URI"].iloc[-1]
    reply = await asyncio.wait_for(app.service.lookup.genre(ANN, outside), QUICK)
    assert not reply.error
    assert "isn't labelled in the catalog" in reply.text and "ask again then" in reply.text


async def test_similar_and_stats_never_wait_for_the_classifier(
    app: Beatmatch, runner: HeldRunner, library_csv: Path, catalog: CatalogState
) -> None:
    await app.service.taste.import_library(ANN, str(library_csv))
    similar = await asyncio.wait_for(
        app.service.lookup.similar(ANN, str(catalog.tracks.index[0]), 3), QUICK
    )
    assert len(similar.tracks) == 3
    stats = await asyncio.wait_for(app.service.insight.stats(ANN), QUICK)
    assert "12 tracks have no catalog genre and the genre classifier isn't ready yet" in stats.text
    assert "Top genres: acoustic" in stats.text  # the 24 labelled ones count already


async def test_a_stored_model_answers_while_its_successor_waits_in_the_queue(
    tmp_path: Path, catalog: CatalogState, library_csv: Path
) -> None:
    """After a restart, a like asks for a retraining; /recommend answers from the model on disk
    meanwhile instead of waiting for the queue."""
    first = make_app(tmp_path, catalog)
    await first.service.taste.import_library(ANN, str(library_csv))
    await settle(first)
    await first.shutdown()

    runner = HeldRunner(catalog)
    second = make_app(tmp_path, catalog, runner=runner)
    try:
        await second.service.taste.feedback(ANN, str(catalog.tracks.index[5]), 1)
        reply = await asyncio.wait_for(second.service.taste.recommend(ANN, 3), QUICK)
        assert len(reply.tracks) == 3
        assert "your latest changes are still being learned" in reply.footer
        assert runner.started and not runner.go.is_set()  # the retraining is still held
    finally:
        runner.go.set()
        await settle(second)
        await second.shutdown()


async def test_a_new_listener_in_a_busy_queue_gets_a_labelled_first_guess_at_once(
    app: Beatmatch, runner: HeldRunner, library_csv: Path, catalog: CatalogState
) -> None:
    """The genre classifier holds the only worker: the listener's first /recommend is not queued
    behind it but answered by the first guess (their artists, then their sound), and says so; no
    quick model is asked for, and the full model replaces the guess once it is trained."""
    await app.service.taste.import_library(ANN, str(library_csv))
    reply = await asyncio.wait_for(app.service.taste.recommend(ANN, 5), QUICK)
    assert len(reply.tracks) == 5
    assert "a first guess from the artists and sound of your 36 tracks" in reply.footer
    acoustic = set(catalog.genres.loc[catalog.genres["genre"] == "acoustic", "track_id"])
    assert sum(card.track_id in acoustic for card in reply.tracks) >= 3  # their artists' genre
    uid = await app.service.users.uid(ANN)
    assert not any(getattr(job, "quick", False) for job in runner.started)
    assert app.service.taste.models.cached(uid) is None  # a guess is never kept as a model
    runner.go.set()
    await app.training.idle(uid)
    after = await app.service.taste.recommend(ANN, 5)
    assert "first guess" not in after.footer and "taste model: 36 tracks" in after.footer
