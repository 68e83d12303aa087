"""``/import`` of paths the console can't read, typed into the real console: each gets a short
message saying why, never the apology of a bug. Run as root, the console is started without the
capabilities that let root read any folder (``setpriv``), so a locked folder is locked for it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import OFFLINE_RECCOBEATS, ROOT
from tests.e2e.test_console import Session, assert_clean

TIMEOUT_S = 180
#: Root without these reads and searches folders by their modes, like any user.
AS_ANY_USER = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def _as_any_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a locked folder can't be locked")
    return AS_ANY_USER


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    tmp = tmp_path_factory.mktemp("paths")
    locked = tmp / "locked"
    locked.mkdir()
    (locked / "liked.csv").write_text("Track URI\n")
    long_name = tmp / ("liked" * 60 + ".csv")
    lines = [f"/import {locked / 'liked.csv'}", f"/import {long_name}", "/quit"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp / "data"),
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "PYTHONIOENCODING": "utf-8",
        }
    )
    locked.chmod(0)
    try:
        done = subprocess.run(
            [*_as_any_user(), sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=environment,
            input=("\n".join(lines) + "\n").encode(),
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    finally:
        locked.chmod(0o700)
    return Session(
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
        done.returncode,
        tmp / "data",
        tuple(lines),
    )


def test_the_session_runs_cleanly(session: Session) -> None:
    assert_clean(session)
    assert "Sorry" not in session.stdout


def test_a_file_in_a_locked_folder_says_permission_denied(session: Session) -> None:
    reply = session.reply_to(session.inputs[0])
    assert reply.startswith("! I can't read "), reply
    assert "permission denied" in reply.splitlines()[0]


def test_a_name_too_long_says_so(session: Session) -> None:
    reply = session.reply_to(session.inputs[1])
    assert reply.startswith("! That file name is too long"), reply
