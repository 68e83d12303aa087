"""The real console (`python -m bot run`) as a subprocess, fed scripted sessions on stdin."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bot.core.catalog import DEMO_NOTE
from storage.database import DATABASE_FILE, Storage
from tests.conftest import (
    OFFLINE_RECCOBEATS,
    ROOT,
    SHARED_DATA,
    tiny_catalog_rows,
    write_catalog,
)

TIMEOUT_S = 180
DEMO_MARK = "demo catalog: invented tracks"
AS_IT_WAS = "4LRPiXqCikLlN15c3yImP7"


@dataclass(frozen=True)
class Session:
    """What one console run printed."""

    stdout: str
    stderr: str
    returncode: int
    data_dir: Path
    inputs: tuple[str, ...] = ()

    def blocks(self) -> list[tuple[str, str]]:
        """(echoed command, everything printed until the next command) in order."""
        out: list[tuple[str, str]] = []
        for chunk in re.split(r"^> ", self.stdout, flags=re.MULTILINE)[1:]:
            command, _, reply = chunk.partition("\n")
            out.append((command, reply))
        return out

    def reply_to(self, command: str) -> str:
        """The output after the echo of ``command`` (or, for long ones, of its start)."""
        shown = command if len(command) <= 120 else command[:117] + "…"
        blocks = self.blocks()
        for echoed, reply in blocks:
            if echoed == shown:
                return reply
        for echoed, reply in blocks:
            if echoed.startswith(shown):
                return reply
        raise AssertionError(f"{command[:60]!r} was not echoed:\n{self.stdout[-3000:]}")


def run_console(tmp_path: Path, lines: list[str], raw: bytes | None = None, **env: str) -> Session:
    """Run ``python -m bot run`` in the repository with ``lines`` (or ``raw`` bytes) as its input.

    PYTHONIOENCODING=utf-8 makes the terminal UTF-8 (strict), as on a typical desktop locale.
    """
    data_dir = tmp_path / "data"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(data_dir),
            "BEATMATCH_CONSOLE_SIMULATOR_SPEED": "600",
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "PYTHONIOENCODING": "utf-8",
            **env,
        }
    )
    stdin = raw if raw is not None else ("\n".join(lines) + "\n").encode("utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    stdout = done.stdout.decode("utf-8", errors="replace")
    stderr = done.stderr.decode("utf-8", errors="replace")
    return Session(stdout, stderr, done.returncode, data_dir, tuple(lines))


def assert_clean(session: Session) -> None:
    """The process ended normally, said goodbye, and no traceback reached the terminal."""
    assert "Traceback" not in session.stdout
    assert "Traceback" not in session.stderr, session.stderr[-3000:]
    assert session.returncode == 0, session.stderr[-3000:]
    assert session.stdout.rstrip().endswith("bye.")


def numbered_tracks(reply: str) -> list[tuple[str, str, str]]:
    """(title line, link line, why line) of each numbered track in a reply."""
    lines = reply.splitlines()
    found = []
    for i, line in enumerate(lines):
        if re.match(r"^\s*\d+\. ", line):
            link = lines[i + 1].strip() if i + 1 < len(lines) else ""
            why = lines[i + 2].strip() if i + 2 < len(lines) else ""
            found.append((line.strip(), link, why))
    return found


# -- (a) the acceptance session ------------------------------------------------------------------
@pytest.fixture(scope="module")
def acceptance(tmp_path_factory: pytest.TempPathFactory) -> Session:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return run_console(
        tmp_path_factory.mktemp("acceptance"),
        [
            "/import ../shared/data/exportify_user_a.csv",
            "/recommend 5",
            f"/genre {AS_IT_WAS}",
            "/quit",
        ],
    )


@pytest.mark.shared_data
def test_acceptance_session_runs_cleanly(acceptance: Session) -> None:
    assert_clean(acceptance)


@pytest.mark.shared_data
def test_acceptance_import_reads_720_tracks(acceptance: Session) -> None:
    reply = acceptance.reply_to("/import")
    assert "Imported 720 tracks" in reply
    assert not reply.startswith("! ")


@pytest.mark.shared_data
def test_acceptance_recommends_five_tracks_with_reasons_and_links(acceptance: Session) -> None:
    reply = acceptance.reply_to("/recommend 5")
    tracks = numbered_tracks(reply)
    assert [t[0].split(".")[0] for t in tracks] == ["1", "2", "3", "4", "5"], reply
    for title, link, why in tracks:
        assert re.fullmatch(r"https://open\.spotify\.com/track/[A-Za-z0-9]{22}", link), title
        assert why.startswith("why: ") and len(why) > len("why: ") + 3, title
    links = [t[1] for t in tracks]
    assert len(set(links)) == 5


@pytest.mark.shared_data
def test_acceptance_answers_genre(acceptance: Session) -> None:
    reply = acceptance.reply_to(f"/genre {AS_IT_WAS}").strip()
    assert reply
    assert "Sorry" not in reply, "the genre command hit a bug (apology with an incident id)"


# -- (b) garbage ---------------------------------------------------------------------------------
GARBAGE: list[str] = [
    "x" * 10_000,
    "/genre " + "y" * 10_000,
    "🎵🎶🔥",
    "/genre 🎵🔥",
    "/genre '; DROP TABLE tracks; --",
    "/genre %_%",
    "/import {binary}",
    "/import {missing}",
    "/import",
    # (a bare /recommend without a library is an invitation to /start: test_console_cold_start)
    "/recommend -5",
    "/recommend 99999",
    "/recommend abc",
    "/recommend 5 mood:grumpy",
    "/recommend 5 bpm:fast",
    "/profile age:abc",
    "/profile age:5",
    "/workout dance",
    "/workout stop",
    "/like 1",
    "/dislike banana",
    "/similar",
    "/help nosuch",
    "/wait abc",
    "/frobnicate",
    "hello there",
    "/",
]


@pytest.fixture(scope="module")
def garbage(tmp_path_factory: pytest.TempPathFactory) -> Session:
    tmp = tmp_path_factory.mktemp("garbage")
    binary = tmp / "random.bin"
    binary.write_bytes(np.random.default_rng(5).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    lines = [g.format(binary=binary, missing=tmp / "missing.csv") for g in GARBAGE]
    session = run_console(tmp, ["", *lines[:3], "", "   ", *lines[3:], "/help", "/quit"])
    return Session(
        session.stdout, session.stderr, session.returncode, session.data_dir, tuple(lines)
    )


def test_garbage_session_runs_to_the_end(garbage: Session) -> None:
    assert_clean(garbage)
    assert "Start with /import" in garbage.reply_to("/help")


@pytest.mark.parametrize("number", range(len(GARBAGE)), ids=[g[:30] for g in GARBAGE])
def test_each_garbage_line_gets_a_short_message(garbage: Session, number: int) -> None:
    reply = garbage.reply_to(garbage.inputs[number])
    assert reply.startswith("! "), reply[:500]
    first = reply.splitlines()[0]
    assert 10 < len(first) < 300, first
    assert "Sorry" not in reply, "garbage reached a bug (apology with an incident id)"


def test_garbage_leaves_the_database_intact(garbage: Session) -> None:
    with sqlite3.connect(garbage.data_dir / "beatmatch.db") as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"tracks", "users", "library"} <= tables


def test_without_a_catalog_the_demo_note_is_shown(garbage: Session) -> None:
    assert DEMO_NOTE in garbage.stdout.split("\n> ")[0]  # in the greeting
    assert "(demo)" in garbage.reply_to("/help")


# -- (c) a workout -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workout(tmp_path_factory: pytest.TempPathFactory) -> Session:
    # At 600× a 1-second wait is 10 simulated minutes: the 20-minute plan is still running.
    return run_console(
        tmp_path_factory.mktemp("workout"),
        [
            "/profile age:34 resting_hr:58",
            "/workout start",
            "/workout start",
            "/wait 1",
            "/workout status",
            "/workout stop",
            "/workout stop",
            "/quit",
        ],
    )


def test_workout_session_runs_cleanly(workout: Session) -> None:
    assert_clean(workout)


def test_workout_profile_is_saved_with_its_zones(workout: Session) -> None:
    reply = workout.reply_to("/profile")
    assert "(saved)" in reply
    assert "Maximum heart rate: 184 bpm" in reply
    assert "Defaults in use" not in reply


def test_workout_announces_zone_changes_with_tracks(workout: Session) -> None:
    pushed = workout.reply_to("/wait 1")
    announcements = re.findall(
        r"^Zone \d \([a-z -]+\), (?:up|down) from zone \d", pushed, flags=re.MULTILINE
    )
    assert announcements, pushed[:2000]
    # The first reading comes with three tracks too, a pick while the zone holds with one.
    firsts = re.findall(r"^First reading: heart at \d+ bpm", pushed, flags=re.MULTILINE)
    holds = re.findall(r"^Still zone \d", pushed, flags=re.MULTILINE)
    assert len(firsts) == 1, pushed[:2000]
    assert len(numbered_tracks(pushed)) == 3 * (len(announcements) + 1) + len(holds)
    assert "! " not in workout.reply_to("/workout status")[:2]


def test_workout_stop_gives_a_summary_with_a_chart(workout: Session) -> None:
    assert workout.reply_to("/workout start").startswith("Workout")
    summary = workout.reply_to("/workout stop")
    assert summary.startswith("Workout summary"), summary
    assert "average" in summary
    match = re.search(r"^\[chart\] (\S+\.png)", summary, flags=re.MULTILINE)
    assert match, summary
    chart = Path(match.group(1))
    assert chart.is_file()
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_workout_errors_are_short_messages(workout: Session) -> None:
    starts = [reply for command, reply in workout.blocks() if command == "/workout start"]
    assert starts[1].startswith("! ") and "already running" in starts[1]
    stops = [reply for command, reply in workout.blocks() if command == "/workout stop"]
    assert stops[1].startswith("! No workout is running")


def test_workout_samples_are_in_the_database(workout: Session) -> None:
    with sqlite3.connect(workout.data_dir / "beatmatch.db") as db:
        ((samples,),) = db.execute("select count(*) from hr_samples")
        rows = db.execute("select ended_at, summary from workouts").fetchall()
    assert len(rows) == 1
    ended_at, summary = rows[0]
    assert ended_at is not None and summary
    # Stored readings are 5-second means: every 5 s the workout ran is there (how many simulated
    # seconds pass in the one-second wait depends on how busy the machine is).
    duration = json.loads(summary)["duration_s"]
    assert duration > 0 and samples >= int(duration // 5) - 1, (duration, samples)


# -- (d) a configured catalog --------------------------------------------------------------------
@pytest.fixture(scope="module")
def with_catalog(tmp_path_factory: pytest.TempPathFactory) -> Session:
    tmp = tmp_path_factory.mktemp("catalog")
    rows = tiny_catalog_rows()
    path = write_catalog(tmp / "tiny.csv", rows)
    first = rows["track_id"].iloc[0]
    return run_console(
        tmp,
        ["/help", f"/similar {first} 3", "/recommend", "/quit"],
        BEATMATCH_CATALOG_PATH=str(path),
    )


def test_with_a_catalog_there_is_no_demo_note(with_catalog: Session) -> None:
    assert_clean(with_catalog)
    assert DEMO_MARK not in with_catalog.stdout
    assert "demo" not in with_catalog.stdout.lower()
    assert "Catalog: 60 tracks." in with_catalog.reply_to("/help")


def test_with_a_catalog_its_tracks_are_used(with_catalog: Session) -> None:
    tracks = numbered_tracks(with_catalog.reply_to("/similar"))
    assert len(tracks) == 3
    assert all(t[0].split(". ", 1)[1].startswith("Acoustic Song") for t in tracks), tracks


def test_bytes_that_are_not_utf8_do_not_end_the_session(tmp_path: Path) -> None:
    session = run_console(
        tmp_path, [], raw=b"/help nosuch\n\xff\xfe garbage \xc3\x28\n/help\n/quit\n"
    )
    assert_clean(session)
    assert "Start with /import" in session.reply_to("/help")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        pytest.param(
            {"BEATMATCH_CATALOG_PATH": "{tmp}/missing.csv"},
            "BEATMATCH_CATALOG_PATH (catalog.path) is",
            id="missing-catalog",
        ),
        pytest.param(
            {"BEATMATCH_CATALOG_PATH": "{tmp}/empty.csv"},
            "empty.csv",
            id="empty-catalog",
        ),
        pytest.param(
            {"BEATMATCH_RECOMMEND_MAX_COUNT": "lots"}, "recommend.max_count", id="bad-config"
        ),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line(
    tmp_path: Path, setting: dict[str, str], expected: str
) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    env = {k: v.format(tmp=tmp_path) for k, v in setting.items()}
    session = run_console(tmp_path, ["/quit"], **env)
    assert session.returncode == 2
    assert "Traceback" not in session.stderr, session.stderr[-2000:]
    message = session.stderr.strip().splitlines()[-1]
    assert message.startswith("beatmatch: ") and expected in message


# -- short sessions keep their work ----------------------------------------------------------------
@pytest.mark.shared_data
def test_a_piped_session_saves_its_model_and_the_next_start_reuses_it(tmp_path: Path) -> None:
    """``printf '/import …\\n/recommend 5\\n/quit\\n' | make run``: the console waits for the
    model being trained before it leaves, and the next session loads it instead of training."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    first = run_console(
        tmp_path, ["/import ../shared/data/exportify_user_a.csv", "/recommend 5", "/quit"]
    )
    assert_clean(first)
    assert "Saving your taste model before leaving" in first.stdout
    storage = Storage.open(first.data_dir / DATABASE_FILE)
    try:
        uid = storage.users.find_user("console", "console")
        assert uid is not None
        saved = storage.taste.model_record(uid, "taste")
        assert saved is not None
    finally:
        storage.close()

    second = run_console(tmp_path, ["/recommend 5", "/quit"])
    assert_clean(second)
    reply = second.reply_to("/recommend 5")
    assert len(numbered_tracks(reply)) == 5
    assert "Learning your taste" not in reply and "still being learned" not in reply
    assert "Saving your taste model" not in second.stdout  # nothing was trained again
    storage = Storage.open(second.data_dir / DATABASE_FILE)
    try:
        again = storage.taste.model_record(uid, "taste")
        assert again is not None and again["trained_at"] == saved["trained_at"]
    finally:
        storage.close()


