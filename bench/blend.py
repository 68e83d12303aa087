"""Is /blend fair? Least misery vs the plain average vs the most active member's own list.

Simulated listeners: the shared listener's library split by its main catalog genres (one listener
per genre), and listeners made from catalog genre profiles (a sample of the catalog's tracks of two
random genres). Each listener's taste scores the whole catalog as the bot's first guess does
(``recommender.first_guess``: artists and sound, no training). Over 50 groups of 3–5 listeners it
prints, for a 20-track list, the worst-served member's satisfaction (share of the list in their
own top decile) and the members' mean, for the fair blend, the plain average of percentiles, and
the single most active member's (largest library's) own ranking — at two bars of "serves": the
member's own top decile (what the list optimises and the footer shows) and a stricter top 2 %.
Then the same, reported separately, for 20 *minority* groups where averaging fails: 4 listeners
each from a random genre and one of its closest genres (by mean standardised sound) and a fifth
from a genre among the 10 % most distant from it.
Then the time of one blend of 5 members over the whole catalog once their scores exist, and of the
whole service call — ``/blend a b c d 10`` as the console types it, through the product's wiring
and SQLite — for 5 members whose trained models are stored: in a fresh process started as the bot
starts (``bot.app.build``), the first call (models read from disk) and warm calls.

    python bench/blend.py [--catalog PATH] [--library PATH] [--groups 50] [--minority-groups 20]
                          [--seed 0] [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import assemble, build, load_catalog, open_storage
from bot.config import Config, load_config
from bot.core.dispatch import handle_text
from bot.core.replies import ChatUser
from recommender.blend import (
    TOP_DECILE,
    average_pick,
    blend,
    fair_pick,
    member_percentiles,
    single_pick,
)
from recommender.first_guess import GuessIndex, first_guess_scores
from recommender.tracks import AUDIO_FEATURES
from storage.catalog_csv import read_catalog
from storage.exportify import read_exportify

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LIST_SIZE = 20
SPLIT_GENRES = 5  # the shared listener's main genres, one listener each
PROFILE_LISTENERS = 12
PROFILE_TRACKS = 80
#: Groups where averaging fails: 4 listeners from close genres and 1 from a distant one.
MINORITY_GROUPS = 20
CLOSE_GENRES = 4
#: The two bars of "a track serves a member": their own top 10 % and a stricter top 2 %.
BARS = {"top 10 %": TOP_DECILE, "top 2 %": 0.98}
SERVICE_MEMBERS = 5
_SOUND = [c for c in AUDIO_FEATURES if c not in ("key", "mode", "time_signature")]
STRATEGIES = ("fair", "average", "most active")
Figures = dict[tuple[str, str], tuple[list[float], list[float]]]


def _entries(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"track_id": ids, "source": "exportify", "rank": range(len(ids)), "added_at": 0.0}
    )


def listeners(
    catalog: pd.DataFrame, genres: pd.DataFrame, library: Path, rng: np.random.Generator
) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(name, library entries, track table) per simulated listener."""
    parsed = read_exportify(library)
    own = parsed.entries["track_id"].tolist()
    labels = genres[genres["track_id"].isin(own)]
    out = []
    for genre in labels["genre"].value_counts().index[:SPLIT_GENRES]:
        ids = sorted(set(labels.loc[labels["genre"] == genre, "track_id"]))
        out.append((f"user_a/{genre}", _entries(ids), parsed.tracks.loc[ids]))
    names = genres["genre"].unique()
    for i in range(PROFILE_LISTENERS):
        pair = rng.choice(names, size=2, replace=False)
        lib, tracks = profile(catalog, genres, pair, rng)
        out.append((f"profile{i}/{'+'.join(pair)}", lib, tracks))
    return out


def genre_distances(catalog: pd.DataFrame, genres: pd.DataFrame) -> pd.DataFrame:
    """Distance between catalog genres: their mean standardised sound (genre × genre)."""
    columns = [c for c in _SOUND if c in catalog.columns]
    sound = catalog[columns].astype(float)
    sound = (sound - sound.mean()) / sound.std().replace(0, 1)
    centres = sound.loc[genres["track_id"]].groupby(genres["genre"].to_numpy()).mean()
    values = centres.to_numpy()
    gaps = np.sqrt(((values[:, None, :] - values[None, :, :]) ** 2).sum(axis=2))
    return pd.DataFrame(gaps, index=centres.index, columns=centres.index)


