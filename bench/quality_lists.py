"""Lists a listener can trust: owned songs under another id, repeats within a list and between two
consecutive lists, and how varied the reasons are — measured through the real /recommend.

    .venv/bin/python bench/quality_lists.py [--library CSV] [--catalog CSV]

``report(listener_csv, catalog)`` returns the figures (``bench/quality.py`` prints them with the
others). Owned-song variants are found with this file's own loose title match (brackets and
" - " tails dropped, case and punctuation folded, an artist in common), not the bot's song key.
Needs ../shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(os.environ.get("QUALITY_ROOT", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT))

from bot.app import assemble  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.catalog import CatalogState  # noqa: E402
from bot.core.replies import ChatUser, Reply  # noqa: E402
from storage.catalog_csv import read_catalog  # noqa: E402
from storage.database import Storage  # noqa: E402
from storage.exportify import read_exportify  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
#: Sentence shapes of each reason kind (the first part of a "why" line).
REASON_KINDS: dict[str, re.Pattern[str]] = {
    "artist": re.compile(r" is on \d+ tracks? you like"),
    "sound": re.compile(r"^sounds like "),
    "era": re.compile(r"the era most of your library"),
    "tempo": re.compile(r"the tempo your library"),
    "mood": re.compile(r"like most of what you save"),
    "context": re.compile(r"fits “|bpm for your|bpm in the|energy \d"),
}


def _title(name: str) -> str:
    name = re.sub(r"[(\[].*?[)\]]", " ", str(name))
    name = re.split(r"\s[-–—]\s", name)[0]
    return " ".join(re.sub(r"[\W_]+", " ", name.casefold()).split())


def _songs(name: str, artists: str) -> set[tuple[str, str]]:
    return {(_title(name), a.strip().casefold()) for a in str(artists).split(";") if a.strip()}


def _kinds(reply: Reply) -> set[str]:
    first = [c.reason.split("; ")[0] for c in reply.tracks]
    return {k for line in first for k, p in REASON_KINDS.items() if p.search(line)}


async def _measure(listener_csv: Path, catalog_path: Path, data_dir: Path) -> dict[str, object]:
    storage = Storage.open(data_dir / "quality.db")
    tracks, genres = read_catalog(catalog_path)
    storage.tracks.replace_catalog(tracks, genres)
    catalog = CatalogState(*storage.tracks.load_catalog(), is_demo=False)
    config = load_config(
        env={"BEATMATCH_STORAGE_DATA_DIR": str(data_dir), "BEATMATCH_RECCOBEATS_ENABLED": "false"}
    )
    app = assemble(config, storage, catalog, cooldown=0.0)
    taste = app.service.taste
    user = ChatUser("console", "quality")
    library = read_exportify(listener_csv).tracks
    owned: set[tuple[str, str]] = set()
    for name, artists in zip(library["name"], library["artists"], strict=True):
        owned |= _songs(name, artists)
    try:
        await taste.import_library(user, str(listener_csv))
        await taste.training.idle()
        await taste.recommend(user, 10)  # the full model serves from here on
        # The same list as without fresh lists (a bot before them has no such option).
        same = {"fresh": "no"} if "fresh" in inspect.signature(taste.recommend).parameters else {}
        big = await taste.recommend(user, 50, **same)
        variants = [
            f"{c.name} — {c.artists}" for c in big.tracks if _songs(c.name, c.artists) & owned
        ]
        seen: set[tuple[str, str]] = set()
        repeats = 0
        for card in big.tracks:
            songs = _songs(card.name, card.artists)
            repeats += bool(songs & seen)
            seen |= songs
        first = await taste.recommend(user, 10)
        second = await taste.recommend(user, 10)
        again = {c.track_id for c in first.tracks} & {c.track_id for c in second.tracks}
        kinds = _kinds(first)
    finally:
        await app.shutdown()
    return {
        "owned_variants_in_50": len(variants),
        "owned_variants": variants,
        "in_list_repeats_in_50": repeats,
        "repeated_between_two_10": len(again),
        "reason_kinds_in_10": len(kinds),
        "reason_kinds": sorted(kinds),
    }


def report(listener_csv: str | Path, catalog: str | Path) -> dict[str, object]:
    """The list-quality figures of one listener (an Exportify CSV) over a catalog CSV."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(Path(listener_csv), Path(catalog), Path(tmp)))


def main() -> int:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--library", default=str(SHARED / "exportify_user_a.csv"))
    parser.add_argument("--catalog", default=str(SHARED / "spotify_tracks.csv.gz"))
    args = parser.parse_args()
    print(json.dumps(report(args.library, args.catalog), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
