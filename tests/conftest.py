"""Shared fixtures: the shared data folder, tiny catalog and Exportify files, a storage, a config.

The tiny files are written into ``tmp_path`` by the fixtures themselves; nothing from
../shared/data is ever copied into the repository.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before sklearn/xgboost load: see bot/__main__

import csv
import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.config import Config, load_config
from recommender.tracks import AUDIO_FEATURES
from storage.catalog_csv import REQUIRED_COLUMNS
from storage.database import Storage

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
#: What the console subprocesses use for ReccoBeats: loopback, closed (connection refused).
OFFLINE_RECCOBEATS = "http://127.0.0.1:9/v1"


@pytest.fixture(autouse=True, scope="session")
def offline() -> Iterator[None]:
    """Nothing in the suite reaches the internet: a host name other than loopback doesn't resolve
    (as on a machine without network), so a default service address can't be called by mistake."""
    real = socket.getaddrinfo

    def loopback_only(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if host is not None and name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"tests are offline: {name}")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    socket.getaddrinfo = loopback_only  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = real


#: Kaggle "Spotify Tracks Dataset" columns, in the file's order.
CATALOG_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS

#: The exact header of an Exportify export (as in shared/data/exportify_user_a.csv).
EXPORTIFY_HEADER: tuple[str, ...] = (
    "Track URI",
    "Track Name",
    "Album Name",
    "Artist Name(s)",
    "Release Date",
    "Duration (ms)",
    "Popularity",
    "Explicit",
    "Added By",
    "Added At",
    "Genres",
    "Record Label",
    "Danceability",
    "Energy",
    "Key",
    "Loudness",
    "Mode",
    "Speechiness",
    "Acousticness",
    "Instrumentalness",
    "Liveness",
    "Valence",
    "Tempo",
    "Time Signature",
)

# genre: danceability, energy, loudness, speechiness, acousticness, instrumentalness, valence,
# tempo, popularity — far apart so that the genres are easy to tell from each other.
TINY_GENRES: dict[str, tuple[float, ...]] = {
    "acoustic": (0.55, 0.25, -11.0, 0.04, 0.85, 0.02, 0.45, 100.0, 45.0),
    "metal": (0.40, 0.95, -4.0, 0.09, 0.01, 0.15, 0.30, 150.0, 40.0),
    "edm": (0.70, 0.85, -4.5, 0.06, 0.03, 0.45, 0.45, 128.0, 50.0),
    "ambient": (0.25, 0.12, -22.0, 0.04, 0.90, 0.92, 0.12, 80.0, 30.0),
}
TRACKS_PER_GENRE = 15
ARTISTS_PER_GENRE = 5
#: The first few edm tracks also carry this second label (a row each, as in the real catalog).
SECOND_LABEL = ("edm", "house", 4)


def track_id_for(text: str) -> str:
    """A deterministic 22-character alphanumeric id (a valid Spotify id shape)."""
    return "t" + hashlib.sha256(text.encode()).hexdigest()[:21]


@dataclass(frozen=True)
class CatalogFile:
    """A catalog CSV written for a test, and the rows it holds (one per track and genre)."""

    path: Path
    rows: pd.DataFrame

    @property
    def track_ids(self) -> list[str]:
        """Distinct track ids in file order."""
        return list(dict.fromkeys(self.rows["track_id"]))

    def ids_of(self, genre: str) -> list[str]:
        """Track ids labelled ``genre``."""
        return list(self.rows.loc[self.rows["track_genre"] == genre, "track_id"])


@dataclass(frozen=True)
class ExportifyFile:
    """An Exportify CSV written for a test, and the rows it holds (header names as columns)."""

    path: Path
    rows: pd.DataFrame


