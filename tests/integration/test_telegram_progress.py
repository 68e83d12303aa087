"""Progress on Telegram: one message per command, edited as the work advances, removed when the
answer is out — through the real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.telegram.progress import ProgressMessage
from tests.fakes.fake_telegram import document
from tests.integration.telegram_rig import TelegramRig, library_csv, start_rig, stop_rig

ANN = 1001


@pytest.fixture
async def rig(tmp_path: Path, genre_dir: Path) -> AsyncIterator[TelegramRig]:
    started = await start_rig(tmp_path, genre_dir)
    yield started
    await stop_rig(started)


def progress(rig: TelegramRig, every: float) -> ProgressMessage:
    """A progress message in Ann's private chat, through the front's real Bot."""
    return ProgressMessage(rig.front.application.bot, ANN, every=every)


async def test_an_import_shows_one_progress_message_and_removes_it_with_the_answer(
    rig: TelegramRig, tmp_path: Path
) -> None:
    data = library_csv(rig.service, tmp_path / "liked.csv")
    file_id = rig.fake.add_file(data, "documents/file_1.csv")
    mark = len(rig.fake.calls)
    await rig.fake.send_update(document(file_id, "liked.csv", len(data), user_id=ANN))
    line = await rig.fake.wait_for("sendMessage", lambda c: "Read 36 tracks" in c.text, after=mark)
    await rig.fake.wait_for("sendMessage", lambda c: "Imported 36 tracks" in c.text, after=mark)
    deleted = await rig.fake.wait_for("deleteMessage", after=mark)
    assert line.text.startswith("… ")
    progress_id = 10_000 + rig.fake.calls.index(line) + 1
    assert deleted.params == {"chat_id": ANN, "message_id": progress_id}
    # What stays in the chat is the answer, not a trail of progress lines.
    assert [t for t in rig.fake.messages.values() if t.startswith("… ")] == []
    await rig.settle()


async def test_progress_lines_edit_one_message(rig: TelegramRig) -> None:
    notify = progress(rig, every=0)
    lines = ["Reading your library…", "Read 50 of 200…", "Read 100 of 200…", "Read 200 of 200…"]
    for line in lines:
        await notify(line)
    [sent] = rig.fake.sent("sendMessage")
    edits = rig.fake.sent("editMessageText")
    assert [c.text for c in [sent, *edits]] == ["… " + line for line in lines]
    first_id = 10_000 + rig.fake.calls.index(sent) + 1
    assert {c.params["message_id"] for c in edits} == {first_id}
    assert rig.fake.messages[(ANN, first_id)] == "… Read 200 of 200…"
    await notify("Read 200 of 200…")  # the same line again: nothing to change, no call
    assert len(rig.fake.sent("editMessageText")) == len(edits)


async def test_lines_that_come_too_fast_wait_and_only_the_newest_is_shown(
    rig: TelegramRig,
) -> None:
    notify = progress(rig, every=1.5)
    await notify("Read 10 of 40…")
    await notify("Read 20 of 40…")  # within the interval: waits…
    await notify("Read 30 of 40…")  # …and is replaced by this one
    edited = await rig.fake.wait_for("editMessageText")
    assert edited.text == "… Read 30 of 40…"
    assert len(rig.fake.sent("sendMessage")) == 1
    assert [c.text for c in rig.fake.sent("editMessageText")] == ["… Read 30 of 40…"]
    await notify.close()
    assert rig.fake.sent("deleteMessage")


async def test_edit_failures_are_taken_in_stride(
    rig: TelegramRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    notify = progress(rig, every=0)
    await notify("one…")
    rig.fake.fail("editMessageText", 400, "Bad Request: message is not modified")
    await notify("two…")
    assert len(rig.fake.sent("sendMessage")) == 1  # "not modified" is no failure
    # The user deleted the progress message: a new one takes its place, and is edited after.
    rig.fake.fail("editMessageText", 400, "Bad Request: message to edit not found")
    await notify("three…")
    sent = rig.fake.sent("sendMessage")
    assert [c.text for c in sent] == ["… one…", "… three…"]
    # A server error is logged; the next line edits the (new) message as before.
    rig.fake.fail("editMessageText", 500, "Internal Server Error")
    await notify("four…")
    await notify("five…")
    last = rig.fake.sent("editMessageText")[-1]
    assert last.text == "… five…"
    assert last.params["message_id"] == 10_000 + rig.fake.calls.index(sent[1]) + 1
    assert "could not be edited" in caplog.text
    assert "Traceback" not in "".join(r.getMessage() for r in caplog.records)
