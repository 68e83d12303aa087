"""/blend here on Discord: the members in the requester's voice channel (from the gateway's voice
states), consent first — a member who never allowed it is not scored and is asked with a button
only they can press, which opts them in; /privacy blend on; /start with catalog autocomplete.
Through the real discord.py client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import ChatUser
from tests.fakes.fake_discord import custom_ids
from tests.integration.discord_rig import DiscordRig, core_discord_rig
from tests.integration.telegram_rig import library_csv
from tests.rig import settle

ANN, BEA, CAL, OUTSIDER = 4242, 5151, 6161, 7171
GUILD, VOICE = 880000000000000100, 880000000000000200


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[DiscordRig]:
    async with core_discord_rig(tmp_path, genre_dir) as running:
        yield running


async def _libraries(rig: DiscordRig, tmp_path: Path) -> None:
    for user_id, genre in ((ANN, "acoustic"), (BEA, "metal"), (CAL, "acoustic")):
        data = library_csv(rig.app.service, tmp_path / f"{user_id}.csv", genre)
        await rig.app.service.taste.import_library(ChatUser("discord", str(user_id)), data=data)
    await settle(rig.app)


async def test_blend_here_serves_the_voice_channel_and_asks_who_has_not_allowed_it(
    rig: DiscordRig, tmp_path: Path
) -> None:
    await _libraries(rig, tmp_path)
    rig.guild(GUILD, {VOICE: [ANN, BEA, CAL]})
    for user_id in (ANN, BEA):
        allowed = await rig.run(
            "privacy",
            [
                {"name": "setting", "type": 3, "value": "blend"},
                {"name": "state", "type": 3, "value": "on"},
            ],
            user_id=user_id,
            guild_id=GUILD,
        )
        assert "may now be used" in str(allowed.body)
    answer = await rig.run(
        "blend", [{"name": "here", "type": 3, "value": "yes"}], user_id=ANN, guild_id=GUILD
    )
    text = str(answer.body)
    title = answer.body["embeds"][0]["title"]
    assert title.startswith("A blend for Ann and User5151:"), text  # Cal is never scored
    assert "User6161" not in answer.body["embeds"][0].get("footer", {}).get("text", "")
    assert "User6161: your taste can join" in text
    [asked] = rig.fake.with_buttons("bm:pv:on:")
    assert custom_ids(asked) == [f"bm:pv:on:{CAL}"]  # a consent button, not 👍/👎
    cal = await rig.app.service.users.uid(ChatUser("discord", str(CAL)))
    refused = await rig.press(asked, f"bm:pv:on:{CAL}", user_id=OUTSIDER, guild_id=GUILD)
    assert "only" in str(refused.body) or "for the member" in str(refused.body)
    assert not rig.app.service.blend.store.consent(cal)
    await rig.press(asked, f"bm:pv:on:{CAL}", user_id=CAL, guild_id=GUILD)
    await settle(rig.app)
    assert rig.app.service.blend.store.consent(cal)


async def test_blend_here_in_a_dm_says_it_needs_a_server(rig: DiscordRig) -> None:
    answer = await rig.run("blend", [{"name": "here", "type": 3, "value": "yes"}], user_id=ANN)
    assert "needs a server" in str(answer.body)


async def test_start_offers_catalog_seeds_and_takes_typed_artists(rig: DiscordRig) -> None:
    tracks = rig.app.service.catalog.tracks
    title = str(tracks["name"].iloc[0])
    offered = await rig.autocomplete("start", "seed1", title[:12], user_id=ANN)
    assert len(offered) > 1 and offered[0]["value"] == title[:12].strip()
    artists = list(dict.fromkeys(str(a).split(";")[0] for a in tracks["artists"]))[:3]
    options = [
        {"name": f"seed{n}", "type": 3, "value": v}
        for n, v in enumerate([offered[1]["value"], *artists], start=1)
    ]
    answer = await rig.run("start", options, user_id=ANN)
    assert "Your first guess" in str(answer.body), answer.body


async def test_a_long_blend_keeps_its_consent_button(rig: DiscordRig, tmp_path: Path) -> None:
    # 15 tracks is more than a page: a list with a consent ask is sent whole, not as pages that
    # would carry only the 👍/👎.
    await _libraries(rig, tmp_path)
    rig.guild(GUILD, {VOICE: [ANN, BEA, CAL]})
    for user_id in (ANN, BEA):
        await rig.run(
            "privacy",
            [
                {"name": "setting", "type": 3, "value": "blend"},
                {"name": "state", "type": 3, "value": "on"},
            ],
            user_id=user_id,
            guild_id=GUILD,
        )
    await rig.run(
        "blend",
        [{"name": "here", "type": 3, "value": "yes"}, {"name": "count", "type": 4, "value": 15}],
        user_id=ANN,
        guild_id=GUILD,
    )
    [asked] = rig.fake.with_buttons("bm:pv:on:")
    assert custom_ids(asked) == [f"bm:pv:on:{CAL}"]
