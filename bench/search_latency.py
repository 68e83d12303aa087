"""How long one autocomplete keystroke takes over the shared 76k-track catalog: the FTS5 search
(``bot.core.lookup.search``) against the old scan of the catalog with ``str.contains``.

    .venv/bin/python bench/search_latency.py [--tracks 150] [--seed 7]

Imports ../shared/data/spotify_tracks.csv.gz into a temporary database, then types "title -
artist" of ``--tracks`` random catalog tracks a character at a time (from 2 characters, as
Discord's autocomplete is asked) and times each keystroke's search and labels. Prints p50/p95
of both, and the ratio. Target: p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.catalog import CatalogState  # noqa: E402
from bot.core.lookup.search import TrackFinder, suggestions  # noqa: E402
from bot.core.track_refs import split_title_artist  # noqa: E402
from storage.catalog_import import import_catalog  # noqa: E402
from storage.database import Storage  # noqa: E402

CATALOG = ROOT.parent / "shared" / "data" / "spotify_tracks.csv.gz"
CHOICES = 25


def old_search(catalog: CatalogState, text: str) -> int:
    """The search before FTS5: a case-folded substring scan of every title (and artist)."""
    tracks = catalog.tracks
    for title, artist in split_title_artist(text):
        mask = tracks["name"].str.lower().str.contains(title.lower(), regex=False, na=False)
        if artist:
            artists = tracks["artists"].str.lower()
            mask &= artists.str.contains(artist.lower(), regex=False, na=False)
        if mask.any():
            return int(mask.sum())
    return 0


def keystrokes(catalog: CatalogState, count: int, seed: int) -> list[str]:
    """What is typed, keystroke by keystroke, for ``count`` random tracks."""
    rng = np.random.default_rng(seed)
    picks = catalog.tracks.iloc[rng.choice(len(catalog.tracks), count, replace=False)]
    typed = []
    for _, row in picks.iterrows():
        text = f"{row['name']} - {str(row['artists']).split(';')[0]}"[:60]
        typed += [text[:n] for n in range(2, len(text) + 1)]
    return typed


def percentiles(times: list[float]) -> str:
    p50, p95 = np.percentile(np.array(times) * 1000, [50, 95])
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--old", type=int, default=300, help="keystrokes timed with the old scan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage.open(Path(tmp) / "beatmatch.db")
        started = time.perf_counter()
        import_catalog(storage, str(CATALOG), Path(tmp))
        print(
            f"imported {storage.tracks.catalog_size():,} tracks (index built by the swap) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        tracks, genres = await asyncio.to_thread(storage.tracks.load_catalog)
        catalog = CatalogState(tracks, genres, is_demo=False)
        finder = TrackFinder(catalog, storage.tracks)
        typed = keystrokes(catalog, args.tracks, args.seed)
        finder.find("warm up", CHOICES * 2)
        times, empty = [], 0
        for text in typed:
            began = time.perf_counter()
            found = suggestions(finder.find(text, CHOICES * 2), CHOICES)
            times.append(time.perf_counter() - began)
            empty += not found
        print(
            f"FTS5 autocomplete, {len(typed):,} keystrokes of {args.tracks} tracks: "
            f"{percentiles(times)} ({empty} keystrokes with no suggestion)"
        )
        old_times = []
        for text in typed[:: max(1, len(typed) // args.old)]:
            began = time.perf_counter()
            old_search(catalog, text)
            old_times.append(time.perf_counter() - began)
        print(f"old str.contains scan, {len(old_times)} keystrokes: {percentiles(old_times)}")
        ratio = np.percentile(old_times, 95) / np.percentile(times, 95)
        print(f"p95 ratio old/new: {ratio:.1f}x (target: FTS5 p95 <= 30 ms)")
        storage.close()


if __name__ == "__main__":
    asyncio.run(main())
