"""Link → first playlist for a 2,000-track Spotify library, against fakes that add 100 ms a call.

    .venv/bin/python bench/link_to_playlist.py [--latency 0.1] [--tracks 2000] [--quick-model]

The whole product path as ``bot.app.build`` wires it: /link spotify → the browser's consent →
paste-back (code exchange, /me) → reading saved tracks, top lists and own playlists → features
(catalog, then ReccoBeats at 40 ids a call) → taste model → /recommend 20 playlist:yes (random
search candidates, POST /me/playlists, POST /playlists/{id}/items). It runs twice: as shipped
(pages whose offsets are known read at once, features looked up page by page as they arrive) and
as a plain reader would: every call one after another, features only once the whole library is
read. It prints both times, where the time went, and the ratios. A small untimed run goes first
(the first model fit in a process pays one-time library costs); each run's shutdown waits for its
background training, so no run competes with the previous one's. ``--quick-model`` trains a small ensemble
(40 trees / 40 rounds) to show the flow without the production model's training time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.dispatch import handle_text  # noqa: E402
from bot.core.replies import ChatUser  # noqa: E402
from bot.sources.spotify import SpotifyGateway  # noqa: E402
from recommender.ensemble import EnsembleSettings  # noqa: E402
from recommender.taste import TasteSettings  # noqa: E402
from tests.fakes.fake_reccobeats import FakeReccoBeats  # noqa: E402
from tests.fakes.fake_spotify import FakeSpotify  # noqa: E402
from tests.fakes.spotify_world import populate  # noqa: E402

USER = ChatUser("console", "bench", "bench")
PLAYLISTS = 3


@dataclass
class Run:
    """Where one run's time went (seconds from the /link command)."""

    linked: float = 0.0
    read: float = 0.0
    features: float = 0.0
    playlist: float = 0.0
    training: float = 0.0
    spotify_calls: int = 0
    reccobeats_calls: int = 0
    max_in_flight: int = 0
    tracks: int = 0
    notes: list[tuple[float, str]] = field(default_factory=list)


async def one_run(args: argparse.Namespace, sequential: bool) -> Run:
    """The whole path once, against fresh fakes and a fresh data directory."""
    spotify = FakeSpotify(latency=args.latency)
    recco = FakeReccoBeats(latency=args.latency)
    await spotify.start()
    await recco.start()
    data = Path(tempfile.mkdtemp(prefix="bench-link-"))
    config = load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(data),
            "BEATMATCH_CATALOG_DEMO_SIZE": str(args.catalog_size),
            "BEATMATCH_SPOTIFY_CLIENT_ID": spotify.client_id,
            "BEATMATCH_SPOTIFY_CLIENT_SECRET": spotify.client_secret,
            "BEATMATCH_SPOTIFY_API_BASE": spotify.api_base,
            "BEATMATCH_SPOTIFY_ACCOUNTS_BASE": spotify.accounts_base,
            "BEATMATCH_RECCOBEATS_API_BASE": recco.api_base,
        }
    )
    app = await asyncio.to_thread(build, config, show_progress=False, cooldown=0.0)
    if args.quick_model:
        quick = EnsembleSettings(rf_trees=40, xgb_rounds=40)
        app.service.taste.models.settings = TasteSettings(ensemble=quick)
    gateway, library = app.spotify, app.service.taste.library
    assert isinstance(gateway, SpotifyGateway) and library is not None
    if sequential:
        gateway.pool = ThreadPoolExecutor(max_workers=1)
        library.reader.overlap = False  # read everything, then look features up
        for source in library.reader.chain.sources:
            source.concurrency = 1
    per_playlist = args.tracks // 10
    populate(
        spotify,
        recco,
        app.catalog.tracks,
        saved=args.tracks - PLAYLISTS * per_playlist,
        playlist_items=per_playlist,
        search_only=200,
    )
    run = Run()
    started = time.perf_counter()

    async def notify(message: str) -> None:
        run.notes.append((time.perf_counter() - started, message))

    reply = await handle_text(app.service, USER, "/link spotify", notify=notify)
    url = next(w for w in reply.text.split() if "authorize" in w)
    async with aiohttp.ClientSession() as browser, browser.get(url, allow_redirects=False) as r:
        landed = r.headers["Location"]
    linked = await handle_text(app.service, USER, landed, notify=notify)
    assert not linked.error, linked.text
    run.linked = time.perf_counter() - started
    made = await handle_text(app.service, USER, "/recommend 20 playlist:yes", notify=notify)
    run.playlist = time.perf_counter() - started
    assert not made.error and any("open.spotify.com/playlist/" in n for n in made.notes), made
    for at, message in run.notes:
        if "looking up their audio features" in message:
            run.read = at
        if "Learning your taste now" in message:
            run.features = at
    uid = await app.service.users.uid(USER)
    # The first answer uses the quick first model (the full one trains afterwards): everything
    # after the features arrived is that model, the selection and the playlist calls.
    run.training = run.playlist - run.features if run.features else 0.0
    run.tracks = app.storage.taste.library_size(uid)
    run.spotify_calls = len(spotify.requests)
    run.reccobeats_calls = len(recco.requests)
    run.max_in_flight = spotify.max_in_flight
    await app.shutdown()  # waits for background training; closes the Spotify gateway
    await spotify.stop()
    await recco.stop()
    shutil.rmtree(data, ignore_errors=True)
    return run


def show(name: str, run: Run) -> None:
    """One run's figures."""
    print(
        f"{name:>11}: first playlist {run.playlist:6.2f} s  (linked {run.linked:.2f}, library read "
        f"{run.read:.2f}, features {run.features:.2f}, first model + playlist {run.training:.2f} s of it)  "
        f"{run.tracks:,} tracks, {run.spotify_calls} Spotify + {run.reccobeats_calls} ReccoBeats "
        f"calls, ≤ {run.max_in_flight} at once"
    )


async def main() -> int:
    """Run both variants and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to each call")
    parser.add_argument("--tracks", type=int, default=2000, help="tracks in the library")
    parser.add_argument("--catalog-size", type=int, default=3000, help="demo catalog size")
    parser.add_argument("--quick-model", action="store_true", help="a small first model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # A small untimed run first: the first model fit in a process pays one-time library costs.
    await one_run(argparse.Namespace(**{**vars(args), "latency": 0.0, "tracks": 300}), False)
    fast = await one_run(args, sequential=False)
    slow = await one_run(args, sequential=True)
    print(
        f"link → first playlist, {args.tracks:,}-track library, +{args.latency * 1000:.0f} ms "
        f"per call, demo catalog of {args.catalog_size:,}"
        + (", quick first model" if args.quick_model else ", production taste model")
    )
    show("concurrent", fast)
    show("sequential", slow)
    io_fast = fast.features - fast.linked
    io_slow = slow.features - slow.linked
    print(
        f"ratio (sequential / concurrent): end to end {slow.playlist / fast.playlist:.1f}×, "
        f"reading library + features {io_slow / io_fast:.1f}×"
    )
    print(
        f"up to the features:     {fast.playlist - fast.training:.2f} s "
        f"(sequential {slow.playlist - slow.training:.2f} s, "
        f"{(slow.playlist - slow.training) / (fast.playlist - fast.training):.1f}×)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
