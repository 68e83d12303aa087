"""Times on Discord are Discord timestamps (each reader's own time zone, and how far away),
while the console and Telegram keep the same words as before."""

from __future__ import annotations

from bot.chat.discord.render import messages
from bot.chat.telegram.render import messages as telegram_messages
from bot.core.replies import Moment, Reply

DUE = 1_796_000_000  # Thu 30 Nov 2026, 23:33 UTC


def test_a_date_becomes_a_discord_timestamp_with_its_distance() -> None:
    moment = Moment.of(DUE)
    reply = Reply(title="Weekly digest", text=f"next on {moment.text}.", moments=(moment,))
    [out] = messages(reply)
    assert out.embed is not None
    assert out.embed.description == f"next on <t:{DUE}:f> (<t:{DUE}:R>)."
    # Elsewhere the same reply still reads in UTC.
    assert f"next on {moment.text}." in reply.plain_text() and "UTC" in moment.text
    assert "UTC" in telegram_messages(reply)[0].text


def test_a_deadline_reads_until_a_time() -> None:
    expiry = Moment.within(600, "for 10 minutes", now=DUE - 600)
    reply = Reply(
        text=f"Open this link (it works once, {expiry.text}):\nhttps://x", moments=(expiry,)
    )
    [out] = messages(reply)
    assert out.embed is not None and out.embed.description is not None
    assert f"it works once, until <t:{DUE}:f> (<t:{DUE}:R>)" in out.embed.description
    assert "for 10 minutes" in reply.plain_text()
