"""Telegram beyond one private chat: the webhook route with its secret token (when the bot has a
public address), and private answers asked for in a group (a deep link when no private chat
exists yet)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from bot.app import Beatmatch
from bot.chat.telegram import WEBHOOK_PATH
from bot.chat.telegram.front import SECRET_HEADER
from bot.web import create_app
from tests.fakes import serve
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.fake_telegram import BOT_USERNAME, message
from tests.integration.telegram_rig import (
    TelegramRig,
    make_core,
    start_front,
    start_rig,
    stop_rig,
)
from tests.rig import rig_config, settle

PUBLIC = "https://beatmatch.example"
ANN, GROUP = 1001, -5005


@pytest.fixture
async def hooked(tmp_path: Path, genre_dir: Path) -> AsyncIterator[tuple[TelegramRig, str]]:
    """A webhook-mode front and the web server carrying its route: (rig, server address)."""
    rig = await start_rig(tmp_path, genre_dir, public_url=PUBLIC)
    app = create_app(rig.service)
    app.router.add_post(WEBHOOK_PATH, rig.front.webhook)
    runner, base = await serve(app)
    try:
        yield rig, base
    finally:
        await runner.cleanup()
        await stop_rig(rig)


async def test_webhook_mode_sets_the_webhook_with_a_secret_and_never_polls(
    hooked: tuple[TelegramRig, str],
) -> None:
    rig, _ = hooked
    [call] = rig.fake.sent("setWebhook")
    assert call.params["url"] == PUBLIC + WEBHOOK_PATH
    assert len(call.params["secret_token"]) >= 32
    assert rig.fake.token not in call.params["secret_token"]
    assert rig.fake.token.split(":")[1] not in call.params["url"]
    assert not rig.fake.sent("deleteWebhook")  # polling would have removed it first


async def test_an_update_posted_with_the_secret_is_answered(
    hooked: tuple[TelegramRig, str],
) -> None:
    rig, base = hooked
    update = {"update_id": 7, **message("/help")}
    headers = {SECRET_HEADER: rig.front.secret}
    async with (
        aiohttp.ClientSession() as client,
        client.post(base + WEBHOOK_PATH, json=update, headers=headers) as response,
    ):
        assert response.status == 200
    reply = await rig.fake.wait_for("sendMessage", lambda c: "Commands" in c.text)
    assert reply.params["chat_id"] == ANN


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b'{"update_id": 1}', 403),
        ({SECRET_HEADER: "wrong"}, b'{"update_id": 1}', 403),
        ("secret", b"not json", 400),
    ],
)
async def test_the_webhook_refuses_strangers_and_garbage(
    hooked: tuple[TelegramRig, str], headers: dict[str, str] | str, body: bytes, status: int
) -> None:
    rig, base = hooked
    sent = {SECRET_HEADER: rig.front.secret} if headers == "secret" else headers
    async with (
        aiohttp.ClientSession() as client,
        client.post(base + WEBHOOK_PATH, data=body, headers=sent) as response,
    ):
        assert response.status == status
    assert not rig.fake.sent("sendMessage")


# -- private answers asked for in a group ---------------------------------------------------------
@pytest.fixture
async def pulsoid(tmp_path: Path, genre_dir: Path) -> AsyncIterator[tuple[FakePulsoid, Beatmatch]]:
    """A FakePulsoid and a core whose Pulsoid app is it (a client id: the device flow)."""
    fake = FakePulsoid()
    base = await fake.start()
    config = rig_config(
        tmp_path,
        BEATMATCH_PULSOID_CLIENT_ID=fake.client_id,
        BEATMATCH_PULSOID_CLIENT_SECRET=fake.client_secret,
        BEATMATCH_PULSOID_API_BASE=base,
        BEATMATCH_PULSOID_OAUTH_BASE=base,
    )
    app = make_core(tmp_path, genre_dir, config=config)
    try:
        yield fake, app
    finally:
        await settle(app)
        await app.shutdown()
        await fake.close()


async def test_a_private_answer_in_a_group_goes_to_the_private_chat(
    pulsoid: tuple[FakePulsoid, Beatmatch],
) -> None:
    _, app = pulsoid
    fake, front, _ = await start_front(app)
    try:
        mark = len(fake.calls)
        await fake.send_update(message("/link pulsoid", chat_id=GROUP, kind="group"))
        private = await fake.wait_for(
            "sendMessage", lambda c: "enter the code" in c.text, after=mark
        )
        told = await fake.wait_for("sendMessage", lambda c: "private message" in c.text, after=mark)
        assert private.params["chat_id"] == ANN
        assert told.params["chat_id"] == GROUP
        assert told.params["reply_parameters"]["message_id"] == 1  # quotes the command in a group
    finally:
        await front.stop()
        await fake.stop()


async def test_without_a_private_chat_a_deep_link_picks_up_in_private(
    pulsoid: tuple[FakePulsoid, Beatmatch],
) -> None:
    _, app = pulsoid
    fake, front, _ = await start_front(app)
    try:
        fake.blocked_chats.add(ANN)  # Ann never opened a private chat with the bot
        mark = len(fake.calls)
        await fake.send_update(message("/link pulsoid", chat_id=GROUP, kind="group"))
        offer = await fake.wait_for("sendMessage", lambda c: bool(c.button_urls), after=mark)
        assert offer.params["chat_id"] == GROUP
        [url] = offer.button_urls
        link = urlparse(url)
        assert link.netloc == "t.me" and link.path == f"/{BOT_USERNAME}"
        [payload] = parse_qs(link.query)["start"]
        assert payload == "link_pulsoid"
        assert "enter the code" not in offer.text  # nothing private leaked into the group

        fake.blocked_chats.clear()  # Ann taps the button: Telegram sends /start PAYLOAD
        mark = len(fake.calls)
        await fake.send_update(message(f"/start {payload}", user_id=ANN))
        private = await fake.wait_for(
            "sendMessage", lambda c: "enter the code" in c.text, after=mark
        )
        assert private.params["chat_id"] == ANN
    finally:
        await front.stop()
        await fake.stop()
