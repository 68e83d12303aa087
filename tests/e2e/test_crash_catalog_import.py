"""A real `beatmatch import-catalog` killed with SIGKILL during a re-import leaves the previous
catalog complete and served; the next start reports the interrupted import, and importing again
redoes it (issue 12, item 1)."""

from __future__ import annotations

import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from storage.catalog_import import import_catalog
from storage.catalog_staging import STAGED_TRACKS
from storage.database import DATABASE_FILE, Storage
from tests.conftest import CATALOG_COLUMNS, OFFLINE_RECCOBEATS, ROOT, track_id_for, write_catalog
from tests.e2e.test_console import assert_clean, run_console

TIMEOUT_S = 180
#: Tracks of the catalog imported first and of the one the killed import brings: 8 batches of
#: 5,000, so the import is still writing when its first progress line (25 %) is printed.
FIRST, SECOND = 12_000, 40_000
PROGRESS = re.compile(r"^importing \[[#-]+\]\s+\d+%")
ATTEMPTS = 3


def synthetic_catalog(path: Path, prefix: str, count: int, seed: int) -> list[str]:
    """Write a Kaggle-format catalog of ``count`` invented tracks; returns their ids."""
    rng = np.random.default_rng(seed)
    n = np.arange(count)
    ids = [track_id_for(f"{prefix}-{i}") for i in n]
    unit = {c: rng.random(count).round(3) for c in ("danceability", "energy", "valence")}
    rows = pd.DataFrame(
        {
            "track_id": ids,
            "artists": [f"{prefix.title()} Artist {i % 700}" for i in n],
            "album_name": [f"{prefix.title()} Album {i % 2000}" for i in n],
            "track_name": [f"{prefix.title()} Song {i}" for i in n],
            "popularity": rng.integers(0, 101, count),
            "duration_ms": rng.integers(120_000, 360_000, count),
            "explicit": rng.random(count) < 0.1,
            **unit,
            "key": rng.integers(0, 12, count),
            "loudness": (-30 * rng.random(count)).round(3),
            "mode": rng.integers(0, 2, count),
            "speechiness": (0.3 * rng.random(count)).round(4),
            "acousticness": rng.random(count).round(4),
            "instrumentalness": rng.random(count).round(4),
            "liveness": (0.5 * rng.random(count)).round(3),
            "tempo": rng.uniform(60, 200, count).round(3),
            "time_signature": 4,
            "track_genre": np.array(["acoustic", "metal", "edm", "ambient"])[n % 4],
        },
        columns=list(CATALOG_COLUMNS),
    )
    write_catalog(path, rows)
    return ids


def environment_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    env.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(data_dir),
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def _import_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "import-catalog", str(path), "--skip-genre"]


def _lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return row[0] if row else None


def _catalog_ids(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as db:
        return {r[0] for r in db.execute("select id from tracks where in_catalog = 1")}


def _kill_during_write(data_dir: Path, catalog: Path) -> int | None:
    """Start importing ``catalog``; once it reports progress, take the database's write lock
    (its next write waits), check it has not swapped yet and SIGKILL it there. Returns the
    tracks it had staged, or None when it finished first (the lock came too late)."""
    db_path = data_dir / DATABASE_FILE
    with sqlite3.connect(db_path) as db:
        stamp = _meta(db, "catalog_updated_at")
    importer = subprocess.Popen(
        _import_command(catalog),
        cwd=ROOT,
        env=environment_for(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert importer.stderr is not None
    threading.Thread(target=_lines, args=(importer.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while not any(PROGRESS.match(line) for line in seen):
            line = lines.get(timeout=TIMEOUT_S)
            assert line is not None, f"the import ended without progress:\n{''.join(seen)}"
            seen.append(line)
        held = sqlite3.connect(db_path, timeout=TIMEOUT_S, isolation_level=None)
        try:
            held.execute("begin immediate")  # the importer's next write waits behind this
            if _meta(held, "catalog_updated_at") != stamp:
                return None  # it swapped before the lock was taken: try again
            staged = 0
            if held.execute(
                "select 1 from sqlite_master where name = ?", [STAGED_TRACKS]
            ).fetchone():
                staged = held.execute(f"select count(*) from {STAGED_TRACKS}").fetchone()[0]  # noqa: S608 - a constant
            importer.kill()  # SIGKILL: no cleanup of any kind runs
            importer.wait(timeout=TIMEOUT_S)
            held.execute("rollback")
        finally:
            held.close()
        return int(staged)
    finally:
        if importer.poll() is None:
            importer.kill()
        importer.wait(timeout=TIMEOUT_S)


def test_a_killed_reimport_leaves_the_previous_catalog_complete(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    files = {
        "first": tmp_path / "first.csv",
        "second": tmp_path / "second.csv",
    }
    ids = {
        "first": set(synthetic_catalog(files["first"], "first", FIRST, seed=1)),
        "second": set(synthetic_catalog(files["second"], "second", SECOND, seed=2)),
    }
    storage = Storage.open(data_dir / DATABASE_FILE)
    import_catalog(storage, str(files["first"]), data_dir)
    storage.close()

    current, staged = "first", None
    for _ in range(ATTEMPTS):
        other = "second" if current == "first" else "first"
        staged = _kill_during_write(data_dir, files[other])
        if staged is not None:
            break
        current = other  # that import completed: kill the next one, back the other way
    assert staged is not None, f"the import finished before it could be stopped {ATTEMPTS} times"
    db_path = data_dir / DATABASE_FILE
    with sqlite3.connect(db_path) as db:
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert _catalog_ids(db_path) == ids[current]  # the previous import, complete
    assert staged >= 5_000  # it was killed while writing the new catalog

    # The next start serves the complete catalog and tells the operator what happened.
    session = run_console(tmp_path, ["/help", "/quit"])
    assert_clean(session)
    assert f"Catalog: {len(ids[current]):,} tracks." in session.reply_to("/help")
    # The console logs to its file (never through the prompt): the warning is there.
    log = (session.data_dir / "logs" / "console.log").read_text("utf-8")
    warning = [line for line in log.splitlines() if "interrupted" in line]
    assert len(warning) == 1, log[-3000:]
    assert " WARNING " in warning[0]
    assert f"previous complete catalog ({len(ids[current]):,} tracks) is still" in warning[0]
    with sqlite3.connect(db_path) as db:
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert not db.execute(
            "select name from sqlite_master where name like 'catalog_stag%'"
        ).fetchall()

    # Importing again redoes it; the tracks of the replaced catalog that nothing refers to go.
    other = "second" if current == "first" else "first"
    done = subprocess.run(
        _import_command(files[other]),
        cwd=ROOT,
        env=environment_for(data_dir),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Catalog imported: {len(ids[other]):,} tracks" in done.stdout
    assert "interrupted" not in done.stderr
    assert _catalog_ids(db_path) == ids[other]
    with sqlite3.connect(db_path) as db:
        assert db.execute("select count(*) from tracks").fetchone()[0] == len(ids[other])
