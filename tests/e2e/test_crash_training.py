"""``kill -9`` of a real console while a listener's taste model trains in its worker process.

After the crash: no worker outlives the bot, the database is sound, the stored model is absent
or complete (its file loads), and the restarted bot serves recommendations and trains again
without an error.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from recommender.taste import TasteModel
from tests.e2e.crash_rig import (
    ORPHAN_GRACE_S,
    alive,
    closing_db,
    console,
    demo_genre_model_fixture,  # noqa: F401  (the fixture demo_genre_model)
    integrity,
    processes_of,
    wait_until,
)
from tests.e2e.test_console import numbered_tracks

#: The kill comes at a random moment this long after the worker started: it loads its libraries
#: (~2 s), trains the quick model (~1 s), then the full one (~2 s).
TRAINING_S = 4.0
TRAINED = r"trained taste model for user"


def stored_model(db: Path) -> tuple[str, str] | None:
    """(path, fingerprint) of the taste model the database records, or None."""
    with closing_db(db) as conn:
        rows = conn.execute("select path, fingerprint from models where kind = 'taste'").fetchall()
    assert len(rows) <= 1
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


def assert_absent_or_complete(db: Path) -> bool:
    """The recorded model, if any, is a whole file that loads; whether there is one."""
    record = stored_model(db)
    if record is None:
        return False
    path = Path(record[0])
    assert path.is_file(), f"the database records {path}, which is not there"
    TasteModel.load(path)  # raises on a half-written file
    return True


@pytest.mark.shared_data
def test_a_bot_killed_while_it_trains_leaves_no_worker_and_no_half_model(
    tmp_path: Path, shared_data: Path, demo_genre_model: Path
) -> None:
    data_dir = tmp_path / "data"
    with console(data_dir, demo_genre_model) as first:
        # The import asks for the listener's models (a quick one, then the full one) and the
        # bot starts its worker process for them.
        first.ask(f"/import {shared_data / 'exportify_user_a.csv'}", r"^Library imported$")
        wait_until(lambda: bool(first.children()), "a training worker runs")
        workers = first.children()
        time.sleep(random.uniform(0.0, TRAINING_S))  # a random moment of the training
        first.kill()
        finished = re.search(TRAINED, first.err.text) is not None

    wait_until(lambda: not any(alive(pid) for pid in workers), "the workers ended", ORPHAN_GRACE_S)
    assert processes_of(data_dir) == [], "a process of the killed bot is still running"
    assert integrity(first.db) == "ok"
    had_model = assert_absent_or_complete(first.db)
    if finished:
        assert had_model  # the log said it was trained: it was stored before that

    with console(data_dir, demo_genre_model) as second:
        reply = second.ask("/recommend 5", r"^5 tracks for you:$|^! .*$")
        assert not reply[0].startswith("! "), second.tail()
        footer = second.wait_for(r"^Playlist coherence", reply.end())
        block = second.out.text[reply.end() : footer.start()]
        assert len(numbered_tracks(block)) == 5, block
        assert second.quit() == 0
        assert second.out.text.rstrip().endswith("bye.")
    assert "Sorry" not in second.out.text
    assert "Traceback" not in second.err.text, second.tail()
    assert assert_absent_or_complete(second.db)  # trained again and stored, whole
    wait_until(
        lambda: processes_of(data_dir) == [], "the second bot's workers ended", ORPHAN_GRACE_S
    )
