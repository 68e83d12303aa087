"""Moods within taste and genres beyond the catalog (issue 15, items 3 and 5), on the shared data.

    .venv/bin/python bench/quality_genre.py [--skip-genre] [--json]

Prints, for the shared listener (../shared/data/exportify_user_a.csv):

* the share of ``mood:energetic`` and ``bpm:128`` picks (``/recommend 10`` with that context)
  whose artist is in the library or one of whose catalog genres is among the listener's top
  genres (target >= 0.8);
* genre top-1/top-3 on the unseen-artist tracks of a grouped 80/20 split of the catalog, with only
  what ReccoBeats gives (no popularity, duration, time signature), and the expected calibration
  error of the top-1 probability on those tracks (``--skip-genre`` leaves this out: it trains the
  full classifier, about two minutes on 2 cores).

:func:`report` returns the figures as a dict; ``bench/quality.py`` calls it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bot/__main__ sets it

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recommender.context import Context  # noqa: E402
from recommender.ranking import select  # noqa: E402
from recommender.taste import TasteModel, TasteSettings  # noqa: E402
from recommender.tracks import split_artists  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CATALOG = SHARED / "spotify_tracks.csv.gz"
LIBRARY = SHARED / "exportify_user_a.csv"
#: The listener's top genres: the likeliest catalog genres of their library, this many.
TOP_GENRES = 8
CONTEXTS: dict[str, Context] = {
    "mood:energetic": Context(mood="energetic"),
    "bpm:128": Context(bpm=128.0),
}
#: What ReccoBeats cannot give: blanked for the "ReccoBeats-only" genre figures.
NOT_FROM_RECCOBEATS = ("popularity", "duration_ms", "time_signature")


def library_genres(
    library_tracks: pd.DataFrame, catalog: pd.DataFrame, labels: pd.DataFrame
) -> Counter[str]:
    """How often each catalog genre is the genre of a library track's artists (catalog labels of
    every catalog track by the same artist, each artist's labels shared out to sum to 1)."""
    by_artist: dict[str, Counter[str]] = {}
    genre_of = labels.groupby("track_id")["genre"].agg(list)
    for track_id, cell in zip(catalog.index, catalog["artists"], strict=True):
        for artist in split_artists(cell):
            by_artist.setdefault(artist.lower(), Counter()).update(genre_of.get(track_id, []))
    out: Counter[str] = Counter()
    for cell in library_tracks["artists"]:
        for artist in split_artists(cell):
            counts = by_artist.get(artist.lower())
            if counts:
                total = sum(counts.values())
                out.update({g: c / total for g, c in counts.items()})
    return out


def mood_shares(catalog: pd.DataFrame, labels: pd.DataFrame, n: int = 10) -> dict[str, object]:
    """Share of each context's ``n`` picks within the listener's taste (library artist or top
    genre), and the picks themselves."""
    from storage.exportify import read_exportify

    library = read_exportify(LIBRARY)
    entries = library.entries.copy()
    entries["source"] = "exportify"
    known = pd.concat(
        [
            catalog.loc[catalog.index.intersection(library.tracks.index)],
            library.tracks.loc[library.tracks.index.difference(catalog.index)],
        ]
    )
    model = TasteModel.fit(entries, known, catalog, settings=TasteSettings(seed=0))
    scores = model.score(catalog)
    keep = ~catalog.index.isin(known.index)
    top = [g for g, _ in library_genres(known, catalog, labels).most_common(TOP_GENRES)]
    artists = {a.lower() for cell in known["artists"] for a in split_artists(cell)}
    genre_of = labels.groupby("track_id")["genre"].agg(set)
    out: dict[str, object] = {"top_genres": top}
    for name, context in CONTEXTS.items():
        picks = select(
            catalog, scores, n, library=known, profile=model.profile, context=context, keep=keep
        ).picks
        within = [
            bool({a.lower() for a in split_artists(catalog.at[p.track_id, "artists"])} & artists)
            or bool(genre_of.get(p.track_id, set()) & set(top))
            for p in picks
        ]
        out[f"{name} within top genres"] = round(float(np.mean(within)), 3) if picks else 0.0
        out[f"{name} picks"] = [
            f"{catalog.at[p.track_id, 'artists']} - {catalog.at[p.track_id, 'name']}"
            f" [{', '.join(sorted(genre_of.get(p.track_id, set())))}]"
            for p in picks
        ]
    return out


def expected_calibration_error(confidence: np.ndarray, hit: np.ndarray, bins: int = 10) -> float:
    """ECE of top-1 probabilities: the hit rate's gap to the mean confidence, bin-weighted."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(hit[inside].mean() - confidence[inside].mean())
    return round(float(gap), 4)


def genre_figures(catalog: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float | int]:
    """Top-1/top-3 and ECE on unseen-artist tracks of the grouped split, ReccoBeats-only."""
    from recommender.evaluation.genre import artist_set, split_catalog_by_track
    from recommender.genre import GenreClassifier, catalog_genres

    train, train_labels, test, test_labels = split_catalog_by_track(catalog, labels, 0.2, seed=0)
    model = GenreClassifier.fit(train, train_labels, seed=0)
    known_artists = artist_set(train)
    unseen = [not ({a for a in split_artists(cell)} & known_artists) for cell in test["artists"]]
    test = test[np.asarray(unseen)]
    truth = catalog_genres(test_labels, test.index)
    test = test.loc[[t for t in test.index if t in truth]].copy()
    out: dict[str, float | int] = {"unseen_artist_tracks": len(test)}
    for name, blank in (("full", ()), ("reccobeats", NOT_FROM_RECCOBEATS)):
        frame = test.copy()
        for column in blank:
            frame[column] = np.nan
        proba = model.predict_proba(frame)
        order = np.argsort(-proba, axis=1)[:, :3]
        classes = np.asarray(model.classes)
        hit1 = np.array(
            [classes[o[0]] in truth[t] for o, t in zip(order, frame.index, strict=True)]
        )
        hit3 = np.array(
            [
                any(classes[j] in truth[t] for j in o)
                for o, t in zip(order, frame.index, strict=True)
            ]
        )
        out[f"{name} unseen top1"] = round(float(hit1.mean()), 4)
        out[f"{name} unseen top3"] = round(float(hit3.mean()), 4)
        out[f"{name} unseen ECE"] = expected_calibration_error(proba.max(axis=1), hit1)
    return out


def report(
    *, genre: bool = True, catalog: pd.DataFrame | None = None, labels: pd.DataFrame | None = None
) -> dict[str, object]:
    """Every figure of this bench as one dict (``genre=False`` skips the classifier's)."""
    if catalog is None or labels is None:
        from storage.catalog_csv import read_catalog

        catalog, labels = read_catalog(CATALOG)
    out = mood_shares(catalog, labels)
    if genre:
        out.update(genre_figures(catalog, labels))
    return out


def main() -> int:
    """Print the figures (or one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-genre", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = report(genre=not args.skip_genre)
    if args.json:
        print(json.dumps(figures))
        return 0
    for key, value in figures.items():
        if isinstance(value, list):
            print(f"{key}:")
            for item in value:
                print(f"    {item}")
        else:
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
