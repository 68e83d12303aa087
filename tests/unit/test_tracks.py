"""The track table: normalise_tracks turns catalog and file quirks into NaN; split_artists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.tracks import (
    AUDIO_FEATURES,
    KAGGLE_NUMERIC,
    TEXT_COLUMNS,
    TRACK_COLUMNS,
    empty_tracks,
    normalise_tracks,
    split_artists,
)

NAN = float("nan")


def _one(**values: object) -> pd.DataFrame:
    """A one-row raw frame (index "t1") holding only ``values``."""
    return pd.DataFrame({k: [v] for k, v in values.items()}, index=pd.Index(["t1"]))


def _cell(frame: pd.DataFrame, column: str) -> float:
    return float(normalise_tracks(frame).at["t1", column])


def test_track_columns_are_text_then_numeric_then_release_year() -> None:
    assert (*TEXT_COLUMNS, *KAGGLE_NUMERIC, "release_year") == TRACK_COLUMNS
    assert set(AUDIO_FEATURES) <= set(KAGGLE_NUMERIC)
    assert len(KAGGLE_NUMERIC) == 15


def test_empty_tracks_has_every_column_and_no_rows() -> None:
    frame = empty_tracks()
    assert list(frame.columns) == list(TRACK_COLUMNS)
    assert frame.empty
    assert frame.index.name == "track_id"
    for column in TRACK_COLUMNS:
        expected = "object" if column in TEXT_COLUMNS else "float64"
        assert frame[column].dtype == expected, column


def test_empty_tracks_survives_normalising() -> None:
    frame = normalise_tracks(empty_tracks())
    assert list(frame.columns) == list(TRACK_COLUMNS)
    assert frame.empty


def test_missing_columns_are_added() -> None:
    frame = normalise_tracks(_one(energy=0.5))
    assert list(frame.columns) == list(TRACK_COLUMNS)
    assert frame.index.name == "track_id"
    for column in TEXT_COLUMNS:
        assert frame.at["t1", column] == ""
    for column in (*KAGGLE_NUMERIC, "release_year"):
        assert frame[column].dtype == "float64", column
        if column != "energy":
            assert np.isnan(frame.at["t1", column]), column
    assert frame.at["t1", "energy"] == 0.5


def test_extra_columns_are_dropped() -> None:
    frame = normalise_tracks(_one(name="x", track_genre="pop", whatever=3))
    assert "track_genre" not in frame.columns
    assert "whatever" not in frame.columns


@pytest.mark.parametrize(
    ("column", "raw", "expected"),
    [
        ("tempo", 0, NAN),
        ("tempo", 0.0, NAN),
        ("tempo", -12.5, NAN),
        ("tempo", 0.5, 0.5),
        ("tempo", 120.0, 120.0),
        ("key", -1, NAN),
        ("key", 0, 0.0),  # C is a real key, not "unknown"
        ("key", 11, 11.0),
        ("time_signature", 0, NAN),
        ("time_signature", 1, NAN),
        ("time_signature", 3, 3.0),
        ("time_signature", 4, 4.0),
        ("time_signature", 7, 7.0),
        ("mode", 0, 0.0),  # minor, not unknown
        ("popularity", 0, 0.0),  # unpopular, not unknown
        ("loudness", -60.0, -60.0),
    ],
)
def test_catalog_quirks_become_missing(column: str, raw: float, expected: float) -> None:
    value = _cell(_one(**{column: raw}), column)
    if np.isnan(expected):
        assert np.isnan(value)
    else:
        assert value == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, 1.0),
        (False, 0.0),
        (np.True_, 1.0),
        (np.False_, 0.0),
        ("True", 1.0),
        ("true", 1.0),
        ("TRUE", 1.0),
        (" true ", 1.0),
        ("False", 0.0),
        ("false", 0.0),
        ("1", 1.0),
        ("0", 0.0),
        ("1.0", 1.0),
        ("0.0", 0.0),
        (1, 1.0),
        (0, 0.0),
        (1.0, 1.0),
        ("yes", 1.0),
        ("no", 0.0),
        ("", NAN),
        ("maybe", NAN),
        (None, NAN),
        (NAN, NAN),
    ],
)
def test_explicit_spellings_become_one_or_zero(raw: object, expected: float) -> None:
    value = _cell(_one(explicit=raw), "explicit")
    if np.isnan(expected):
        assert np.isnan(value)
    else:
        assert value == expected


def test_explicit_column_of_mixed_spellings() -> None:
    raw = pd.DataFrame({"explicit": ["True", "false", True, 0, None]}, index=list("abcde"))
    values = normalise_tracks(raw)["explicit"].tolist()
    assert values[:4] == [1.0, 0.0, 1.0, 0.0]
    assert np.isnan(values[4])


@pytest.mark.parametrize("column", [*AUDIO_FEATURES, "popularity", "duration_ms"])
def test_missing_values_stay_missing(column: str) -> None:
    assert np.isnan(_cell(_one(**{column: NAN}), column))


@pytest.mark.parametrize(("raw", "expected"), [("0.25", 0.25), ("128", 128.0), ("abc", NAN)])
def test_numeric_strings_are_parsed_and_junk_is_missing(raw: str, expected: float) -> None:
    value = _cell(_one(energy=raw), "energy")
    if np.isnan(expected):
        assert np.isnan(value)
    else:
        assert value == expected


def test_missing_text_becomes_empty_string() -> None:
    frame = normalise_tracks(_one(name=None, artists=NAN, album="LP"))
    assert frame.at["t1", "name"] == ""
    assert frame.at["t1", "artists"] == ""
    assert frame.at["t1", "album"] == "LP"


def test_index_is_kept_and_named_track_id() -> None:
    raw = pd.DataFrame({"energy": [0.1, 0.2]}, index=pd.Index(["b", "a"], name="id"))
    frame = normalise_tracks(raw)
    assert list(frame.index) == ["b", "a"]
    assert frame.index.name == "track_id"


def test_input_frame_is_not_modified() -> None:
    raw = _one(tempo=0, key=-1, explicit="True")
    before = raw.copy()
    normalise_tracks(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_normalising_twice_changes_nothing() -> None:
    raw = pd.DataFrame(
        {"name": ["a", "b"], "tempo": [0, 99.0], "key": [-1, 3], "explicit": ["True", "false"]},
        index=["t1", "t2"],
    )
    once = normalise_tracks(raw)
    pd.testing.assert_frame_equal(normalise_tracks(once), once)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Daft Punk", ["Daft Punk"]),
        ("Ingrid Michaelson;ZAYN", ["Ingrid Michaelson", "ZAYN"]),
        (" A ; B ", ["A", "B"]),
        ("A;;B;", ["A", "B"]),
        (";", []),
        ("", []),
        ("   ", []),
        ("Tyler, The Creator", ["Tyler, The Creator"]),  # commas are not separators
        ("AC/DC", ["AC/DC"]),
    ],
)
def test_split_artists(cell: str, expected: list[str]) -> None:
    assert split_artists(cell) == expected


def test_all_missing_text_column_normalises_without_a_pandas_warning() -> None:
    frame = normalise_tracks(pd.DataFrame({"name": [NAN, NAN]}, index=["a", "b"]))
    assert frame["name"].tolist() == ["", ""]
