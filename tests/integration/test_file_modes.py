"""The data directory is for beatmatch's own user: opening the database makes it 0700 and every
file in it 0600 — the database and its WAL from the start, and whatever an older version left
readable by every local user (an upgrade)."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from storage.database import DATABASE_FILE, Storage


def modes(root: Path) -> dict[str, int]:
    """The permission bits of ``root`` and of everything under it, by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(root: Path) -> None:
    """Every directory 0700, every file 0600."""
    wrong = {
        name: oct(mode)
        for name, mode in modes(root).items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert not wrong, wrong


def test_a_new_database_and_its_wal_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        storage.users.user_id("console", "ann", "Ann")  # a write: the WAL holds it
        assert {DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm"} <= set(
            modes(data_dir)
        )
        assert_private(data_dir)
    finally:
        storage.close()


def test_what_an_older_version_left_readable_is_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "models").mkdir(parents=True)
    (data_dir / "charts" / "2025").mkdir(parents=True)
    with sqlite3.connect(data_dir / DATABASE_FILE) as db:
        db.execute("pragma journal_mode = wal")
        db.execute("create table old (x)")
    for name in ("secret.key", "models/taste-user1.npz", "charts/2025/workout-1.png"):
        (data_dir / name).write_bytes(b"data")
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert modes(data_dir)["charts/2025/workout-1.png"] == 0o644

    Storage.open(data_dir / DATABASE_FILE).close()
    assert_private(data_dir)
    assert (data_dir / "charts/2025/workout-1.png").read_bytes() == b"data"


def test_a_link_in_the_data_directory_is_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "shared.csv"
    outside.write_text("a catalog others read\n")
    outside.chmod(0o644)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "catalog.csv").symlink_to(outside)
    Storage.open(data_dir / DATABASE_FILE).close()
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
