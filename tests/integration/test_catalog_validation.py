"""Catalog rows whose numbers are not numbers, infinite or out of range are left out and counted;
a catalog file that is not UTF-8 is refused, naming where (issue 12, item 15)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from storage.catalog_csv import read_checked_catalog
from storage.catalog_import import import_catalog
from storage.database import Storage
from storage.errors import ImportFormatError
from tests.conftest import CatalogFile, tiny_catalog_rows, write_catalog


def _rows() -> pd.DataFrame:
    """The tiny catalog's rows with text cells (as a hand-edited file would have them)."""
    return tiny_catalog_rows().astype({"tempo": object, "energy": object, "key": object})


def _acoustic(rows: pd.DataFrame, count: int) -> list[int]:
    """Row numbers of ``count`` acoustic tracks (tracks with a single row in the file)."""
    return list(rows.index[rows["track_genre"] == "acoustic"][:count])


def _import(storage: Storage, tmp_path: Path, rows: pd.DataFrame, name: str = "cat.csv"):
    return import_catalog(storage, str(write_catalog(tmp_path / name, rows)), tmp_path)


def test_non_numeric_cells_are_rejected_and_counted(storage: Storage, tmp_path: Path) -> None:
    rows = _rows()
    bad = _acoustic(rows, 4)
    rows.loc[bad[:3], "tempo"] = ["fast", "120 bpm", "NaN"]
    rows.loc[bad[3], "energy"] = "high"
    result = _import(storage, tmp_path, rows)
    assert result["rejected_rows"] == 4
    assert result["rejected"] == (
        "rejected 4 rows: 1 with a non-numeric energy, 3 with a non-numeric tempo"
    )
    assert result["tracks"] == 56
    catalog, _ = storage.tracks.load_catalog()
    assert not set(rows.loc[bad, "track_id"]) & set(catalog.index)
    assert catalog["tempo"].notna().all()


def test_infinite_tempo_is_rejected(storage: Storage, tmp_path: Path) -> None:
    rows = _rows()
    bad = _acoustic(rows, 3)
    rows.loc[bad, "tempo"] = ["inf", "-inf", "Infinity"]
    result = _import(storage, tmp_path, rows)
    assert result["rejected"] == "rejected 3 rows: 3 with an infinite tempo"
    assert storage.tracks.catalog_size() == 57
    catalog, _ = storage.tracks.load_catalog()
    assert catalog["tempo"].abs().max() < 300


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("tempo", 1000, "a tempo out of range (0 to 300)"),
        ("tempo", -5, "a tempo out of range (0 to 300)"),
        ("energy", 1.5, "an energy out of range (0 to 1)"),
        ("danceability", -0.1, "a danceability out of range (0 to 1)"),
        ("valence", 2, "a valence out of range (0 to 1)"),
        ("key", 12, "a key out of range (-1 to 11)"),
        ("key", 4.5, "a key that is not a whole number"),
        ("mode", 2, "a mode out of range (0 to 1)"),
        ("time_signature", 9, "a time signature out of range (0 to 7)"),
        ("loudness", 60, "a loudness out of range (-100 to 10)"),
        ("popularity", 101, "a popularity out of range (0 to 100)"),
        ("duration_ms", -1, "a duration out of range (0 to 86,400,000)"),
        ("explicit", "maybe", "an explicit flag other than true or false"),
    ],
)
def test_values_out_of_their_range_are_rejected(
    storage: Storage, tmp_path: Path, column: str, value: object, reason: str
) -> None:
    rows = _rows().astype({column: object})
    bad = _acoustic(rows, 2)
    rows.loc[bad, column] = value
    result = _import(storage, tmp_path, rows)
    assert result["rejected"] == f"rejected 2 rows: 2 with {reason}"
    assert storage.tracks.catalog_size() == 58


def test_a_row_with_several_problems_is_counted_once(storage: Storage, tmp_path: Path) -> None:
    rows = _rows()
    bad = _acoustic(rows, 1)
    rows.loc[bad, ["energy", "tempo"]] = ["loud", "inf"]
    result = _import(storage, tmp_path, rows)
    assert result["rejected"] == "rejected 1 row: 1 with a non-numeric energy"


def test_blank_and_quirky_cells_are_unknown_not_rejected(storage: Storage, tmp_path: Path) -> None:
    rows = _rows()
    kept = _acoustic(rows, 4)
    rows.loc[kept[0], "tempo"] = ""  # blank: unknown, as in an Exportify file
    rows.loc[kept[1], "tempo"] = 0  # the catalog's own "unknown"
    rows.loc[kept[2], "key"] = -1
    rows.loc[kept[3], "time_signature"] = 1
    result = _import(storage, tmp_path, rows)
    assert "rejected" not in result
    stored = storage.tracks.get_tracks(rows.loc[kept, "track_id"])
    assert stored["tempo"].isna().sum() == 2
    assert stored[["key", "time_signature"]].isna().sum().sum() == 2


def test_the_genre_labels_of_rejected_rows_are_left_out(storage: Storage, tmp_path: Path) -> None:
    rows = _rows()
    edm = rows.index[rows["track_genre"] == "house"][0]  # the second label of an edm track
    rows.loc[edm, "tempo"] = "?"
    result = _import(storage, tmp_path, rows)
    assert result["rejected_rows"] == 1
    assert result["tracks"] == 60  # its edm row is fine
    assert storage.tracks.genres_of(rows.loc[edm, "track_id"]) == ["edm"]


def test_a_file_of_rejected_rows_only_holds_no_tracks(storage: Storage, tmp_path: Path) -> None:
    rows = _rows()
    rows["tempo"] = "fast"
    with pytest.raises(ImportFormatError) as error:
        _import(storage, tmp_path, rows)
    assert str(error.value) == (
        "cat.csv holds no tracks (rejected 64 rows: 64 with a non-numeric tempo)."
    )


def _latin1(tmp_path: Path, gzipped: bool) -> tuple[Path, int, int]:
    """A catalog whose 11th data row names a track in Latin-1: (path, byte offset, line)."""
    rows = tiny_catalog_rows()
    rows.loc[10, "track_name"] = "Caf\N{LATIN SMALL LETTER E WITH ACUTE} del Mar"
    text = rows.to_csv(index=True)
    data = text.encode("latin-1")
    offset = data.index(b"Caf\xe9") + 3
    path = tmp_path / ("latin1.csv.gz" if gzipped else "latin1.csv")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path, offset, 12  # the header is line 1


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_file_that_is_not_utf8_is_refused_naming_where(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path, gzipped: bool
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    path, offset, line = _latin1(tmp_path, gzipped)
    with pytest.raises(ImportFormatError) as error:
        import_catalog(storage, str(path), tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path.name} is not UTF-8 text: byte 0xE9 at offset {offset:,} ")
    assert f"(line {line})" in message
    assert "Save the file as UTF-8" in message
    assert storage.tracks.catalog_size() == 60  # the catalog before is still the one served


def test_a_byte_order_mark_is_fine(storage: Storage, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + tiny_catalog_rows().to_csv(index=False).encode())
    assert import_catalog(storage, str(path), tmp_path)["tracks"] == 60


@pytest.mark.shared_data
def test_the_shared_catalog_has_no_row_to_reject(shared_data: Path) -> None:
    catalog = read_checked_catalog(shared_data / "spotify_tracks.csv.gz")
    assert catalog.rejected.rows == 0, catalog.rejected.summary()
    assert len(catalog.tracks) == 76_280
