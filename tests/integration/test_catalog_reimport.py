"""A catalog re-import is atomic: a failure or crash midway leaves the previous catalog complete and
served, an interrupted one is reported and cleaned up, and tracks nothing refers to any more go
(issue 12, item 1)."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from recommender.tracks import normalise_tracks
from storage.catalog_import import SOURCE_KEY, import_catalog
from storage.catalog_staging import (
    STAGED_GENRES,
    STAGED_TRACKS,
    TRACK_MENTIONS,
    TRACK_REFERENCES,
    CatalogStaging,
)
from storage.database import Storage
from storage.errors import ImportFormatError
from tests.conftest import CatalogFile, tiny_catalog_rows, track_id_for, write_catalog


class Interrupted(Exception):
    """What the progress callback raises to stop an import midway."""


def _other_catalog(tmp_path: Path) -> Path:
    """A catalog of 45 tracks none of which is in the tiny catalog (ids renamed)."""
    rows = tiny_catalog_rows(seed=9)
    rows = rows[rows["track_genre"] != "ambient"].copy()
    rows["track_id"] = [track_id_for("other-" + t) for t in rows["track_id"]]
    return write_catalog(tmp_path / "other.csv", rows)


def _catalog_state(storage: Storage) -> tuple[list[str], set[tuple[str, str]], str | None]:
    tracks, genres = storage.tracks.load_catalog()
    pairs = set(map(tuple, genres[["track_id", "genre"]].astype(str).to_numpy()))
    return sorted(tracks.index), pairs, storage.meta.get(SOURCE_KEY)


def _tables(storage: Storage) -> set[str]:
    return {r["name"] for r in storage.sql.rows("select name from sqlite_master")}


def _stop_after_first_batch(done: int, total: int) -> None:
    raise Interrupted(f"stopped at {done} of {total}")


def test_an_import_failing_midway_leaves_the_previous_catalog_served(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    before = _catalog_state(storage)
    stamp = storage.meta.get("catalog_updated_at")
    with pytest.raises(Interrupted):
        import_catalog(storage, str(_other_catalog(tmp_path)), tmp_path, _stop_after_first_batch)
    assert _catalog_state(storage) == before
    assert storage.tracks.catalog_size() == 60
    assert storage.meta.get("catalog_updated_at") == stamp
    assert not {STAGED_TRACKS, STAGED_GENRES} & _tables(storage)  # cleaned up at once
    # The file was not imported: the next start imports it (the signature did not change).
    result = import_catalog(storage, str(_other_catalog(tmp_path)), tmp_path, force=False)
    assert "skipped" not in result
    assert storage.tracks.catalog_size() == 45


def test_other_readers_see_the_previous_catalog_until_the_swap(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    seen: list[int] = []
    other = Storage.open(tmp_path / "db" / "beatmatch.db")  # another process's view
    try:
        import_catalog(
            storage,
            str(_other_catalog(tmp_path)),
            tmp_path,
            lambda done, total: seen.append(other.tracks.catalog_size()),
        )
        assert seen == [60]  # after the tracks were written, before the swap
        assert other.tracks.catalog_size() == 45
    finally:
        other.close()


def _leave_staging(storage: Storage, tmp_path: Path) -> None:
    """What a killed import leaves: staging tables holding part of a catalog."""
    staging = CatalogStaging(storage.sql)
    staging.create()
    staging.add_tracks([[track_id_for("half"), "Half", "Someone", "", *[None] * 16, 0]])


def test_an_interrupted_import_is_reported_and_dropped_on_the_next_open(
    storage: Storage,
    tiny_catalog: CatalogFile,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    before = _catalog_state(storage)
    _leave_staging(storage, tmp_path)
    storage.close()
    with caplog.at_level(logging.WARNING, logger="storage"):
        again = Storage.open(tmp_path / "db" / "beatmatch.db")
    try:
        assert again.tracks.interrupted_import
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "interrupted" in warnings[0]
        assert "previous complete catalog (60 tracks) is still in use" in warnings[0]
        assert "beatmatch import-catalog" in warnings[0]
        assert not {STAGED_TRACKS, STAGED_GENRES} & _tables(again)
        assert _catalog_state(again) == before
    finally:
        again.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="storage"):
        Storage.open(tmp_path / "db" / "beatmatch.db").close()
    assert not caplog.records  # reported once


@contextmanager
def _import_running_elsewhere(db: Path) -> Iterator[None]:
    """Hold the import lock as another process's import would."""
    fd = os.open(db.with_name(db.name + ".import-lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_an_import_running_in_another_process_is_left_alone(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    db = tmp_path / "db" / "beatmatch.db"
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    _leave_staging(storage, tmp_path)
    with _import_running_elsewhere(db):
        other = Storage.open(db)
        assert not other.tracks.interrupted_import
        assert {STAGED_TRACKS, STAGED_GENRES} <= _tables(other)
        with pytest.raises(ImportFormatError, match="Another catalog import is writing"):
            import_catalog(other, str(tiny_catalog.path), tmp_path)
        assert {STAGED_TRACKS, STAGED_GENRES} <= _tables(other)  # its tables are untouched
        other.close()
    reopened = Storage.open(db)  # that process died: its tables are what it left behind
    assert reopened.tracks.interrupted_import
    reopened.close()


def test_tracks_nothing_refers_to_leave_with_the_old_catalog(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    old = tiny_catalog.track_ids
    uid = storage.users.user_id("console", "me")
    storage.taste.replace_library(
        uid, "exportify", pd.DataFrame({"track_id": [old[0]], "rank": [1], "added_at": [None]})
    )
    storage.taste.set_feedback(uid, old[1], 1)
    workout = storage.workouts.start_workout(uid, 3, None, "simulated")
    storage.workouts.add_workout_track(workout, 1.0, old[2], "Suggested")
    storage.tracks.record_feature_misses([old[3]], "reccobeats")
    searched = track_id_for("found by a search")
    storage.tracks.upsert_tracks(
        normalise_tracks(
            pd.DataFrame({"track_id": [searched], "name": ["Found"], "energy": [0.4]}).set_index(
                "track_id"
            )
        ),
        "reccobeats",
    )
    import_catalog(storage, str(_other_catalog(tmp_path)), tmp_path)

    kept = {old[0], old[1], old[2], old[3], searched}
    stored = {r["id"] for r in storage.sql.rows("select id from tracks where in_catalog = 0")}
    assert stored == kept
    assert storage.tracks.catalog_size() == 45
    # The kept ones keep what is known about them; the others' features and labels are gone.
    assert storage.tracks.get_tracks([old[0]]).loc[old[0], "energy"] > 0
    assert storage.tracks.genres_of(old[0]) == []
    features = {r["track_id"] for r in storage.sql.rows("select track_id from features")}
    assert not (set(old) - kept) & features
    assert storage.sql.rows("select count(*) as n from track_genres")[0]["n"] == 49
    assert storage.sql.rows("pragma foreign_key_check") == []


def test_every_table_that_holds_a_track_id_is_known_to_the_orphan_sweep(
    storage: Storage,
) -> None:
    """A new table referring to tracks must be added to TRACK_REFERENCES, or the swap would
    delete tracks it still refers to."""
    tables = [
        r["name"] for r in storage.sql.rows("select name from sqlite_master where type='table'")
    ]
    holding = {
        table
        for table in tables
        if any(c["name"] == "track_id" for c in storage.sql.rows(f"pragma table_info('{table}')"))
    }
    assert holding == {table for table, _ in TRACK_REFERENCES} | set(TRACK_MENTIONS)
