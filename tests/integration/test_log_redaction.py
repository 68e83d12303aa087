"""Nothing from a callback's query string reaches a log — any logger, any level, tracebacks
included — even when the address is too long for aiohttp to parse (it would quote the start of the
request line at ERROR). Raw requests over a socket to the real web server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.core.catalog import demo_state
from bot.web import bound_port, start_web
from tests.fakes.pulsoid_rig import eventually
from tests.rig import make_app, settle

SECRETS = ("SECRETCODE", "SECRETSTATE")
FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[int]:
    """The web server of a core without Spotify, on a free loopback port."""
    app = make_app(tmp_path, demo_state(200))
    runner: web.AppRunner = await start_web(app.service, "127.0.0.1", 0)
    try:
        yield bound_port(runner)
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()


async def raw_get(port: int, target: str) -> bytes:
    """Send ``GET target`` as bytes (nothing checks or shortens it); the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


def status(answer: bytes) -> int:
    """The status code of a raw HTTP answer."""
    return int(answer.split(b" ", 2)[1])


def everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record as a handler would write it — traceback and stack included — plus its raw
    message and arguments (a handler of any format, at any level, sees no more than this)."""
    parts = []
    for record in records:
        parts += [FORMAT.format(record), str(record.msg), repr(record.args)]
        if record.exc_info:
            parts.append(FORMAT.formatException(record.exc_info))
    return "\n".join(parts)


def with_query(length: int, secrets_first: bool) -> str:
    """A callback address of ``length`` characters whose query holds the code and the state."""
    pairs = "code=SECRETCODE&state=SECRETSTATE"
    padding = "x" * (length - len("/callback/spotify?&pad=") - len(pairs))
    query = f"{pairs}&pad={padding}" if secrets_first else f"pad={padding}&{pairs}"
    return f"/callback/spotify?{query}"


def logged(caplog: pytest.LogCaptureFixture, words: str) -> Callable[[], bool]:
    return lambda: any(words in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("secrets_first", [True, False])
@pytest.mark.parametrize("length", [9_000, 20_000])
async def test_an_overlong_callback_address_is_refused_without_logging_its_query(
    port: int, caplog: pytest.LogCaptureFixture, length: int, secrets_first: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    target = with_query(length, secrets_first)
    assert len(target) == length
    answer = await raw_get(port, target)
    assert status(answer) == 400, answer[:200]
    # Nothing of the query reaches any log, at any level (aiohttp logs before it answers)…
    text = everything_logged(caplog.records)
    for secret in SECRETS:
        assert secret not in text
    assert "x" * 100 not in text
    # …and the operator is told, in one WARNING line, that a malformed request was refused.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [told] = [r for r in caplog.records if "refused a malformed request" in r.getMessage()]
    assert told.levelno == logging.WARNING and "\n" not in told.getMessage()
    assert not told.exc_info and not told.exc_text


async def test_a_normal_callback_logs_its_path_but_never_its_query(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await raw_get(port, "/callback/pulsoid?code=SECRETCODE&state=SECRETSTATE")
    assert status(answer) == 400, answer[:200]  # this bot issued no such state
    await eventually(logged(caplog, '"GET /callback/pulsoid" 400'))
    text = everything_logged(caplog.records)
    for secret in SECRETS:
        assert secret not in text
    assert "code=" not in text and "state=" not in text
