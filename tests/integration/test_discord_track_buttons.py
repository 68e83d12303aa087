"""Every track a workout status DM announces comes with its 👍/👎 buttons, sent through the real
discord.py client to the fake Discord, and a press on one stores the feedback. (The digest's
buttons are the core's, checked in test_digest.py; rendering them, in test_discord_handlers.py.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import ChatUser
from tests.fakes.fake_discord import Request, custom_ids
from tests.integration.discord_rig import DiscordRig, core_discord_rig
from tests.integration.telegram_rig import heart_script

OWNER = 4242
GUILD = 880000000000000100
TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([A-Za-z0-9]{22})")


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[DiscordRig]:
    async with core_discord_rig(
        tmp_path, genre_dir, heart=heart_script((90.0, 40), (150.0, 80))
    ) as running:
        yield running


def _dm_with(text: str) -> object:
    def found(requests: list[Request]) -> Request | None:
        return next(
            (
                r
                for r in requests
                if r.method == "POST" and r.path.startswith("/channels/") and text in str(r.body)
            ),
            None,
        )

    return found


async def test_a_workout_status_dm_has_buttons_for_its_tracks(rig: DiscordRig) -> None:
    start = [{"name": "start", "type": 1, "options": []}]
    await rig.run("workout", start, user_id=OWNER, guild_id=GUILD)
    status: Request = await rig.fake.wait_for(_dm_with("First reading"))
    ids = TRACK_URL.findall(str(status.embeds[0].get("description")))
    assert len(ids) == 3
    assert status.custom_ids == [f"bm:fb:{a}:{t}" for t in ids for a in ("like", "dislike")]
    [message] = [m for m in rig.fake.with_buttons(f"bm:fb:like:{ids[0]}")]
    told = await rig.press(message, f"bm:fb:like:{ids[0]}", user_id=OWNER, guild_id=GUILD)
    assert "Noted: you liked" in told.data["content"]
    await rig.run("workout", [{"name": "stop", "type": 1, "options": []}], user_id=OWNER)
    await rig.fake.wait_for(
        lambda requests: any("Workout summary" in str(r.body) for r in requests)
    )
    uid = await rig.app.service.users.uid(ChatUser("discord", str(OWNER)))
    assert rig.app.storage.taste.feedback(uid) == {ids[0]: 1}
    assert custom_ids(message)  # the status message kept its buttons