# -- (e) search that forgives case, accents and punctuation -------------------------------------
def test_genre_finds_a_catalog_track_typed_without_accents_or_capitals(tmp_path: Path) -> None:
    rows = tiny_catalog_rows()
    cuff = rows["track_id"] == rows["track_id"].iloc[0]
    rows.loc[cuff, ["track_name", "artists", "album_name"]] = ["CUFF IT", "Beyoncé", "RENAISSANCE"]
    path = write_catalog(tmp_path / "cuff.csv", rows)
    session = run_console(
        tmp_path, ["/genre cuff it - beyonce", "/quit"], BEATMATCH_CATALOG_PATH=str(path)
    )
    assert_clean(session)
    reply = session.reply_to("/genre cuff it - beyonce")
    assert "CUFF IT" in reply and "Beyoncé" in reply, reply
    assert "No track matches" not in reply


# -- the log goes to a file, never through the prompt ----------------------------------------------
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) ", re.MULTILINE)


def test_log_lines_go_to_the_file_named_at_start_not_to_the_terminal(tmp_path: Path) -> None:
    session = run_console(tmp_path, ["/help", "/quit"])  # no catalog: the start logs at INFO
    assert_clean(session)
    log_file = session.data_dir / "logs" / "console.log"
    banner = session.stdout.split("\n> ", 1)[0]
    assert f"Logs: {log_file}" in banner.splitlines()
    logged = log_file.read_text(encoding="utf-8")
    assert "INFO bot.app: no catalog imported" in logged
    assert "WARNING storage.crypto" in logged  # warnings too: the prompt stays clean
    for printed in (session.stdout, session.stderr):
        assert not LOG_LINE.search(printed), printed[-2000:]
        assert "no catalog imported" not in printed


def test_the_log_can_stay_on_stderr(tmp_path: Path) -> None:
    session = run_console(tmp_path, ["/quit"], BEATMATCH_CONSOLE_LOG_FILE="stderr")
    assert_clean(session)
    assert "INFO bot.app: no catalog imported" in session.stderr
    assert "Logs:" not in session.stdout
    assert not (session.data_dir / "logs").exists()
