"""``beatmatch serve`` as ``docker run -d`` starts it: a real ``python -m bot serve`` process with
no chat token and stdin on /dev/null stays up, serves ``/healthz``, warns that no chat front is
configured, and ends with exit 0 on SIGTERM (where the console would have exited at once)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.conftest import OFFLINE_RECCOBEATS, ROOT

NO_FRONT = (
    "WARNING bot.runner: no chat front configured: set telegram.token or discord.token "
    "(BEATMATCH_TELEGRAM_TOKEN / BEATMATCH_DISCORD_TOKEN); serving the web app only"
)
START_S = 120  # building the core on a busy shared machine
STOP_S = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def healthz(process: asyncio.subprocess.Process, url: str) -> dict[str, object]:
    """Ask ``url`` until it answers 200 (the body); AssertionError if the process ends first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_S
    async with aiohttp.ClientSession() as client:
        while True:
            assert process.returncode is None, f"beatmatch serve exited with {process.returncode}"
            try:
                async with client.get(url) as response:
                    if response.status == 200:
                        body: dict[str, object] = await response.json()
                        return body
            except aiohttp.ClientConnectionError:
                pass  # not listening yet
            assert loop.time() < deadline, f"/healthz did not answer within {START_S} s"
            await asyncio.sleep(0.2)


async def test_serve_without_tokens_stays_up_on_a_closed_stdin_until_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data"),
            "BEATMATCH_CATALOG_DEMO_SIZE": "300",
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "BEATMATCH_WEB_HOST": "127.0.0.1",
            "BEATMATCH_WEB_PORT": str(port),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=ROOT, env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        body = await healthz(process, f"http://127.0.0.1:{port}/healthz")
        assert body["ok"] is True and body["demo"] is True
        # Up, with stdin long at its end: asked again, it still answers.
        assert (await healthz(process, f"http://127.0.0.1:{port}/healthz"))["ok"] is True
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), STOP_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode("utf-8", errors="replace")
    assert process.returncode == 0, log[-3000:]
    assert log.count(NO_FRONT) == 1, log[-3000:]
    assert "stopping: SIGTERM" in log and "beatmatch stopped cleanly" in log
    assert "Traceback" not in log and not stdout  # no console prompt, nothing on stdout
