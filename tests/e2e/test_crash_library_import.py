"""``kill -9`` of a real console while it saves an Exportify import over an earlier one.

A library import replaces the listener's library in one transaction: after a crash at any moment
the library is the old one or the complete new one, never a part of it; what the bot said was
imported is there; the database is sound; and the restarted bot takes an import again.
"""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import pytest

from tests.e2e.crash_rig import (
    closing_db,
    console,
    demo_genre_model_fixture,  # noqa: F401  (the fixture demo_genre_model)
    integrity,
)

#: Copies of the 720-track export in the big file (new track ids each): 7,200 tracks to save.
COPIES = 10
#: About how long saving them takes here (their tracks, then the library): the kill comes at a
#: random moment within.
SAVE_S = 1.5


def library(db: Path) -> set[str]:
    """The track ids of the (only) listener's library."""
    with closing_db(db) as conn:
        return {str(row[0]) for row in conn.execute("select track_id from library")}


def scaled_export(source: Path, target: Path, copies: int) -> set[str]:
    """``copies`` of an Exportify CSV with new track ids (same header, UTF-8 with a BOM)."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    uri = header.index("Track URI")
    ids: set[str] = set()
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for copy in range(1, copies + 1):
            for row in body:
                track_id = row[uri].rsplit(":", 1)[1][:19] + f"C{copy:02d}"
                ids.add(track_id)
                writer.writerow([*row[:uri], f"spotify:track:{track_id}", *row[uri + 1 :]])
    return ids


@pytest.mark.shared_data
def test_a_killed_import_leaves_the_old_library_or_the_whole_new_one(
    tmp_path: Path, shared_data: Path, demo_genre_model: Path
) -> None:
    small = shared_data / "exportify_user_a.csv"
    big = tmp_path / "big_export.csv"
    new = scaled_export(small, big, COPIES)
    data_dir = tmp_path / "data"
    with console(data_dir, demo_genre_model) as first:
        first.ask(f"/import {small}", r"^Library imported$")
        old = library(first.db)
        assert len(old) == 720
        mark = first.send(f"/import {big}")
        saving = first.wait_for(rf"^… Read {len(new)} tracks; saving them…$", mark)
        # A random moment of the save: the tracks are stored, then the library is replaced.
        time.sleep(random.uniform(0.0, SAVE_S))
        first.kill()
        acknowledged = "Library imported" in first.out.text[saving.end() :]

    assert integrity(first.db) == "ok"
    after = library(first.db)
    assert after in (old, new), f"a partial library: {len(after)} of {len(new)} tracks"
    if acknowledged:
        assert after == new

    with console(data_dir, demo_genre_model) as second:
        second.ask(f"/import {small}", r"^Library imported$")
        assert library(second.db) == old
        assert "Traceback" not in second.err.text, second.tail()  # (before its own kill)
    assert "Sorry" not in first.out.text + second.out.text
