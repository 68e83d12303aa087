"""The size limits of an Exportify import hold in the core, for an upload and a console path
alike: too many bytes are refused before any parsing, too many rows before they are stored; the
message gives the limit."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Beatmatch
from bot.core.errors import BadInput
from bot.core.replies import ChatUser
from storage.exportify import MAX_BYTES, MAX_ROWS
from tests.conftest import EXPORTIFY_HEADER, tiny_exportify_rows, write_exportify
from tests.rig import make_app, settle

ANN = ChatUser("telegram", "1001", "Ann")
CON = ChatUser("console", "local", "you")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Beatmatch]:
    built = make_app(tmp_path, simulated_heart=False)
    yield built
    await settle(built)
    await built.shutdown()


def _too_many_rows(rows: int) -> bytes:
    """A small Exportify file (well under the byte limit) of ``rows`` distinct tracks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORTIFY_HEADER)
    blank = [""] * (len(EXPORTIFY_HEADER) - 3)
    for n in range(rows):
        writer.writerow([f"spotify:track:{n:022d}", "T", "", "A", *blank])
    return out.getvalue().encode()


def _library_size(app: Beatmatch, user: ChatUser) -> int:
    uid = app.storage.users.find_user(user.platform, user.user_id)
    return 0 if uid is None else app.storage.taste.library_size(uid)


async def test_an_upload_over_the_byte_limit_is_refused_before_parsing(app: Beatmatch) -> None:
    # Not a CSV at all: had it been parsed, the answer would be about its format.
    data = b"\x00" * (MAX_BYTES + 1)
    with pytest.raises(BadInput) as refused:
        await app.service.taste.import_library(ANN, data=data, filename="huge.csv")
    message = refused.value.message
    assert message.startswith("huge.csv is 20.0 MB")
    assert f"the limit is {MAX_BYTES // 2**20} MB ({MAX_ROWS:,} tracks)" in message
    assert "binary" not in message
    assert _library_size(app, ANN) == 0


async def test_a_file_under_the_byte_limit_with_too_many_rows_is_refused(
    app: Beatmatch, tmp_path: Path
) -> None:
    data = _too_many_rows(MAX_ROWS + 1)
    assert len(data) < MAX_BYTES
    with pytest.raises(BadInput) as refused:
        await app.service.taste.import_library(ANN, data=data, filename="everything.csv")
    assert refused.value.message.startswith(
        f"everything.csv holds more than {MAX_ROWS:,} tracks; the limit is {MAX_ROWS:,}."
    )
    assert _library_size(app, ANN) == 0

    path = tmp_path / "everything.csv"  # the console's path: the same limit
    path.write_bytes(data)
    with pytest.raises(BadInput, match=f"more than {MAX_ROWS:,} tracks"):
        await app.service.taste.import_library(CON, str(path))
    assert _library_size(app, CON) == 0


async def test_a_console_file_over_the_byte_limit_is_refused(
    app: Beatmatch, tmp_path: Path
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(BadInput, match=f"the limit is {MAX_BYTES // 2**20} MB"):
        await app.service.taste.import_library(CON, str(path))


async def test_a_file_at_the_row_limit_is_imported(app: Beatmatch, tmp_path: Path) -> None:
    rows = tiny_exportify_rows("acoustic", 30)
    path = write_exportify(tmp_path / "liked.csv", rows)
    reply = await app.service.taste.import_library(CON, str(path))
    assert "Imported 30 tracks" in reply.text
    data = _too_many_rows(MAX_ROWS)
    reply = await app.service.taste.import_library(ANN, data=data, filename="max.csv")
    assert f"Imported {MAX_ROWS} tracks" in reply.text
