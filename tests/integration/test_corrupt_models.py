"""A damaged model file on disk (truncated, garbage, empty, a member missing, a planted pickle) is
no model at all: the listener still gets an answer, the file is set aside with a warning that
names it, and a new model is trained and stored through the training queue."""

from __future__ import annotations

import io
import logging
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot.app import Beatmatch
from bot.core.catalog import CatalogState
from bot.core.dispatch import handle_text
from bot.core.replies import ChatUser, Reply
from recommender.demo_catalog import demo_catalog
from recommender.genre.classifier import GENRE_FILE
from recommender.model_file import SET_ASIDE_SUFFIX, write_model
from recommender.taste import TasteModel
from tests.conftest import catalog_exportify_rows, tiny_exportify_rows, write_exportify
from tests.rig import make_app, settle

ANN = ChatUser("telegram", "1001", "Ann")
APOLOGY = "something went wrong on my side"


class Planted:
    """A pickle that, if it were ever unpickled, would leave a file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, str]]:
        return (os.rename, (str(self.marker.with_suffix(".src")), str(self.marker)))


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def member_missing(path: Path) -> None:
    """A valid zip (and .npz) that lacks one of the model's arrays."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    dropped = next(name for name in members if name.startswith("profile_weight_values"))
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name != dropped:
                archive.writestr(name, data)


def planted_pickle(path: Path) -> None:
    """A pickle where the model should be: np.load must never unpickle it."""
    marker = path.with_name("unpickled")
    marker.with_suffix(".src").write_bytes(b"")
    path.write_bytes(pickle.dumps(Planted(marker)))


DAMAGES = [truncated, garbage, emptied, member_missing, planted_pickle]


@pytest.fixture(scope="module")
def catalog() -> CatalogState:
    tracks, genres = demo_catalog(size=600)
    return CatalogState(tracks=tracks, genres=genres, is_demo=True)


@pytest.fixture
def library_csv(tmp_path: Path, catalog: CatalogState) -> Path:
    """24 acoustic tracks of the catalog and 12 acoustic-sounding tracks it lacks."""
    acoustic = catalog.genres.loc[catalog.genres["genre"] == "acoustic", "track_id"].tolist()
    rows = catalog_exportify_rows(catalog.tracks, acoustic[:24])
    outside = tiny_exportify_rows("acoustic", 12).to_numpy().tolist()
    return write_exportify(tmp_path / "liked.csv", rows + outside)


def _app(tmp_path: Path, catalog: CatalogState) -> Beatmatch:
    return make_app(tmp_path, catalog, simulated_heart=False, genre_dir=tmp_path / "genre")


async def _trained_listener(tmp_path: Path, catalog: CatalogState, library: Path) -> float:
    """Ann imports her library and her model is trained and stored; the app then stops. Her
    model's trained_at."""
    app = _app(tmp_path, catalog)
    try:
        await app.service.taste.import_library(ANN, data=library.read_bytes(), filename="x.csv")
        await settle(app)
        uid = await app.service.users.uid(ANN)
        record = app.storage.taste.model_record(uid, "taste")
        assert record is not None
        return float(record["trained_at"])
    finally:
        await app.shutdown()


def _answered(reply: Reply, count: int) -> None:
    assert APOLOGY not in reply.plain_text(), reply.plain_text()
    assert not reply.error, reply.plain_text()
    assert len(reply.tracks) == count


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__ for d in DAMAGES])
async def test_a_damaged_taste_model_still_answers_and_is_trained_again(
    tmp_path: Path,
    catalog: CatalogState,
    library_csv: Path,
    damage: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    trained_at = await _trained_listener(tmp_path, catalog, library_csv)
    model_file = tmp_path / "data" / "models" / "taste-user1.npz"
    assert model_file.is_file()
    damage(model_file)

    app = _app(tmp_path, catalog)  # a restart: the model must come from the damaged file
    try:
        with caplog.at_level(logging.WARNING):
            reply = await handle_text(app.service, ANN, "/recommend 3")
        _answered(reply, 3)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(str(model_file) in w for w in warnings), warnings
        await settle(app)  # the new model is trained through the queue and stored
        uid = await app.service.users.uid(ANN)
        record = app.storage.taste.model_record(uid, "taste")
        assert record is not None and float(record["trained_at"]) > trained_at
        assert TasteModel.load(Path(record["path"])).trained_on > 0
        assert model_file.with_name(model_file.name + SET_ASIDE_SUFFIX).is_file()
        assert not (model_file.parent / "unpickled").exists()  # no pickle was ever run
        _answered(await handle_text(app.service, ANN, "/recommend 3"), 3)
    finally:
        await settle(app)
        await app.shutdown()


@pytest.mark.parametrize("damage", [garbage, emptied], ids=["garbage", "emptied"])
async def test_damaged_catalog_scores_are_computed_again(
    tmp_path: Path,
    catalog: CatalogState,
    library_csv: Path,
    damage: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    trained_at = await _trained_listener(tmp_path, catalog, library_csv)
    scores_file = tmp_path / "data" / "models" / "taste-user1.scores.npy"
    good = np.load(scores_file, allow_pickle=False)
    damage(scores_file)

    app = _app(tmp_path, catalog)
    try:
        with caplog.at_level(logging.WARNING):
            reply = await handle_text(app.service, ANN, "/recommend 3")
        _answered(reply, 3)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(str(scores_file) in w for w in warnings), warnings
        uid = await app.service.users.uid(ANN)
        assert app.storage.taste.model_record(uid, "taste")["trained_at"] == trained_at
        again = np.load(scores_file, allow_pickle=False)  # stored anew, as the model scores
        assert again == pytest.approx(good)
    finally:
        await settle(app)
        await app.shutdown()


def _genre_model_without_its_forest(path: Path) -> None:
    """A genre-model file of the right format whose arrays are missing."""
    write_model(path, GENRE_FILE, {"classes": ["acoustic"]}, {"x": np.zeros(1)})


@pytest.mark.parametrize(
    "damage",
    [garbage, emptied, _genre_model_without_its_forest],
    ids=["garbage", "emptied", "member_missing"],
)
async def test_a_damaged_genre_model_is_set_aside_and_trained_again(
    tmp_path: Path,
    catalog: CatalogState,
    damage: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app(tmp_path, catalog)
    genres = app.service.lookup.genres
    genres.path.parent.mkdir(parents=True)
    damage(genres.path)
    try:
        with caplog.at_level(logging.WARNING):
            await genres.prepare()  # loads the stored file; damaged: queues the training
        assert genres.ready
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(str(genres.path) in w for w in warnings), warnings
        assert genres.path.with_name(genres.path.name + SET_ASIDE_SUFFIX).is_file()
        track = str(catalog.tracks.index[0])
        reply = await handle_text(app.service, ANN, f"/genre {track}")
        assert not reply.error and APOLOGY not in reply.plain_text(), reply.plain_text()
        assert "Classifier's top 3:" in reply.text
        stored = genres.path.read_bytes()
        assert zipfile.is_zipfile(io.BytesIO(stored))  # a good model file replaced it
    finally:
        await settle(app)
        await app.shutdown()
