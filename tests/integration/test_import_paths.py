"""``/import PATH`` of a path that can't be read says why, in words: a name too long, a folder
that is a file, no permission, a character no file name has, a home folder that isn't there."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Beatmatch
from bot.core.errors import BadInput
from bot.core.replies import ChatUser
from tests.conftest import ExportifyFile
from tests.rig import make_app, settle

CON = ChatUser("console", "local", "you")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Beatmatch]:
    built = make_app(tmp_path, simulated_heart=False)
    yield built
    await settle(built)
    await built.shutdown()


async def _refusal(app: Beatmatch, path: str) -> str:
    with pytest.raises(BadInput) as refused:
        await app.service.taste.import_library(CON, path)
    return refused.value.message


async def test_a_name_longer_than_the_file_system_allows(app: Beatmatch, tmp_path: Path) -> None:
    path = str(tmp_path / ("liked" * 60 + ".csv"))  # one name of 304 characters
    assert len(path) < 1024
    message = await _refusal(app, path)
    assert message.startswith("That file name is too long: one part of the path has 304")
    assert "at most 255" in message


async def test_a_folder_in_the_path_that_is_a_file(
    app: Beatmatch, tiny_exportify: ExportifyFile
) -> None:
    message = await _refusal(app, str(tiny_exportify.path / "liked.csv"))
    assert message.endswith("a part of that path is a file, not a folder.")
    assert message.startswith("There is no file at ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder (test_import_paths e2e)")
async def test_a_folder_without_permission(app: Beatmatch, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "liked.csv").write_text("Track URI\n")
    locked.chmod(0)
    try:
        message = await _refusal(app, str(locked / "liked.csv"))
    finally:
        locked.chmod(0o700)
    assert message.startswith(f"I can't read {str(locked)[:40]}")
    assert "liked.csv: permission denied." in message


async def test_a_path_with_a_nul_character(app: Beatmatch, tmp_path: Path) -> None:
    message = await _refusal(app, f"{tmp_path}/liked\x00.csv")
    assert message == "That path holds a character no file name can have."


async def test_the_home_folder_of_nobody_known(app: Beatmatch) -> None:
    message = await _refusal(app, "~no-such-listener-here/liked.csv")
    assert message == "There is no file at ~no-such-listener-here/liked.csv: no such home folder."


async def test_a_fifo_is_not_a_file_and_is_never_opened(app: Beatmatch, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    message = await _refusal(app, str(fifo))
    # A long path is shortened in the middle; its start and its file name stay.
    assert message.startswith(str(fifo)[:40])
    assert message.endswith("pipe.csv is not a file.")
