"""Issue 12, item 12: a Spotify link address pasted by another chat user is refused without using
up the state, so the user it was issued to can still finish their own link with it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.oauth import LinkExpired, StateKeeper
from storage.database import Storage
from storage.spotify_cache import PROVIDER
from tests.integration.spotify_env import ANN, BOB, SpotifyEnv, spotify_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path) as e:
        yield e


async def test_someone_elses_paste_leaves_the_owners_link_working(env: SpotifyEnv) -> None:
    landed = await env.authorize(await env.say(ANN, "/link spotify"))

    refused = await env.say(BOB, landed)
    assert refused.error and "not yours" in refused.text
    assert env.spotify.grants == []  # Bob's paste never reached Spotify

    linked = await env.say(ANN, landed)
    await env.synced(ANN)
    assert not linked.error, linked.text
    assert "Linked to the Spotify account Ann Listener" in linked.text
    assert env.vault.load(await env.uid(ANN), PROVIDER) is not None
    assert env.vault.load(await env.uid(BOB), PROVIDER) is None
    again = await env.say(ANN, landed)  # still single-use once its owner used it
    assert again.error and "not valid any more" in again.text


def test_a_state_survives_other_users_and_is_used_once_by_its_owner(storage: Storage) -> None:
    keeper = StateKeeper(storage.accounts, base64.urlsafe_b64encode(b"k" * 32))
    ann = storage.users.user_id("telegram", "1", "Ann")
    bob = storage.users.user_id("discord", "2", "Bob")
    pending = keeper.issue(ann, "pulsoid")
    for _ in range(3):
        with pytest.raises(LinkExpired, match="not yours"):
            keeper.redeem(pending.state, "pulsoid", bob)
    assert keeper.redeem(pending.state, "pulsoid", ann).verifier == pending.verifier
    with pytest.raises(LinkExpired):
        keeper.redeem(pending.state, "pulsoid", ann)
