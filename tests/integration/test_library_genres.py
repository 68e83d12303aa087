"""/genre and /similar of a library track the catalog does not label: the Exportify file's
"Genres" (Spotify's artist genres) move the classifier's call, through the real core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from bot.app import Beatmatch
from bot.core.catalog import CatalogState
from bot.core.replies import ChatUser
from storage.catalog_csv import read_catalog
from tests.conftest import (
    catalog_exportify_rows,
    tiny_catalog_rows,
    tiny_exportify_rows,
    track_id_for,
    write_catalog,
    write_exportify,
)
from tests.rig import genre_ready, make_app, settle

ANN = ChatUser("telegram", "1001", "Ann")
BOB = ChatUser("discord", "2002", "Bob")
GENRES = 10  # the "Genres" column of an Exportify row
EAST_COAST = "east coast hip hop"


def _rap_catalog(tmp_path: Path) -> CatalogState:
    """The tiny catalog with its loud, energetic genre named hip-hop (artists "Hip-Hop Artist n")."""
    rows = tiny_catalog_rows()
    rap = rows["track_genre"] == "metal"
    rows.loc[rap, "track_genre"] = "hip-hop"
    rows.loc[rap, "artists"] = rows.loc[rap, "artists"].str.replace("Metal", "Hip-Hop")
    tracks, labels = read_catalog(write_catalog(tmp_path / "rap.csv", rows))
    return CatalogState(tracks, labels, is_demo=False)


@pytest.fixture
async def app(tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    built = make_app(tmp_path, _rap_catalog(tmp_path), genre_dir=genre_dir)
    await genre_ready(built)
    try:
        yield built
    finally:
        await settle(built)
        await built.shutdown()


def _library(tmp_path: Path, app: Beatmatch, genres: str) -> tuple[Path, str]:
    """An Exportify file: six catalog hip-hop tracks (Genres "hip hop, east coast hip hop") and
    one track outside the catalog that sounds ambient, by an unknown rapper, whose Genres cell
    is ``genres``; and that track's id."""
    catalog = app.catalog.tracks
    rap = [t for t in catalog.index if str(catalog.loc[t, "artists"]).startswith("Hip-Hop")][:6]
    rows = catalog_exportify_rows(catalog, rap)
    for row in rows:
        row[GENRES] = f"hip hop, {EAST_COAST}"
    outside = tiny_exportify_rows("ambient", 1, seed=5)
    track = track_id_for("liked-ambient-0")
    outside["Artist Name(s)"] = "Unknown MC"
    outside["Genres"] = genres
    records = rows + outside.to_numpy().tolist()
    path = write_exportify(tmp_path / "liked.csv", pd.DataFrame(records))
    return path, track


async def test_a_library_track_whose_genres_say_east_coast_hip_hop_is_called_hip_hop(
    tmp_path: Path, app: Beatmatch
) -> None:
    path, track = _library(tmp_path, app, EAST_COAST)
    assert track not in app.catalog.tracks.index
    imported = await app.service.taste.import_library(ANN, data=path.read_bytes())
    assert not imported.error, imported.text
    reply = await app.service.lookup.genre(ANN, track)
    assert not reply.error, reply.text
    top = reply.text.split("Classifier's top 3: ")[1].split(",")[0]
    assert top.startswith("hip-hop "), reply.text
    assert "helped by Spotify's genres of the artist from your Exportify file" in reply.text
    similar = await app.service.lookup.similar(ANN, track, 3)  # follows the same distribution
    assert all(card.reason.startswith("also hip-hop") for card in similar.tracks), similar.tracks


async def test_without_genres_the_sound_decides_and_another_listener_is_not_moved(
    tmp_path: Path, app: Beatmatch
) -> None:
    path, track = _library(tmp_path, app, "")
    await app.service.taste.import_library(ANN, data=path.read_bytes())
    reply = await app.service.lookup.genre(ANN, track)
    assert "Classifier's top 3: ambient " in reply.text, reply.text
    assert "this is the classifier's call" in reply.text
    path, track = _library(tmp_path, app, EAST_COAST)
    await app.service.taste.import_library(ANN, data=path.read_bytes())
    assert "top 3: hip-hop " in (await app.service.lookup.genre(ANN, track)).text
    other = await app.service.lookup.genre(BOB, track)  # Bob's library says nothing of it
    assert "Classifier's top 3: ambient " in other.text, other.text
