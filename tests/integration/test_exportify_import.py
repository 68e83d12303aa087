"""Reading Exportify CSV exports: the real one, and every way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.tracks import AUDIO_FEATURES
from storage.errors import ImportFormatError
from storage.exportify import MAX_BYTES, parse_exportify, read_exportify
from tests.conftest import (
    EXPORTIFY_HEADER,
    ExportifyFile,
    tiny_exportify_rows,
    track_id_for,
    write_exportify,
)


def _csv_bytes(
    rows: pd.DataFrame,
    header: tuple[str, ...] | list[str] = EXPORTIFY_HEADER,
    tmp_path: Path | None = None,
) -> bytes:
    path = write_exportify((tmp_path or Path("/nonexistent")) / "x.csv", rows, header)
    return path.read_bytes()


def _rows(count: int = 5) -> pd.DataFrame:
    return tiny_exportify_rows("acoustic", count)


def _parse_error(raw: bytes, name: str = "liked.csv") -> str:
    with pytest.raises(ImportFormatError) as error:
        parse_exportify(raw, name)
    return str(error.value)


@pytest.mark.shared_data
def test_the_shared_export_has_720_tracks(shared_data: Path) -> None:
    library = read_exportify(shared_data / "exportify_user_a.csv")
    assert len(library.tracks) == 720
    assert len(library.entries) == 720
    assert library.tracks.index.is_unique
    assert list(library.entries["rank"]) == list(range(1, 721))
    assert library.entries["added_at"].notna().all()
    assert library.tracks[list(AUDIO_FEATURES)].notna().any(axis=1).all()
    assert library.warnings == []
    first = library.tracks.loc["34m26K64fX2OtUVov3z1Ej"]
    assert (first["name"], first["artists"]) == ("Everywhere I Go", "Tay-K")
    assert first["tempo"] == pytest.approx(155.948)
    assert first["explicit"] == 1.0
    assert first["release_year"] == 2026


def test_tiny_export_round_trip(tiny_exportify: ExportifyFile) -> None:
    assert tiny_exportify.path.read_bytes()[:3] == b"\xef\xbb\xbf"
    library = read_exportify(tiny_exportify.path)
    expected_ids = [u.split(":")[-1] for u in tiny_exportify.rows["Track URI"]]
    assert list(library.entries["track_id"]) == expected_ids
    assert list(library.tracks.index) == expected_ids
    energy = library.tracks["energy"].to_numpy()
    assert energy == pytest.approx(tiny_exportify.rows["Energy"].astype(float).to_numpy())
    assert library.duplicates == library.skipped_local == 0


def test_bom_less_export_reads_the_same(tmp_path: Path, tiny_exportify: ExportifyFile) -> None:
    raw = tiny_exportify.path.read_bytes()
    assert len(parse_exportify(raw[3:]).tracks) == len(parse_exportify(raw).tracks) == 30


def test_bad_track_uri_names_row_and_column(tmp_path: Path) -> None:
    rows = _rows()
    rows.loc[2, "Track URI"] = "https://open.spotify.com/track/xyz"
    message = _parse_error(_csv_bytes(rows, tmp_path=tmp_path))
    assert "Row 4" in message
    assert "Track URI" in message
    assert "open.spotify.com/track/xyz" in message


def test_non_numeric_danceability_names_row_column_and_value(tmp_path: Path) -> None:
    rows = _rows()
    rows.loc[0, "Danceability"] = "very high"
    message = _parse_error(_csv_bytes(rows, tmp_path=tmp_path))
    assert "Row 2" in message
    assert "Danceability" in message
    assert "very high" in message


def test_a_long_bad_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    rows = _rows()
    rows.loc[0, "Tempo"] = "x" * 5000
    message = _parse_error(_csv_bytes(rows, tmp_path=tmp_path))
    assert "Tempo" in message
    assert len(message) < 200


@pytest.mark.parametrize("value", ["inf", "nan", "-Infinity"])
def test_non_finite_numbers_are_rejected(tmp_path: Path, value: str) -> None:
    rows = _rows()
    rows.loc[1, "Energy"] = value
    message = _parse_error(_csv_bytes(rows, tmp_path=tmp_path))
    assert "Row 3" in message and "Energy" in message


def test_short_row_names_the_row(tmp_path: Path) -> None:
    raw = _csv_bytes(_rows(), tmp_path=tmp_path) + b"spotify:track:" + b"A" * 22 + b",Cut off\n"
    message = _parse_error(raw)
    assert "Row 7" in message
    assert "2 columns" in message


def test_binary_file_is_refused(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    path = tmp_path / "picture.csv"
    path.write_bytes(png)
    with pytest.raises(ImportFormatError, match="binary"):
        read_exportify(path)


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    with pytest.raises(ImportFormatError):
        parse_exportify(noise, "noise.csv")


@pytest.mark.parametrize("raw", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_empty_file_says_so(raw: bytes) -> None:
    message = _parse_error(raw, "empty.csv")
    assert "empty.csv" in message


def test_header_only_file_holds_no_tracks(tmp_path: Path) -> None:
    message = _parse_error(_csv_bytes(_rows().iloc[0:0], tmp_path=tmp_path), "liked.csv")
    assert "no Spotify tracks" in message


def test_non_utf8_file_names_the_byte(tmp_path: Path) -> None:
    rows = _rows()
    rows.loc[0, "Track Name"] = "Café"
    raw = _csv_bytes(rows, tmp_path=tmp_path)[3:].decode("utf-8").encode("latin-1")
    message = _parse_error(raw)
    assert "UTF-8" in message
    assert "byte" in message


def test_missing_columns_are_named(tmp_path: Path) -> None:
    rows = _rows().drop(columns=["Track URI", "Artist Name(s)"])
    message = _parse_error(_csv_bytes(rows, list(rows.columns), tmp_path=tmp_path))
    assert "Track URI" in message
    assert "Artist Name(s)" in message
    assert "Track Name" not in message.split("missing")[1].split(".")[0]


def test_some_other_csv_is_not_an_export() -> None:
    message = _parse_error(b"name,price\napple,1\n", "shop.csv")
    assert "not an Exportify export" in message


def test_local_files_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = _rows(6)
    rows.loc[1, "Track URI"] = "spotify:local:Artist:Album:Home+Recording:200"
    rows.loc[4, "Track URI"] = "spotify:local:::demo:100"
    library = parse_exportify(_csv_bytes(rows, tmp_path=tmp_path))
    assert library.skipped_local == 2
    assert len(library.tracks) == 4
    assert not any("local" in t for t in library.tracks.index)


def test_duplicates_are_counted_once(tmp_path: Path) -> None:
    rows = _rows(5)
    doubled = pd.concat([rows, rows.iloc[[0, 3]]], ignore_index=True)
    library = parse_exportify(_csv_bytes(doubled, tmp_path=tmp_path))
    assert library.duplicates == 2
    assert len(library.tracks) == len(library.entries) == 5
    assert library.entries["track_id"].is_unique
    assert list(library.entries["rank"]) == [1, 2, 3, 4, 5]


def test_empty_feature_cells_become_missing(tmp_path: Path) -> None:
    rows = _rows(4)
    rows.loc[0, ["Danceability", "Tempo", "Popularity"]] = ""
    rows.loc[1, "Key"] = " "
    library = parse_exportify(_csv_bytes(rows, tmp_path=tmp_path))
    first, second = library.tracks.iloc[0], library.tracks.iloc[1]
    assert pd.isna(first["danceability"]) and pd.isna(first["tempo"])
    assert pd.isna(first["popularity"])
    assert first["energy"] == pytest.approx(float(rows.loc[0, "Energy"]))
    assert pd.isna(second["key"])
    assert library.warnings == []


def test_export_without_audio_feature_columns_warns(tmp_path: Path) -> None:
    rows = _rows(4)[list(EXPORTIFY_HEADER[:12])]
    library = parse_exportify(_csv_bytes(rows, list(rows.columns), tmp_path=tmp_path))
    assert len(library.tracks) == 4
    assert library.tracks[list(AUDIO_FEATURES)].isna().all().all()
    assert library.warnings and "no audio features" in library.warnings[0]


def test_quoted_cells_with_commas_and_newlines(tmp_path: Path) -> None:
    rows = _rows(3)
    rows.loc[1, "Track Name"] = 'Hello, "World"\nPart 2'
    rows.loc[1, "Artist Name(s)"] = "A;B, the Band"
    library = parse_exportify(_csv_bytes(rows, tmp_path=tmp_path))
    track = library.tracks.iloc[1]
    assert track["name"] == 'Hello, "World"\nPart 2'
    assert track["artists"] == "A;B, the Band"


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    raw = _csv_bytes(_rows(3), tmp_path=tmp_path).replace(b"\n", b"\n\n", 2)
    assert len(parse_exportify(raw).tracks) == 3


def test_missing_path_directory_and_oversized_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no file"):
        read_exportify(tmp_path / "missing.csv")
    with pytest.raises(ImportFormatError, match="not a file"):
        read_exportify(tmp_path)
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(ImportFormatError, match="limit"):
        read_exportify(huge)


def test_release_year_and_explicit_are_read(tmp_path: Path) -> None:
    rows = _rows(3)
    rows.loc[0, ["Release Date", "Explicit"]] = ["1999", "TRUE"]
    rows.loc[1, ["Release Date", "Explicit"]] = ["", "maybe"]
    library = parse_exportify(_csv_bytes(rows, tmp_path=tmp_path))
    assert library.tracks.iloc[0]["release_year"] == 1999
    assert library.tracks.iloc[0]["explicit"] == 1.0
    assert pd.isna(library.tracks.iloc[1]["release_year"])
    assert pd.isna(library.tracks.iloc[1]["explicit"])


def test_track_ids_are_kept_exactly() -> None:
    tid = track_id_for("exact")
    row = ["" for _ in EXPORTIFY_HEADER]
    row[0], row[1], row[3] = f"spotify:track:{tid}", "N", "A"
    raw = (",".join(EXPORTIFY_HEADER) + "\n" + ",".join(row) + "\n").encode()
    library = parse_exportify(raw)
    assert list(library.tracks.index) == [tid]
    assert library.tracks[list(AUDIO_FEATURES)].isna().all().all()


def test_podcast_episodes_in_a_playlist_export_are_skipped(tmp_path: Path) -> None:
    rows = _rows(4)
    rows.loc[2, "Track URI"] = "spotify:episode:5Xt5DXGzch68nYYamXrNxZ"
    library = parse_exportify(_csv_bytes(rows, tmp_path=tmp_path))
    assert len(library.tracks) == 3
