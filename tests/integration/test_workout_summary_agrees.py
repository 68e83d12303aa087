"""A recorded workout's summary, chart and messages tell the same story: every track the chart
marks and the summary counts was shown in a message, and the chart's headline has the summary's
average and peak (the stored samples are 5-second means, so a one-second peak would otherwise
read lower on the chart)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from bot.core.workout.manager import WorkoutManager
from storage.catalog_csv import read_catalog
from storage.database import Storage
from tests.conftest import CatalogFile
from tests.integration.test_workout_manager import (
    EASY,
    HARD,
    LIGHT,
    EnergyPicker,
    Inbox,
    ScriptedHeart,
    Streams,
    _played,
    _user,
    build_manager,
    script,
)

#: Easy, hard (with one 161 bpm reading among 158s), then light; long enough for a pick while the
#: zone holds (a track's length after the last one).
RECORDED = script((EASY, 240), (HARD - 2, 100), (HARD + 11, 1), (HARD - 2, 199), (LIGHT, 300))


@pytest.fixture
def tracks(tiny_catalog: CatalogFile) -> pd.DataFrame:
    return read_catalog(tiny_catalog.path)[0]


async def test_summary_counts_and_chart_agree_with_the_messages_sent(
    storage: Storage, tracks: pd.DataFrame, tmp_path: Path
) -> None:
    streams, inbox = Streams(), Inbox()
    uid = _user(storage)
    manager: WorkoutManager = build_manager(
        storage, tracks, EnergyPicker(tracks), streams, tmp_path, inbox=inbox, flush_every=0.01
    )
    streams.by_user[uid] = ScriptedHeart(RECORDED)
    try:
        await manager.start(uid, None, None)
        await _played(streams.by_user[uid])
        reply = await manager.stop(uid)
    finally:
        await manager.shutdown()

    shown = [card for u, message in inbox.messages if u == uid for card in message.tracks]
    zone_messages = inbox.zone_messages(uid)
    assert len(zone_messages) == 2 and len(shown) > 6  # the first reading's and later picks too
    assert f"{len(shown)} tracks suggested" in reply.text

    (chart,) = reply.charts
    png = Image.open(chart.path)
    marks = png.info["Description"].splitlines()
    assert [mark.split(" ", 1)[1] for mark in marks] == [card.name for card in shown]
    assert marks[0].startswith("0:00 "), "the first track is charted and was announced"
    first = next(m for u, m in inbox.messages if u == uid and m.tracks)
    assert first.text.startswith("First reading: heart at 90 bpm")

    text_figures = re.search(r"average (\d+) bpm, max (\d+) bpm", reply.text)
    chart_figures = re.search(r"avg (\d+) bpm, max (\d+) bpm", png.info["Title"])
    assert text_figures is not None and chart_figures is not None
    assert text_figures.groups() == chart_figures.groups()
    assert text_figures.group(2) == "161"
