"""The invented first-run catalog: deterministic, well-formed, plausible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.demo_catalog import DEMO_ID_PREFIX, demo_catalog, demo_track_id, is_demo_track
from recommender.tracks import TRACK_COLUMNS

GENRES = {
    "pop", "rock", "hip-hop", "edm", "drum-and-bass", "acoustic",
    "classical", "jazz", "metal", "latin", "ambient", "r-n-b",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    return demo_catalog(size=600, seed=7)


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_deterministic_for_a_seed(seed: int) -> None:
    a_tracks, a_labels = demo_catalog(size=120, seed=seed)
    b_tracks, b_labels = demo_catalog(size=120, seed=seed)
    pd.testing.assert_frame_equal(a_tracks, b_tracks)
    pd.testing.assert_frame_equal(a_labels, b_labels)


def test_another_seed_gives_other_tracks() -> None:
    a, _ = demo_catalog(size=120, seed=1)
    b, _ = demo_catalog(size=120, seed=2)
    assert list(a.index) == list(b.index)  # ids are numbered, not random
    assert not a["energy"].equals(b["energy"])


@pytest.mark.parametrize("size", [1, 12, 50, 600])
def test_size_is_honoured(size: int) -> None:
    tracks, labels = demo_catalog(size=size)
    assert len(tracks) == size
    assert len(labels) == size
    assert tracks.index.is_unique


def test_it_is_a_track_table(demo) -> None:
    tracks, _ = demo
    assert list(tracks.columns) == list(TRACK_COLUMNS)
    assert tracks.index.name == "track_id"


def test_ids_are_22_characters_starting_with_demo(demo) -> None:
    tracks, _ = demo
    for track_id in tracks.index:
        assert len(track_id) == 22
        assert track_id.startswith(DEMO_ID_PREFIX)
        assert track_id.isalnum()
        assert is_demo_track(track_id)


@pytest.mark.parametrize("number", [0, 1, 61, 62, 3843, 10**9])
def test_demo_track_ids_are_distinct_and_recognised(number: int) -> None:
    track_id = demo_track_id(number)
    assert len(track_id) == 22
    assert is_demo_track(track_id)
    assert demo_track_id(number + 1) != track_id


@pytest.mark.parametrize(
    "track_id",
    [
        "5SuOikwiRyPMVoIQDJUgSV",
        "demo",
        "demo123",
        "xdemo00000000000000000",
        "DEMO000000000000000000",
    ],
)
def test_spotify_and_malformed_ids_are_not_demo_tracks(track_id: str) -> None:
    assert not is_demo_track(track_id)


def test_twelve_genres_present(demo) -> None:
    tracks, labels = demo
    assert list(labels.columns) == ["track_id", "genre"]
    assert set(labels["genre"]) == GENRES
    assert set(labels["track_id"]) == set(tracks.index)
    assert labels["genre"].value_counts().min() == 600 // 12


@pytest.mark.parametrize(
    ("column", "low", "high"),
    [
        ("danceability", 0.0, 1.0),
        ("energy", 0.0, 1.0),
        ("speechiness", 0.0, 1.0),
        ("acousticness", 0.0, 1.0),
        ("instrumentalness", 0.0, 1.0),
        ("liveness", 0.0, 1.0),
        ("valence", 0.0, 1.0),
        ("key", 0.0, 11.0),
        ("mode", 0.0, 1.0),
        ("loudness", -60.0, 0.0),
        ("tempo", 60.0, 200.0),
        ("time_signature", 3.0, 7.0),
        ("popularity", 0.0, 100.0),
        ("explicit", 0.0, 1.0),
        ("duration_ms", 90_000.0, 480_000.0),
    ],
)
def test_features_are_within_spotify_ranges(demo, column: str, low: float, high: float) -> None:
    tracks, _ = demo
    values = tracks[column]
    assert values.notna().all(), column
    assert values.between(low, high).all(), column


@pytest.mark.parametrize("column", ["key", "mode", "explicit", "time_signature"])
def test_discrete_features_are_whole_numbers(demo, column: str) -> None:
    tracks, _ = demo
    assert (tracks[column] == np.round(tracks[column])).all()


def test_every_track_has_a_name_and_an_artist(demo) -> None:
    tracks, _ = demo
    assert (tracks["name"].str.len() > 0).all()
    assert (tracks["artists"].str.len() > 0).all()


def test_genres_sound_different(demo) -> None:
    tracks, labels = demo
    by_genre = tracks.join(labels.set_index("track_id")).groupby("genre")
    energy = by_genre["energy"].mean()
    tempo = by_genre["tempo"].mean()
    assert energy["metal"] > energy["classical"] + 0.5
    assert tempo["drum-and-bass"] > tempo["ambient"] + 60
    assert by_genre["instrumentalness"].mean()["classical"] > 0.6


def test_artists_belong_to_one_genre(demo) -> None:
    tracks, labels = demo
    genres_per_artist = tracks.join(labels.set_index("track_id")).groupby("artists")["genre"]
    assert (genres_per_artist.nunique() == 1).all()
