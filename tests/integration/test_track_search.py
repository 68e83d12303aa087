"""Track search over the FTS5 index: what a listener types, in any case, with or without accents
and punctuation, finds the track; exact titles first; labels tell same-named tracks apart; the
index follows catalog re-imports and stored tracks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.core.catalog import CatalogState
from bot.core.lookup.search import TrackFinder
from storage.catalog_import import import_catalog
from storage.database import Storage
from storage.track_search import rebuild
from tests.conftest import tiny_catalog_rows, track_id_for, write_catalog

#: (key, title, artists, album, popularity) written over the tiny catalog's first rows.
NAMED = [
    ("cuff", "CUFF IT", "Beyoncé", "RENAISSANCE", 80),
    ("cuff_remix", "CUFF IT - WETTER REMIX", "Beyoncé", "CUFF IT (WETTER REMIX)", 90),
    ("kickstart", "Kickstart My Heart", "Mötley Crüe", "Dr. Feelgood", 60),
    ("dont", "Don't Stop Me Now", "Queen", "Jazz", 70),
    ("was_single", "As It Was", "Harry Styles", "As It Was", 95),
    ("was_album", "As It Was", "Harry Styles", "Harry's House", 92),
    ("was_twice", "As It Was", "Harry Styles", "Harry's House", 10),
    ("home", "Home", "Duo", "Home", 10),
    ("home_again", "Home Again", "Duo", "Again", 90),
]


def named_rows() -> pd.DataFrame:
    rows = tiny_catalog_rows()
    rows = rows[~rows["track_id"].duplicated()].reset_index(drop=True)
    for i, (key, title, artists, album, popularity) in enumerate(NAMED):
        rows.loc[i, ["track_id", "track_name", "artists", "album_name", "popularity"]] = [
            track_id_for(key),
            title,
            artists,
            album,
            popularity,
        ]
    return rows


@pytest.fixture
def searched(storage: Storage, tmp_path: Path) -> Storage:
    import_catalog(storage, str(write_catalog(tmp_path / "named.csv", named_rows())), tmp_path)
    return storage


def found(storage: Storage, text: str, limit: int = 25) -> list[str]:
    return list(storage.tracks.find_tracks(text, limit).index)


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("cuff it - beyonce", "cuff"),
        ("CUFF IT - Beyoncé", "cuff"),
        ("cuff it - BEYONCE", "cuff"),
        ("motley crue", "kickstart"),
        ("MÖTLEY CRÜE kickstart", "kickstart"),
        ("dont stop me now", "dont"),
        ("Don’t stop me now", "dont"),
        ("don't stop me now - queen", "dont"),
        ("kickstart my hea", "kickstart"),
    ],
)
def test_search_forgives_case_accents_and_punctuation(
    searched: Storage, query: str, key: str
) -> None:
    assert found(searched, query)[0] == track_id_for(key)


def test_the_exact_title_comes_before_more_popular_ones(searched: Storage) -> None:
    assert found(searched, "cuff it")[:2] == [track_id_for("cuff"), track_id_for("cuff_remix")]
    assert found(searched, "home")[:2] == [track_id_for("home"), track_id_for("home_again")]


def test_among_exact_titles_the_popular_one_comes_first(searched: Storage) -> None:
    assert found(searched, "as it was")[:3] == [
        track_id_for("was_single"),
        track_id_for("was_album"),
        track_id_for("was_twice"),
    ]


@pytest.mark.parametrize("query", ['"', "*", "AND", 'NEAR("a" "b")', "name: x", "^", "-", "()"])
def test_search_syntax_typed_is_plain_text(searched: Storage, query: str) -> None:
    assert found(searched, query) == []


async def test_autocomplete_labels_tell_same_titles_apart_and_repeat_none(
    searched: Storage,
) -> None:
    tracks, genres = searched.tracks.load_catalog()
    finder = TrackFinder(CatalogState(tracks, genres, is_demo=False), searched.tracks)
    labels = {s.track_id: s.label for s in await finder.suggest("as it wa")}
    assert labels[track_id_for("was_single")] == "As It Was — Harry Styles (As It Was)"
    assert labels[track_id_for("was_album")] == "As It Was — Harry Styles (Harry's House)"
    assert track_id_for("was_twice") not in labels  # would read the same as the album track
    assert len(set(labels.values())) == len(labels)
    assert await finder.suggest("x") == []


def test_a_reimported_catalog_is_searched_at_once(searched: Storage, tmp_path: Path) -> None:
    rows = named_rows()
    rows.loc[rows["track_id"] == track_id_for("kickstart"), "track_name"] = "Dr. Feelgood"
    rows = rows[rows["track_id"] != track_id_for("dont")]
    import_catalog(searched, str(write_catalog(tmp_path / "next.csv", rows)), tmp_path)
    assert found(searched, "dr feelgood") == [track_id_for("kickstart")]
    assert found(searched, "kickstart my heart") == []
    assert found(searched, "dont stop me now") == []


def test_stored_tracks_are_found_and_follow_their_names(storage: Storage) -> None:
    track = pd.DataFrame(
        {"name": ["Señorita"], "artists": ["Shawn Mendes;Camila Cabello"], "popularity": [70.0]},
        index=pd.Index([track_id_for("senorita")], name="track_id"),
    )
    storage.tracks.upsert_tracks(track, "exportify")
    assert found(storage, "senorita camila") == [track_id_for("senorita")]
    storage.tracks.upsert_tracks(track.assign(name=["Señorita (Live)"]), "exportify")
    assert found(storage, "senorita live") == [track_id_for("senorita")]
    assert rebuild(storage.sql) == 1
    assert found(storage, "senorita live") == [track_id_for("senorita")]
