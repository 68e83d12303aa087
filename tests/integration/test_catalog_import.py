"""Importing a Kaggle-format catalog (CSV or CSV.gz) into the database."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

from storage.catalog_import import import_catalog
from storage.database import Storage
from storage.errors import ImportFormatError
from tests.conftest import CATALOG_COLUMNS, CatalogFile, tiny_catalog_rows, write_catalog


def test_import_from_csv(storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path) -> None:
    result = import_catalog(storage, str(tiny_catalog.path), tmp_path)
    assert result == {"tracks": 60, "genre_labels": 64}
    tracks, genres = storage.tracks.load_catalog()
    assert len(tracks) == 60
    assert genres["genre"].value_counts().to_dict() == {
        "acoustic": 15,
        "metal": 15,
        "edm": 15,
        "ambient": 15,
        "house": 4,
    }


def test_import_from_csv_gz_gives_the_same_catalog(storage: Storage, tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "catalog.csv.gz", tiny_catalog_rows())
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert import_catalog(storage, str(path), tmp_path)["tracks"] == 60
    assert storage.tracks.catalog_size() == 60


def test_gzip_is_recognised_by_content_not_by_name(storage: Storage, tmp_path: Path) -> None:
    plain = write_catalog(tmp_path / "plain.csv", tiny_catalog_rows())
    disguised = tmp_path / "catalog.csv"
    disguised.unlink(missing_ok=True)
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    assert import_catalog(storage, str(disguised), tmp_path)["tracks"] == 60


def test_track_values_arrive_unchanged(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    source = tiny_catalog.rows.drop_duplicates("track_id").set_index("track_id")
    stored = storage.tracks.get_tracks(source.index)
    for column in ("danceability", "energy", "loudness", "tempo", "popularity", "duration_ms"):
        assert stored[column].reindex(source.index).tolist() == pytest.approx(
            source[column].astype(float).tolist()
        ), column
    assert stored["name"].reindex(source.index).tolist() == source["track_name"].tolist()
    assert stored["album"].reindex(source.index).tolist() == source["album_name"].tolist()
    assert set(stored["explicit"]) <= {0.0, 1.0}


def _quirky_rows() -> pd.DataFrame:
    rows = tiny_catalog_rows().drop_duplicates("track_id").head(6).reset_index(drop=True)
    rows.loc[0, "tempo"] = 0
    rows.loc[1, "time_signature"] = 0
    rows.loc[2, "time_signature"] = 1
    rows.loc[3, "key"] = -1
    rows.loc[4, ["track_name", "album_name", "artists"]] = ""
    return rows


def test_catalog_quirks_become_unknown(storage: Storage, tmp_path: Path) -> None:
    rows = _quirky_rows()
    import_catalog(storage, str(write_catalog(tmp_path / "quirks.csv", rows)), tmp_path)
    stored = storage.tracks.get_tracks(rows["track_id"])
    ids = list(rows["track_id"])
    assert pd.isna(stored.loc[ids[0], "tempo"])
    assert pd.isna(stored.loc[ids[1], "time_signature"])
    assert pd.isna(stored.loc[ids[2], "time_signature"])
    assert pd.isna(stored.loc[ids[3], "key"])
    assert stored.loc[ids[4], "name"] == ""
    assert stored.loc[ids[5], ["tempo", "time_signature", "key"]].notna().all()
    # Known features of a quirky track stay known.
    assert stored.loc[ids[0], "energy"] == pytest.approx(rows.loc[0, "energy"])


def test_unchanged_file_is_skipped_without_force(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    stamp = storage.meta.get("catalog_updated_at")
    result = import_catalog(storage, str(tiny_catalog.path), tmp_path, force=False)
    assert result["skipped"] == 1
    assert result["tracks"] == 60
    assert storage.meta.get("catalog_updated_at") == stamp


def test_changed_file_is_imported_again_without_force(storage: Storage, tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "cat.csv", tiny_catalog_rows())
    import_catalog(storage, str(path), tmp_path)
    smaller = tiny_catalog_rows()
    smaller = smaller[smaller["track_genre"] == "metal"]
    write_catalog(path, smaller)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    result = import_catalog(storage, str(path), tmp_path, force=False)
    assert "skipped" not in result
    assert storage.tracks.catalog_size() == 15


def test_force_reimports_an_unchanged_file(
    storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    import_catalog(storage, str(tiny_catalog.path), tmp_path)
    result = import_catalog(storage, str(tiny_catalog.path), tmp_path, force=True)
    assert result == {"tracks": 60, "genre_labels": 64}
    assert storage.tracks.catalog_size() == 60


def test_progress_is_reported(storage: Storage, tiny_catalog: CatalogFile, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    import_catalog(
        storage, str(tiny_catalog.path), tmp_path, progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1] == (60, 60)


def test_missing_columns_are_named(storage: Storage, tmp_path: Path) -> None:
    rows = tiny_catalog_rows().drop(columns=["tempo", "track_genre"])
    path = tmp_path / "partial.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(ImportFormatError) as error:
        import_catalog(storage, str(path), tmp_path)
    assert "tempo" in str(error.value)
    assert "track_genre" in str(error.value)
    assert "danceability" not in str(error.value)
    assert storage.tracks.catalog_size() == 0


def test_missing_file_is_an_import_error(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="No catalog file"):
        import_catalog(storage, str(tmp_path / "nope.csv"), tmp_path)


def test_header_only_file_holds_no_tracks(storage: Storage, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(",".join(CATALOG_COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="no tracks"):
        import_catalog(storage, str(path), tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            b"",
            id="empty",
        ),
        pytest.param(b"\x1f\x8b\x08garbage", id="broken-gzip"),
        pytest.param(bytes(range(256)) * 20, id="binary"),
    ],
)
def test_unreadable_files_are_import_errors(
    storage: Storage, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError):
        import_catalog(storage, str(path), tmp_path)


@pytest.mark.shared_data
def test_the_shared_catalog_imports_completely(
    storage: Storage, shared_data: Path, tmp_path: Path
) -> None:
    result = import_catalog(storage, str(shared_data / "spotify_tracks.csv.gz"), tmp_path)
    assert result["tracks"] == 76_280
    assert storage.tracks.catalog_size() == 76_280
    tracks, genres = storage.tracks.load_catalog()
    assert len(tracks) == 76_280
    assert genres["genre"].nunique() == 114
    assert tracks.index.is_unique
    # Quirks of the real file: tempo 0 and time signatures 0/1 are unknown, never stored as such.
    assert not (tracks["tempo"] <= 0).any()
    assert not (tracks["time_signature"] <= 1).any()
    assert tracks["tempo"].isna().any()
    assert (
        storage.tracks.get_tracks(["4LRPiXqCikLlN15c3yImP7"]).loc["4LRPiXqCikLlN15c3yImP7", "name"]
        == "As It Was"
    )
