"""/healthz is liveness and /readyz readiness, through the real aiohttp client: readiness fails —
503, the failing check named — while another process holds the database's write lock or Telegram's
Bot API stops answering getUpdates, and comes back when they recover; liveness stays 200."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import build
from bot.config import load_config
from bot.core.catalog import demo_state
from bot.runner import Runner
from bot.web import bound_port, start_web
from storage.catalog_staging import import_lock
from storage.database import Storage
from tests.fakes.fake_telegram import FakeTelegram
from tests.rig import make_app, settle


async def _get(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.json()


async def _until(url: str, status: int, timeout: float = 30.0) -> dict[str, Any]:
    """Ask ``url`` until it answers ``status`` (PTB retries a failed poll after a growing pause)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got, body = await _get(url)
        if got == status:
            return body
        assert asyncio.get_running_loop().time() < deadline, (got, body)
        await asyncio.sleep(0.1)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """The core on a file database, served on a free loopback port; (base URL, database path)."""
    app = make_app(tmp_path, demo_state(200))
    runner: web.AppRunner = await start_web(app.service, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}", tmp_path / "db" / "beatmatch.db"
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()


async def test_ready_names_each_check(served: tuple[str, Path]) -> None:
    base, _ = served
    status, body = await _get(f"{base}/readyz")
    assert status == 200 and body["ok"] is True
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["catalog"] == {"ok": True, "detail": "200 tracks (demo)"}


async def test_a_locked_database_is_not_ready_until_released(served: tuple[str, Path]) -> None:
    base, path = served
    other = sqlite3.connect(path, isolation_level=None)  # another process's stuck write
    try:
        other.execute("BEGIN IMMEDIATE")
        status, body = await _get(f"{base}/readyz")
        assert status == 503 and body["ok"] is False
        assert body["checks"]["database"] == {"ok": False, "detail": "database is locked"}
        assert body["checks"]["catalog"]["ok"] is True
        live, _ = await _get(f"{base}/healthz")
        assert live == 200  # the process still serves: liveness is not readiness
        other.execute("ROLLBACK")
        status, body = await _get(f"{base}/readyz")
        assert status == 200 and body["checks"]["database"]["ok"] is True
    finally:
        other.close()


async def test_a_missing_database_file_is_not_ready(served: tuple[str, Path]) -> None:
    base, path = served
    moved = path.with_name("elsewhere.db")
    path.rename(moved)  # the volume went away under the running bot
    try:
        status, body = await _get(f"{base}/readyz")
        assert status == 503
        assert body["checks"]["database"] == {"ok": False, "detail": "unable to open database file"}
    finally:
        moved.rename(path)
    status, _ = await _get(f"{base}/readyz")
    assert status == 200


async def test_telegram_polling_that_fails_is_not_ready_until_it_recovers(tmp_path: Path) -> None:
    fake = FakeTelegram()
    await fake.start()
    config = load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data"),
            "BEATMATCH_CATALOG_DEMO_SIZE": "300",
            "BEATMATCH_TELEGRAM_TOKEN": fake.token,
            "BEATMATCH_TELEGRAM_BASE_URL": fake.base_url,
            "BEATMATCH_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "BEATMATCH_WEB_PORT": "0",
        }
    )
    app = await asyncio.to_thread(build, config, show_progress=False, simulated_heart=False)
    runner = Runner(app)
    task = asyncio.get_running_loop().create_task(runner.serve())
    try:
        await asyncio.wait_for(runner.ready.wait(), 30)
        url = f"http://127.0.0.1:{runner.web_port}/readyz"
        body = await _until(url, 200)
        assert body["checks"]["telegram"] == {"ok": True, "detail": "polling"}

        fake.down.add("getUpdates")  # the Bot API stops answering polls
        body = await _until(url, 503)
        assert body["checks"]["telegram"] == {
            "ok": False,
            "detail": "getUpdates answered HTTP 502",
        }
        assert body["checks"]["database"]["ok"] is True

        fake.down.clear()
        body = await _until(url, 200)
        assert body["checks"]["telegram"]["ok"] is True
    finally:
        runner.request_stop("test over")
        await asyncio.wait_for(task, 30)
        await fake.stop()


async def test_the_catalog_is_not_ready_while_an_import_replaces_it(
    served: tuple[str, Path],
) -> None:
    base, path = served
    importer = Storage.open(path)  # `beatmatch import-catalog` in another process
    try:
        with import_lock(importer.sql):
            status, body = await _get(f"{base}/readyz")
            assert status == 503 and body["ok"] is False
            catalog = body["checks"]["catalog"]
            assert catalog["ok"] is False and "catalog import is running" in catalog["detail"]
            assert body["checks"]["database"]["ok"] is True
        status, body = await _get(f"{base}/readyz")
        assert status == 200 and body["checks"]["catalog"]["ok"] is True
    finally:
        importer.close()
