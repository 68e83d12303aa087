"""Pulsoid's OAuth callback as the browser sees it (the real aiohttp client, the real web server, a
fake Pulsoid on 127.0.0.1): a link that worked is a 200 page; a state that is unknown or already
used, or a consent the user cancelled, is a 400 "Not linked" page, as Spotify's callback answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.core.accounts.pulsoid import PROVIDER
from bot.core.dispatch import handle_text
from bot.web import bound_port, start_web
from storage.database import Storage
from tests.fakes.fake_pulsoid import FakePulsoid
from tests.fakes.pulsoid_rig import PulsoidRig, make_rig


@pytest.fixture
async def served(storage: Storage, tmp_path: Path) -> AsyncIterator[tuple[PulsoidRig, str]]:
    """A rig against a fake Pulsoid and the web server its callbacks come back to."""
    fake = FakePulsoid()
    await fake.start()
    rig = make_rig(fake, storage, tmp_path)
    runner = await start_web(rig.service, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    rig.accounts.public_url = base
    try:
        yield rig, base
    finally:
        await runner.cleanup()
        await rig.close()
        await fake.close()


async def fetch(url: str) -> tuple[int, str, str]:
    """GET ``url`` in a browser that follows redirects: (status, page, the address it ended at)."""
    async with aiohttp.ClientSession() as browser, browser.get(url) as page:
        return page.status, await page.text(), str(page.url)


async def test_a_replayed_state_gets_a_400_page_and_links_nothing_more(
    served: tuple[PulsoidRig, str],
) -> None:
    rig, base = served
    reply = await handle_text(rig.service, rig.chat_user(), "/link pulsoid")
    status, page, landed = await fetch(reply.text.split("\n")[-1])  # consent, back to us
    assert landed.startswith(f"{base}/callback/pulsoid?code=")
    assert status == 200 and "is linked" in page
    uid = await rig.service.users.uid(rig.chat_user())
    first = rig.vault.load(uid, PROVIDER)
    assert first is not None
    told = len(rig.inbox.messages)

    status, page, _ = await fetch(landed)  # the same address again (history, a reload, a replay)
    assert status == 400
    assert "<h1>Not linked</h1>" in page and "not valid any more" in page
    assert "/link pulsoid" in page
    assert rig.vault.load(uid, PROVIDER) == first  # the stored tokens are untouched
    assert len(rig.inbox.messages) == told  # and nobody is told "linked" twice


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("code=abc&state=never-issued.by-this-bot", "not valid any more"),
        ("code=abc", "not valid any more"),  # no state at all
        ("error=access_denied&state=n.s", "cancelled"),
    ],
)
async def test_an_invalid_state_or_a_cancelled_consent_gets_a_400_page(
    served: tuple[PulsoidRig, str], query: str, words: str
) -> None:
    rig, base = served
    status, page, _ = await fetch(f"{base}/callback/pulsoid?{query}")
    assert status == 400
    assert "<!doctype html>" in page and "<h1>Not linked</h1>" in page
    assert words in page and "/link pulsoid" in page
    assert not [path for _, path, _ in rig.fake.requests if path.startswith("/oauth2/token")]
