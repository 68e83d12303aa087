"""``beatmatch run`` with a chat front: the web server, Telegram (against the fake Bot API), the
workout manager and the digest in one loop; stopped by a request, by SIGTERM, by a bad token;
and the real ``python -m bot run`` process stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import Beatmatch, build
from bot.config import Config, load_config
from bot.core.replies import ChatUser, Reply
from bot.runner import RunFailed, Runner
from storage.database import DATABASE_FILE, Storage
from tests.conftest import ROOT
from tests.fakes.fake_telegram import FakeTelegram, document, message

ANN = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def _env(fake: FakeTelegram, data_dir: Path, port: int = 0, token: str = "") -> dict[str, str]:
    return {
        "BEATMATCH_STORAGE_DATA_DIR": str(data_dir),
        "BEATMATCH_CATALOG_DEMO_SIZE": "300",
        "BEATMATCH_TELEGRAM_TOKEN": token or fake.token,
        "BEATMATCH_TELEGRAM_BASE_URL": fake.base_url,
        "BEATMATCH_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "BEATMATCH_WEB_PORT": str(port),
    }


async def _app(config: Config) -> Beatmatch:
    return await asyncio.to_thread(build, config, show_progress=False, simulated_heart=False)


async def _serving(runner: Runner) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(runner.serve())
    ready = asyncio.get_running_loop().create_task(runner.ready.wait())
    await asyncio.wait([task, ready], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # raises what went wrong
    assert runner.ready.is_set()
    return task


def _port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def test_everything_runs_in_one_loop_and_stops_on_request(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    config = load_config(env=_env(fake, tmp_path / "data"))
    app = await _app(config)
    runner = Runner(app, digest_tick=0.05)
    task = await _serving(runner)
    port = runner.web_port
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        assert (await response.json())["ok"] is True
    mark = len(fake.calls)
    await fake.send_update(message("/help"))
    await fake.wait_for("sendMessage", lambda c: "Commands" in c.text, after=mark)
    # Messages the bot starts (workouts, links, digests) go out through the runner's router.
    assert app.workouts.outbox is app.outbox and app.outbox.connected
    assert runner.router.fronts == {"telegram": runner.telegram}
    uid = await app.service.users.uid(ChatUser("telegram", str(ANN)))
    mark = len(fake.calls)
    await app.outbox.deliver(uid, Reply(text="a push from the core"))
    pushed = await fake.wait_for(
        "sendMessage", lambda c: "a push from the core" in c.text, after=mark
    )
    assert pushed.params["chat_id"] == ANN

    runner.request_stop("test over")
    await asyncio.wait_for(task, 30)
    assert _port_is_closed(port)
    calls = len(fake.calls)
    await asyncio.sleep(0.2)
    assert len(fake.calls) == calls  # nothing polls or sends any more


async def test_sigterm_stops_everything_cleanly(fake: FakeTelegram, tmp_path: Path) -> None:
    config = load_config(env=_env(fake, tmp_path / "data"))
    runner = Runner(await _app(config))
    task = await _serving(runner)
    port = runner.web_port
    os.kill(os.getpid(), signal.SIGTERM)  # the loop's handler asks the runner to stop
    await asyncio.wait_for(task, 30)
    assert _port_is_closed(port)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers removed again


async def test_a_token_telegram_refuses_fails_cleanly(fake: FakeTelegram, tmp_path: Path) -> None:
    config = load_config(env=_env(fake, tmp_path / "data", token="654321:not-the-right-one"))
    runner = Runner(await _app(config))
    with pytest.raises(RunFailed, match="telegram front could not start"):
        await asyncio.wait_for(runner.serve(), 30)
    assert runner.web_runner is None  # the web server was stopped again


async def test_a_taken_port_fails_cleanly(fake: FakeTelegram, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        config = load_config(env=_env(fake, tmp_path / "data", port=port))
        runner = Runner(await _app(config))
        with pytest.raises(RunFailed, match=f"could not listen on 127.0.0.1:{port}"):
            await asyncio.wait_for(runner.serve(), 30)
    assert not fake.sent("getMe")  # Telegram was never started


async def test_a_digest_that_fell_due_while_down_is_delivered_after_a_restart(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    config = load_config(env=_env(fake, tmp_path / "data"))
    first = Runner(await _app(config), digest_tick=0.05)
    task = await _serving(first)
    mark = len(fake.calls)
    await fake.send_update(message("/digest on"))
    await fake.wait_for("sendMessage", lambda c: "digest is on" in c.text, after=mark)
    first.request_stop()
    await asyncio.wait_for(task, 30)

    # While the bot is down, a week passes.
    app = await _app(config)
    uid = app.storage.users.user_id("telegram", str(ANN))
    state = app.storage.users.user_settings(uid)["digest"]
    app.storage.users.update_user_settings(uid, digest={**state, "due": time.time() - 1})

    second = Runner(app, digest_tick=0.05)
    mark = len(fake.calls)
    task = await _serving(second)
    digest = await fake.wait_for(
        "sendMessage", lambda c: "weekly beatmatch digest" in c.text, after=mark
    )
    assert digest.params["chat_id"] == ANN
    assert digest.text.count("https://open.spotify.com/track/") == 10
    assert len(digest.callback_data) == 20
    second.request_stop()
    await asyncio.wait_for(task, 30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_beatmatch_run_process_answers_and_exits_cleanly_on_sigterm(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(_env(fake, tmp_path / "data", port=_free_port()))
    environment["BEATMATCH_LOGGING_LEVEL"] = "DEBUG"  # even at DEBUG, no token in the log
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for("setMyCommands", timeout=60)
        mark = len(fake.calls)
        await fake.send_update(message("/help"))
        await fake.wait_for("sendMessage", lambda c: "Commands" in c.text, after=mark)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode("utf-8", errors="replace")
    assert process.returncode == 0, log[-3000:]
    assert "stopping: SIGTERM" in log and "beatmatch stopped cleanly" in log
    assert fake.token not in log and fake.token.split(":")[1] not in log


async def test_sigterm_during_a_training_stops_within_5_s_and_loses_nothing(
    fake: FakeTelegram, tmp_path: Path, shared_data: Path
) -> None:
    """A listener's library is being learned (in a worker process) when SIGTERM comes: the bot
    and its workers are gone within 5 s, and the imported library is all there afterwards."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(_env(fake, tmp_path / "data", port=_free_port()))
    environment["BEATMATCH_CATALOG_DEMO_SIZE"] = "20000"  # enough negatives for a long fit
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake.wait_for("setMyCommands", timeout=60)
        export = (shared_data / "exportify_user_a.csv").read_bytes()
        file_id = fake.add_file(export, "documents/liked.csv")
        mark = len(fake.calls)
        await fake.send_update(document(file_id, "liked.csv", len(export)))
        await fake.wait_for("sendMessage", lambda c: "Imported 720 tracks" in c.text, after=mark)
        workers = await _workers_of(process.pid)
        assert workers, "no worker process is training"
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        took = time.monotonic() - started
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode("utf-8", errors="replace")
    assert process.returncode == 0, log[-3000:]
    assert took <= 5.0, f"stopped in {took:.1f} s"
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and not _zombie(w)]
    assert "trained taste model" not in log  # it really was mid-training
    storage = Storage.open(tmp_path / "data" / DATABASE_FILE)
    try:
        uid = storage.users.find_user("telegram", str(ANN))
        assert uid is not None and storage.taste.library_size(uid) == 720
    finally:
        storage.close()


async def _workers_of(pid: int, timeout: float = 30.0) -> list[int]:
    """The worker processes ``pid`` started (spawned Python processes whose parent it is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status and b"spawn_main" in command:
                found.append(int(entry.name))
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


def _zombie(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
