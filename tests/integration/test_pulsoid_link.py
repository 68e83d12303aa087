"""Linking Pulsoid through the real aiohttp client against a fake Pulsoid on 127.0.0.1: pasted
tokens, the device flow, the OAuth code flow, refresh, 401s, unlink — and no token in any log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.core.accounts.pulsoid import PROVIDER, PulsoidRejected
from bot.core.dispatch import handle_text
from bot.core.errors import NeedsLink, UserFacingError
from bot.web import bound_port, start_web
from storage.database import Storage
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.pulsoid_rig import PulsoidRig, eventually, make_rig

PUBLIC_URL = "https://beatmatch.example.org"


async def consent(url: str) -> dict[str, list[str]]:
    """The user allows access in a browser; Pulsoid sends it back with code and state."""
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(url, allow_redirects=False) as page,
    ):
        location = page.headers["Location"]
    assert location.startswith(f"{PUBLIC_URL}/callback/pulsoid?")
    return parse_qs(urlsplit(location).query)


@pytest.fixture
async def fake() -> AsyncIterator[FakePulsoid]:
    server = FakePulsoid()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def rig(fake: FakePulsoid, storage: Storage, tmp_path: Path) -> AsyncIterator[PulsoidRig]:
    built = make_rig(fake, storage, tmp_path)
    yield built
    await built.close()


@pytest.fixture
async def web_rig(fake: FakePulsoid, storage: Storage, tmp_path: Path) -> AsyncIterator[PulsoidRig]:
    built = make_rig(fake, storage, tmp_path, public_url=PUBLIC_URL)
    yield built
    await built.close()


async def test_a_pasted_token_is_validated_and_stored_encrypted(
    rig: PulsoidRig, fake: FakePulsoid, storage: Storage
) -> None:
    token = fake.issue_token("profile-ann")
    reply = await handle_text(rig.service, rig.chat_user(), f"/link pulsoid {token}")
    assert not reply.error, reply.text
    assert "Pulsoid linked" in reply.text and "Delete the message" in reply.text
    assert reply.private
    uid = await rig.service.users.uid(rig.chat_user())
    assert ("GET", "/api/v1/token/validate", True) in fake.requests
    row = storage.accounts.get_link(uid, PROVIDER)
    assert row is not None and row["account_name"] == "profile-ann"
    assert token.encode() not in row["token_blob"]  # Fernet at rest
    stored = rig.vault.load(uid, PROVIDER)
    assert stored is not None and stored["access_token"] == token
    assert stored["kind"] == "manual"


@pytest.mark.parametrize("scopes", [(), ("profile:read",)])
async def test_a_token_pulsoid_refuses_or_without_heart_rate_scope_is_not_stored(
    rig: PulsoidRig, fake: FakePulsoid, storage: Storage, scopes: tuple[str, ...]
) -> None:
    token = fake.issue_token(scopes=scopes) if scopes else "0" * 32
    reply = await handle_text(rig.service, rig.chat_user(), f"/link pulsoid {token}")
    assert reply.error and "doesn't accept that token" in reply.text
    uid = await rig.service.users.uid(rig.chat_user())
    assert storage.accounts.get_link(uid, PROVIDER) is None


async def test_something_that_is_no_token_is_refused_without_calling_pulsoid(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    reply = await handle_text(rig.service, rig.chat_user(), "/link pulsoid abc")
    assert reply.error and "doesn't look like a Pulsoid token" in reply.text
    assert fake.requests == []


async def test_device_flow_links_once_the_user_types_the_code(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    fake.slow_down_polls = 1  # the poller must back off, not give up
    reply = await handle_text(rig.service, rig.chat_user(), "/link pulsoid")
    assert not reply.error, reply.text
    user_code = next(d.user_code for d in fake.devices.values())
    assert user_code in reply.text and f"{fake.base_url}activate" in reply.text
    uid = await rig.service.users.uid(rig.chat_user())
    await eventually(lambda: any(d.polls >= 3 for d in fake.devices.values()))
    assert not rig.inbox.texts(uid)
    fake.approve_device(user_code, "profile-dev")
    await eventually(lambda: rig.inbox.containing(uid, "Pulsoid linked"))
    stored = rig.vault.load(uid, PROVIDER)
    assert stored is not None and stored["kind"] == "device" and stored["refresh_token"]
    assert await rig.accounts.access_token(uid) == stored["access_token"]


async def test_device_flow_declined_says_so_and_links_nothing(
    rig: PulsoidRig, fake: FakePulsoid, storage: Storage
) -> None:
    await handle_text(rig.service, rig.chat_user(), "/link pulsoid")
    uid = await rig.service.users.uid(rig.chat_user())
    fake.deny_device(next(d.user_code for d in fake.devices.values()))
    await eventually(lambda: rig.inbox.containing(uid, "declined"))
    assert storage.accounts.get_link(uid, PROVIDER) is None


async def test_code_flow_through_the_callback_links_and_the_state_is_single_use(
    web_rig: PulsoidRig, fake: FakePulsoid
) -> None:
    reply = await handle_text(web_rig.service, web_rig.chat_user(), "/link pulsoid")
    url = reply.text.split("\n")[-1]
    assert url.startswith(f"{fake.base_url}oauth2/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/callback/pulsoid"]
    assert query["scope"] == ["data:heart_rate:read"]
    back = await consent(url)
    page = await web_rig.service.accounts.pulsoid_callback(back["state"][0], back["code"][0])
    assert "linked" in page
    uid = await web_rig.service.users.uid(web_rig.chat_user())
    assert web_rig.inbox.containing(uid, "Pulsoid linked")
    stored = web_rig.vault.load(uid, PROVIDER)
    assert stored is not None and stored["kind"] == "oauth"
    with pytest.raises(UserFacingError, match="not valid any more"):  # the web server's 400
        await web_rig.service.accounts.pulsoid_callback(back["state"][0], back["code"][0])
    with pytest.raises(UserFacingError, match="cancelled"):
        await web_rig.service.accounts.pulsoid_callback("", "", error="access_denied")


async def test_a_token_about_to_expire_is_refreshed_and_the_new_pair_stored_at_once(
    rig: PulsoidRig, fake: FakePulsoid
) -> None:
    uid = await rig.user()
    old = fake.issue_token("profile-r", expires_in=600, with_refresh=True)
    old_refresh = fake.grants[old].refresh_token
    await rig.accounts.link_pasted(uid, old)
    stored = rig.vault.load(uid, PROVIDER)
    assert stored is not None
    rig.vault.update(uid, PROVIDER, {**stored, "refresh_token": old_refresh})
    fresh = await rig.accounts.access_token(uid)
    assert fresh != old and old not in fake.grants  # Pulsoid killed the old pair
    stored = rig.vault.load(uid, PROVIDER)
    assert stored is not None and stored["access_token"] == fresh
    assert stored["refresh_token"] != old_refresh
    assert await rig.accounts.access_token(uid) == fresh  # valid a year now: no second refresh


async def test_a_revoked_token_asks_the_user_to_link_again_and_starts_no_workout(
    rig: PulsoidRig, fake: FakePulsoid, storage: Storage
) -> None:
    uid = await rig.user()
    token = await rig.link(uid)
    fake.revoke_token(token)
    with pytest.raises(PulsoidRejected, match="/link pulsoid"):
        await rig.accounts.access_token(uid)
    reply = await handle_text(rig.service, rig.chat_user(), "/workout start goal:3")
    assert reply.error and "Link it again: /link pulsoid" in reply.text
    assert storage.workouts.open_workouts(uid) == []


async def test_without_a_link_the_workout_asks_for_one(rig: PulsoidRig) -> None:
    await rig.user()
    with pytest.raises(NeedsLink):
        await rig.accounts.access_token(await rig.service.users.uid(rig.chat_user()))
    reply = await handle_text(rig.service, rig.chat_user(), "/workout start")
    assert reply.error and "/link pulsoid" in reply.text


async def test_unlink_revokes_at_pulsoid_and_deletes_the_tokens(
    rig: PulsoidRig, fake: FakePulsoid, storage: Storage
) -> None:
    uid = await rig.user()
    token = await rig.link(uid)
    reply = await handle_text(rig.service, rig.chat_user(), "/unlink pulsoid")
    assert "unlinked" in reply.text
    assert token not in fake.grants
    assert storage.accounts.get_link(uid, PROVIDER) is None
    again = await handle_text(rig.service, rig.chat_user(), "/unlink pulsoid")
    assert "No Pulsoid account" in again.text


async def test_without_a_client_id_only_a_pasted_token_links(
    fake: FakePulsoid, storage: Storage, tmp_path: Path
) -> None:
    rig = make_rig(fake, storage, tmp_path)
    rig.accounts.oauth_enabled = False
    try:
        reply = await handle_text(rig.service, rig.chat_user(), "/link pulsoid")
        assert reply.error and "pulsoid.net/ui/keys" in reply.text
    finally:
        await rig.close()


async def test_no_token_ever_reaches_a_log_or_a_url(
    web_rig: PulsoidRig, fake: FakePulsoid, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service, inbox = web_rig.service, web_rig.inbox
    pasted = fake.issue_token("profile-log")
    await handle_text(service, web_rig.chat_user("a"), f"/link pulsoid {pasted}")
    reply = await handle_text(service, web_rig.chat_user("b"), "/link pulsoid")
    back = await consent(reply.text.split("\n")[-1])
    await service.accounts.pulsoid_callback(back["state"][0], back["code"][0])
    uid_a = await service.users.uid(web_rig.chat_user("a"))
    await handle_text(service, web_rig.chat_user("a"), "/workout start")
    await eventually(lambda: web_rig.manager.live[uid_a].session.summary().samples >= 5)
    await fake.drop_connections()  # a reconnect re-validates the token
    await eventually(lambda: len(fake.sockets) == 1)
    fake.revoke_token(pasted)  # and a 401 is logged and told
    await eventually(lambda: inbox.containing(uid_a, "/link pulsoid"))
    uid_b = await service.users.uid(web_rig.chat_user("b"))
    stored_b = web_rig.vault.load(uid_b, PROVIDER)
    assert stored_b is not None
    secrets = [pasted, back["code"][0], stored_b["access_token"], stored_b["refresh_token"]]
    # The fake server's own access log is Pulsoid's, not ours; the browser's consent request
    # carries the state by design. Everything beatmatch logged or requested is checked.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    bot_paths = [path for _, path, _ in fake.requests if not path.startswith("/oauth2/authorize")]
    assert len(ours) > 0 and len(bot_paths) > 5
    for secret in secrets:
        assert secret not in ours
        assert not any(secret in path for path in bot_paths)
    assert not any("access_token" in path or "?" in path for path in bot_paths)


async def test_code_flow_end_to_end_through_the_web_server(
    rig: PulsoidRig, fake: FakePulsoid, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    runner = await start_web(rig.service, "127.0.0.1", 0)
    try:
        rig.accounts.public_url = f"http://127.0.0.1:{bound_port(runner)}"
        reply = await handle_text(rig.service, rig.chat_user(), "/link pulsoid")
        async with (
            aiohttp.ClientSession() as browser,
            browser.get(reply.text.split("\n")[-1]) as page,  # consent, then back to beatmatch
        ):
            text = await page.text()
            landed = str(page.url)
        assert page.status == 200 and "is linked" in text
        assert landed.startswith(f"{rig.accounts.public_url}/callback/pulsoid?code=")
        uid = await rig.service.users.uid(rig.chat_user())
        assert rig.inbox.containing(uid, "Pulsoid linked")
        assert rig.vault.load(uid, PROVIDER) is not None
        code = parse_qs(urlsplit(landed).query)["code"][0]
        ours = [r.getMessage() for r in caplog.records if "callback/pulsoid" in r.getMessage()]
        assert ours and not any(code in line for line in ours)  # paths only in the access log
    finally:
        await runner.cleanup()