def tiny_catalog_rows(seed: int = 3) -> pd.DataFrame:
    """About 60 tracks of four well-separated genres in the Kaggle format (64 rows, 5 labels)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for g, (genre, profile) in enumerate(TINY_GENRES.items()):
        dance, energy, loud, speech, acoustic, instr, valence, tempo, pop = profile
        for i in range(TRACKS_PER_GENRE):
            artist = f"{genre.title()} Artist {i % ARTISTS_PER_GENRE + 1}"
            rows.append(
                {
                    "track_id": track_id_for(f"catalog-{genre}-{i}"),
                    "artists": artist if i != 7 else f"{artist};Guest {genre.title()}",
                    "album_name": f"{genre.title()} Album {i // 3 + 1}",
                    "track_name": f"{genre.title()} Song {i + 1}",
                    "popularity": int(np.clip(rng.normal(pop, 10), 0, 100)),
                    "duration_ms": int(rng.normal(210_000, 20_000)),
                    "explicit": bool(rng.random() < 0.1),
                    "danceability": round(float(np.clip(rng.normal(dance, 0.05), 0, 1)), 3),
                    "energy": round(float(np.clip(rng.normal(energy, 0.04), 0, 1)), 3),
                    "key": int((i + g) % 12),
                    "loudness": round(float(min(rng.normal(loud, 1.0), 0.0)), 3),
                    "mode": int(i % 2),
                    "speechiness": round(float(np.clip(rng.normal(speech, 0.01), 0, 1)), 4),
                    "acousticness": round(float(np.clip(rng.normal(acoustic, 0.05), 0, 1)), 4),
                    "instrumentalness": round(float(np.clip(rng.normal(instr, 0.05), 0, 1)), 4),
                    "liveness": round(float(np.clip(rng.normal(0.15, 0.04), 0, 1)), 3),
                    "valence": round(float(np.clip(rng.normal(valence, 0.05), 0, 1)), 3),
                    "tempo": round(float(rng.normal(tempo, 3.0)), 3),
                    "time_signature": 4,
                    "track_genre": genre,
                }
            )
    frame = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
    genre, extra, count = SECOND_LABEL
    doubles = frame[frame["track_genre"] == genre].head(count).assign(track_genre=extra)
    return pd.concat([frame, doubles], ignore_index=True)


def write_catalog(path: Path, rows: pd.DataFrame) -> Path:
    """Write catalog rows as a Kaggle CSV (with the leading unnamed index column it ships with)."""
    rows.to_csv(path, index=True, compression="gzip" if path.suffix == ".gz" else None)
    return path


def tiny_exportify_rows(
    genre: str = "acoustic", count: int = 30, seed: int = 11, in_catalog: list[str] | None = None
) -> pd.DataFrame:
    """``count`` liked songs whose audio features resemble ``genre`` of the tiny catalog.

    ``in_catalog`` ids (catalog tracks the listener also likes) come first, with the same
    features the tiny catalog gives them; the rest are tracks the catalog does not hold.
    """
    rng = np.random.default_rng(seed)
    dance, energy, loud, speech, acoustic, instr, valence, tempo, pop = TINY_GENRES[genre]
    catalog = tiny_catalog_rows().drop_duplicates("track_id").set_index("track_id")
    rows: list[dict[str, object]] = []
    for i in range(count):
        day = 1 + i % 28
        if in_catalog and i < len(in_catalog):
            track_id = in_catalog[i]
            c = catalog.loc[track_id]
            name, artists, album = c["track_name"], c["artists"], c["album_name"]
            feats = [c[column] for column in AUDIO_FEATURES]
        else:
            track_id = track_id_for(f"liked-{genre}-{i}")
            name, artists = f"Liked {genre.title()} {i + 1}", f"Fav Singer {i % 8 + 1}"
            album = f"Favourites {i % 5 + 1}"
            feats = [
                round(float(np.clip(rng.normal(dance, 0.05), 0, 1)), 3),
                round(float(np.clip(rng.normal(energy, 0.04), 0, 1)), 3),
                int(i % 12),
                round(float(min(rng.normal(loud, 1.0), 0.0)), 3),
                int(i % 2),
                round(float(np.clip(rng.normal(speech, 0.01), 0, 1)), 4),
                round(float(np.clip(rng.normal(acoustic, 0.05), 0, 1)), 4),
                round(float(np.clip(rng.normal(instr, 0.05), 0, 1)), 4),
                round(float(np.clip(rng.normal(0.15, 0.04), 0, 1)), 3),
                round(float(np.clip(rng.normal(valence, 0.05), 0, 1)), 3),
                round(float(rng.normal(tempo, 3.0)), 3),
                4,
            ]
        values = [
            f"spotify:track:{track_id}",
            name,
            album,
            artists,
            f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}",
            int(rng.normal(200_000, 15_000)),
            int(np.clip(rng.normal(pop, 8), 0, 100)),
            "false" if i % 6 else "true",
            "",
            f"2025-{1 + i % 12:02d}-{day:02d}T10:{i % 60:02d}:00Z",
            "",
            "Some Label",
            *feats,
        ]
        rows.append(dict(zip(EXPORTIFY_HEADER, values, strict=True)))
    return pd.DataFrame(rows, columns=list(EXPORTIFY_HEADER)).astype(str)  # as in the file


def catalog_exportify_rows(
    tracks: pd.DataFrame, track_ids: list[str], added_from: int = 1
) -> list[list[object]]:
    """Exportify rows (EXPORTIFY_HEADER order) for catalog tracks, carrying their own features;
    liked one a day in January 2025 from day ``added_from``."""
    rows: list[list[object]] = []
    for i, track_id in enumerate(track_ids):
        t = tracks.loc[track_id]
        rows.append(
            [
                f"spotify:track:{track_id}",
                t["name"],
                t["album"],
                t["artists"],
                "2020-01-01",
                int(t["duration_ms"]),
                int(t["popularity"]),
                "false",
                "",
                f"2025-01-{(added_from - 1 + i) % 28 + 1:02d}T12:00:00Z",
                "",
                "Label",
                *(t[c] for c in AUDIO_FEATURES),
            ]
        )
    return rows


def write_exportify(
    path: Path,
    rows: pd.DataFrame | list[list[object]],
    header: tuple[str, ...] | list[str] = EXPORTIFY_HEADER,
) -> Path:
    """Write Exportify rows like exportify.net does: UTF-8 with a BOM, text cells quoted."""
    records = rows.to_numpy().tolist() if isinstance(rows, pd.DataFrame) else rows
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(records)
    return path


@pytest.fixture(scope="module")
def genre_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo catalog's genre classifier is stored: trained once for a test module."""
    return tmp_path_factory.mktemp("genre-models")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the repository; the test is skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> CatalogFile:
    """A ~60-track Kaggle-format catalog CSV of four genres (plus a second label on 4 tracks)."""
    rows = tiny_catalog_rows()
    return CatalogFile(write_catalog(tmp_path / "tiny_catalog.csv", rows), rows)


@pytest.fixture
def tiny_exportify(tmp_path: Path) -> ExportifyFile:
    """An Exportify CSV of 30 liked songs that sound acoustic; 3 of them are in the tiny catalog."""
    overlap = [track_id_for(f"catalog-acoustic-{i}") for i in range(3)]
    rows = tiny_exportify_rows("acoustic", 30, in_catalog=overlap)
    return ExportifyFile(write_exportify(tmp_path / "liked.csv", rows), rows)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    """A fresh, migrated storage in a database file under ``tmp_path``."""
    storage = Storage.open(tmp_path / "db" / "beatmatch.db")
    yield storage
    storage.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The default configuration with its data directory under ``tmp_path``."""
    return load_config(env={"BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data")})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The minutes-long tests first: on two workers (``make test``: xdist, work stealing) the
    longest one then runs beside the rest instead of alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