def profile(
    catalog: pd.DataFrame, genres: pd.DataFrame, pair: Sequence[str], rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A listener made of a sample of the catalog's tracks of the genres in ``pair``."""
    pool = genres.loc[genres["genre"].isin(list(pair)), "track_id"].unique()
    ids = list(rng.choice(pool, size=min(PROFILE_TRACKS, len(pool)), replace=False))
    return _entries(ids), catalog.loc[ids]


def minority_group(
    catalog: pd.DataFrame, genres: pd.DataFrame, gaps: pd.DataFrame, rng: np.random.Generator
) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """A group where the average forgets someone: 4 listeners each from a random genre and one
    of its close neighbours, and a fifth from a genre among the most distant from it."""
    home = str(rng.choice(gaps.index))
    near = gaps[home].drop(home).nsmallest(CLOSE_GENRES).index
    far = gaps[home].nlargest(len(gaps) // 10).index
    group = []
    for neighbour in near:
        lib, tracks = profile(catalog, genres, (home, str(neighbour)), rng)
        group.append((f"{home}+{neighbour}", lib, tracks))
    odd = str(rng.choice(far))
    lib, tracks = profile(catalog, genres, (odd,), rng)
    group.append((odd, lib, tracks))
    return group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(SHARED / "spotify_tracks.csv.gz"))
    parser.add_argument("--library", default=str(SHARED / "exportify_user_a.csv"))
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--minority-groups", type=int, default=MINORITY_GROUPS)
    parser.add_argument("--first-call", type=Path, help=argparse.SUPPRESS)  # the timed child
    args = parser.parse_args()
    if args.first_call is not None:
        print(json.dumps(asyncio.run(first_call(args.first_call, args.runs))))
        return
    rng = np.random.default_rng(args.seed)
    catalog, genres = read_catalog(args.catalog)
    index = GuessIndex.of(catalog)
    people = listeners(catalog, genres, Path(args.library), rng)
    scores = np.vstack(
        [first_guess_scores(catalog, lib, tracks, index=index)[1] for _, lib, tracks in people]
    )
    sizes = np.array([len(lib) for _, lib, _ in people])
    random_groups = Figures()
    for bar in BARS:
        for name in STRATEGIES:
            random_groups[bar, name] = ([], [])
    for _ in range(args.groups):
        group = rng.choice(len(people), size=int(rng.integers(3, 6)), replace=False)
        owned = set().union(*(set(people[g][1]["track_id"]) for g in group))
        measure(catalog, scores[group], sizes[group], owned, random_groups)
    gaps = genre_distances(catalog, genres)
    minority = Figures()
    for bar in BARS:
        for name in STRATEGIES:
            minority[bar, name] = ([], [])
    odd_ones = []
    for _ in range(args.minority_groups):
        members = minority_group(catalog, genres, gaps, rng)
        odd_ones.append(members[-1][0])
        group_scores = np.vstack(
            [first_guess_scores(catalog, lib, tracks, index=index)[1] for _, lib, tracks in members]
        )
        owned = set().union(*(set(lib["track_id"]) for _, lib, _ in members))
        group_sizes = np.array([len(lib) for _, lib, _ in members])
        measure(catalog, group_scores, group_sizes, owned, minority)
    print(
        f"{len(people)} simulated listeners ({SPLIT_GENRES} from the shared library's main "
        f"genres, {PROFILE_LISTENERS} genre profiles), {args.groups} groups of 3–5, "
        f"{LIST_SIZE} tracks; satisfaction = share of the list in a member's own top 10 % "
        "(or top 2 %) of the catalog"
    )
    report(random_groups)
    print(
        f"\n{args.minority_groups} minority groups: {CLOSE_GENRES} listeners from a genre and its "
        "close neighbours (by mean sound) + 1 from a distant genre "
        f"(e.g. {', '.join(sorted(set(odd_ones))[:4])})"
    )
    report(minority)
    five = scores[:5]
    times = []
    for _ in range(5):
        started = time.perf_counter()
        blend(catalog, five, 10)
        times.append(time.perf_counter() - started)
    print(
        f"blend of 5 members over {len(catalog):,} tracks (scores in memory): "
        f"median {statistics.median(times):.3f} s (budget 1 s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        timed = time_service(Path(args.catalog), Path(args.library), Path(tmp), args.runs)
    warm = timed["warm"]
    print(
        f"/blend of {SERVICE_MEMBERS} members, the whole service call (stored trained models), "
        f"in a fresh process started as the bot starts ({timed['ready']:.1f} s to ready): "
        f"first call {timed['first']:.3f} s; warm median {statistics.median(warm):.3f} s "
        f"(max {max(warm):.3f}, {len(warm)} runs) (budget 1 s)"
    )


def measure(
    catalog: pd.DataFrame, scores: np.ndarray, sizes: np.ndarray, owned: set[str], out: Figures
) -> None:
    """One group's worst and mean satisfaction per strategy and bar, appended to ``out``."""
    keep = ~catalog.index.isin(list(owned))
    rows = np.flatnonzero(keep)
    pool = catalog.iloc[rows]
    pct = member_percentiles(catalog, scores, rows)
    lists = {
        "fair": fair_pick(pool, pct, LIST_SIZE),
        "average": average_pick(pool, pct, LIST_SIZE),
        "most active": single_pick(pool, pct, int(np.argmax(sizes)), LIST_SIZE),
    }
    for name, chosen in lists.items():
        for bar, threshold in BARS.items():
            served = (pct[:, chosen] >= threshold).mean(axis=1)
            out[bar, name][0].append(float(served.min()))
            out[bar, name][1].append(float(served.mean()))


def report(figures: Figures) -> None:
    """The table of worst and mean satisfaction, and fair against average at each bar."""
    print(f"{'serves =':<10} {'strategy':<12} {'worst member':>13} {'mean':>7}")
    for (bar, name), (worst, mean) in figures.items():
        print(f"{bar:<10} {name:<12} {statistics.mean(worst):>13.3f} {statistics.mean(mean):>7.3f}")
    for bar in BARS:
        fair_worst, fair_mean = (statistics.mean(v) for v in figures[bar, "fair"])
        avg_worst, avg_mean = (statistics.mean(v) for v in figures[bar, "average"])
        print(
            f"fair vs average ({bar}): worst ×{fair_worst / max(avg_worst, 1e-9):.2f}, "
            f"mean {100 * (fair_mean - avg_mean) / max(avg_mean, 1e-9):+.1f} %"
        )


def split_library(library: Path, out: Path) -> list[Path]:
    """The shared listener's Exportify CSV dealt into 5 interleaved parts of ~144 tracks, one CSV
    a member of the timed service call (the catalog knows too few of their tracks for a genre
    split to give every member a model)."""
    rows = pd.read_csv(library, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    paths = []
    for i in range(SERVICE_MEMBERS):
        path = out / f"member{i}.csv"
        rows.iloc[i::SERVICE_MEMBERS].to_csv(path, index=False)
        paths.append(path)
    return paths


def _service_config(data_dir: Path) -> Config:
    return load_config(
        env={"BEATMATCH_STORAGE_DATA_DIR": str(data_dir), "BEATMATCH_RECCOBEATS_ENABLED": "false"}
    )


def _command(members: list[ChatUser]) -> str:
    return "/blend " + " ".join(u.user_id for u in members[1:]) + " 10"


async def train_members(catalog_path: Path, library: Path, data_dir: Path) -> None:
    """5 console members in ``data_dir``'s database, each with part of the library, blends
    allowed, and a trained, stored model."""
    config = _service_config(data_dir)
    storage = open_storage(config)
    tracks, genres = read_catalog(catalog_path)
    storage.tracks.replace_catalog(tracks, genres)
    catalog = load_catalog(config, storage, show_progress=False)  # as the bot loads it
    members = [ChatUser("console", f"m{i}") for i in range(SERVICE_MEMBERS)]
    app = assemble(config, storage, catalog, cooldown=0.0)
    try:
        for user, path in zip(members, split_library(library, data_dir), strict=True):
            await app.service.taste.import_library(user, str(path))
            await handle_text(app.service, user, "/privacy blend on")
            await app.service.taste.training.schedule(await app.service.users.uid(user))
        await app.service.taste.training.idle()
    finally:
        await app.shutdown()


async def first_call(data_dir: Path, runs: int) -> dict[str, object]:
    """In a fresh process: start as the bot does (``bot.app.build``: the catalog loaded and
    prepared, the model libraries warming in the background), then time the first ``/blend`` of
    the 5 members (their models on disk only) and ``runs`` warm ones."""
    started = time.perf_counter()
    app = build(_service_config(data_dir), show_progress=False, cooldown=0.0)
    ready = time.perf_counter() - started
    members = [ChatUser("console", f"m{i}") for i in range(SERVICE_MEMBERS)]
    try:
        started = time.perf_counter()
        reply = await handle_text(app.service, members[0], _command(members))
        first = time.perf_counter() - started
        assert not reply.error and len(reply.tracks) == 10, reply.plain_text()
        assert "first guess" not in reply.plain_text(), "a member's model was not trained"
        assert all(u.user_id in reply.footer for u in members), reply.plain_text()
        warm = []
        for _ in range(runs):
            started = time.perf_counter()
            await handle_text(app.service, members[0], _command(members))
            warm.append(time.perf_counter() - started)
    finally:
        await app.shutdown()
    return {"ready": ready, "first": first, "warm": warm}


def time_service(catalog: Path, library: Path, data_dir: Path, runs: int) -> dict[str, Any]:
    """The whole ``/blend`` call for 5 console members with stored models: trained here, then
    timed in a fresh process (:func:`first_call`), as after a restart."""
    asyncio.run(train_members(catalog, library, data_dir))
    child = subprocess.run(
        [sys.executable, __file__, "--first-call", str(data_dir), "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    main()
