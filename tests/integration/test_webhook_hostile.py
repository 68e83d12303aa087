"""Telegram's webhook route against hostile requests, with the real aiohttp client (and raw bytes
over a socket where the client would refuse to send them) to the web app on 127.0.0.1, Telegram
in webhook mode against the fake Bot API: a wrong, missing or non-ASCII secret is a 403; with the
secret, a body that is not an update is a 400 (413 when too large) — never a 500, never a
traceback, at most one WARNING line that quotes nothing of the request — and the bot goes on."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.chat.telegram import WEBHOOK_PATH
from bot.chat.telegram.front import SECRET_HEADER
from bot.web import create_app
from tests.fakes import serve
from tests.fakes.fake_telegram import message
from tests.integration.telegram_rig import TelegramRig, start_rig, stop_rig

PUBLIC = "https://beatmatch.example"
MARK = "HOSTILE"  # in every hostile value: it must not show up in any log


@pytest.fixture
async def hooked(tmp_path: Path, genre_dir: Path) -> AsyncIterator[tuple[TelegramRig, str]]:
    """A webhook-mode front and the web app carrying its route, as the runner serves them."""
    rig = await start_rig(tmp_path, genre_dir, public_url=PUBLIC)
    app = create_app(rig.service)
    app.router.add_post(WEBHOOK_PATH, rig.front.webhook)
    runner, base = await serve(app)
    try:
        yield rig, base
    finally:
        await runner.cleanup()
        await stop_rig(rig)


def update(**message_changes: Any) -> dict[str, Any]:
    """A /help update from a private chat, with some of its message's fields replaced."""
    body = {"update_id": 7, **message("/help")}
    body["message"] = {**body["message"], **message_changes}
    return body


def nested(levels: int) -> bytes:
    """A message quoting a message quoting a message… ``levels`` deep (JSON can hold it; building
    python-telegram-bot's objects from it cannot)."""
    inner = json.dumps(update()["message"])
    quoting = inner[:-1] + ', "reply_to_message": '
    return f'{{"update_id": 7, "message": {quoting * levels}{inner}{"}" * levels}}}'.encode()


def encoded(value: object) -> bytes:
    return json.dumps(value).encode()


NOT_UPDATES: dict[str, tuple[bytes, int]] = {
    "a list": (b"[1,2]", 400),
    "a number": (b"42", 400),
    "a string": (encoded(MARK), 400),
    "null": (b"null", 400),
    "an empty object": (b"{}", 400),
    "update_id as text": (encoded({"update_id": MARK}), 400),
    "update_id as a boolean": (b'{"update_id": true}', 400),
    "message as text": (encoded({"update_id": 7, "message": MARK}), 400),
    "message without chat": (
        encoded({"update_id": 7, "message": {"message_id": 1, "date": 0}}),
        400,
    ),
    "chat id as text": (encoded(update(chat={"id": MARK, "type": "private"})), 400),
    "sender without id": (encoded(update(**{"from": {"first_name": MARK, "is_bot": False}})), 400),
    "text as a list": (encoded(update(text=[MARK])), 400),
    "date out of range": (encoded(update(date=10**30)), 400),
    "entities as text": (encoded(update(entities=MARK)), 400),
    "callback data as a number": (
        encoded(
            {
                "update_id": 7,
                "callback_query": {
                    "id": MARK,
                    "from": update()["message"]["from"],
                    "chat_instance": MARK,
                    "data": 5,
                },
            }
        ),
        400,
    ),
    "50,000-deep nesting": (b"[" * 50_000 + b"]" * 50_000, 400),
    "900 quoted messages": (nested(900), 400),
    "invalid JSON": (f'{{"update_id": 7, {MARK}'.encode(), 400),
    "not UTF-8": (b'{"update_id": 7, "x": "\xff\xfe"}', 400),
    "a huge string": (encoded(MARK + "x" * 900_000), 400),
    "a body over a megabyte": (b'{"update_id": 7, "x": "' + b"x" * 2_000_000 + b'"}', 413),
}


def loud(caplog: pytest.LogCaptureFixture, since: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records[since:] if r.levelno >= logging.WARNING]


def assert_quiet(caplog: pytest.LogCaptureFixture, since: int, case: str) -> None:
    """At most one WARNING line about the request, no traceback, nothing of it quoted."""
    records = loud(caplog, since)
    assert len(records) <= 1, (case, [r.getMessage() for r in records])
    for record in records:
        assert record.levelno == logging.WARNING, (case, record.getMessage())
        assert not record.exc_info and not record.exc_text, case
        assert "\n" not in record.getMessage(), case
    assert MARK not in caplog.text, case


async def test_requests_without_the_right_secret_are_refused_with_403(
    hooked: tuple[TelegramRig, str], caplog: pytest.LogCaptureFixture
) -> None:
    rig, base = hooked
    caplog.set_level(logging.DEBUG)
    body = encoded(update())
    wrong = {
        "no header": {},
        "a wrong one": {SECRET_HEADER: MARK},
        "non-ASCII": {SECRET_HEADER: f"sécret-{MARK}-ü"},
        "the secret plus a non-ASCII letter": {SECRET_HEADER: rig.front.secret + "é"},
    }
    async with aiohttp.ClientSession() as client:
        for case, headers in wrong.items():
            since = len(caplog.records)
            async with client.post(base + WEBHOOK_PATH, data=body, headers=headers) as response:
                assert response.status == 403, case
            assert_quiet(caplog, since, case)
    # Bytes that are not UTF-8 at all, which only a raw socket sends.
    since = len(caplog.records)
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n".encode()
        + SECRET_HEADER.encode()
        + b": \xff\xfe"
        + MARK.encode()
        + f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    answer = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert_quiet(caplog, since, "not UTF-8")
    assert not rig.fake.sent("sendMessage")  # none of them reached the bot


async def test_bodies_that_are_not_updates_are_refused_and_the_bot_goes_on(
    hooked: tuple[TelegramRig, str], caplog: pytest.LogCaptureFixture
) -> None:
    rig, base = hooked
    caplog.set_level(logging.DEBUG)
    headers = {SECRET_HEADER: rig.front.secret, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as client:
        for case, (body, status) in NOT_UPDATES.items():
            since = len(caplog.records)
            async with client.post(base + WEBHOOK_PATH, data=body, headers=headers) as response:
                assert response.status == status, (case, await response.text())
            assert_quiet(caplog, since, case)
        # A real update after all that is answered as usual.
        mark = len(rig.fake.calls)
        async with client.post(base + WEBHOOK_PATH, json=update(), headers=headers) as response:
            assert response.status == 200
    reply = await rig.fake.wait_for("sendMessage", lambda c: "Commands" in c.text, after=mark)
    assert reply.params["chat_id"] == update()["message"]["chat"]["id"]
    assert len(rig.fake.sent("sendMessage")) == 1  # no garbage got through to a handler
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
