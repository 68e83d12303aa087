"""/stats in numbers: the user's taste against the catalog — its sound, top genres, feedback.

Pure functions over track tables; ``bot.core.insight.stats_chart`` draws them and
``bot.core.insight.service`` gathers the user's tracks and genres off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

TOP_GENRES = 8

#: (column, label, low, high): the audio features profiled; low/high scale the chart's axis.
PROFILE_FEATURES: tuple[tuple[str, str, float, float], ...] = (
    ("danceability", "danceability", 0.0, 1.0),
    ("energy", "energy", 0.0, 1.0),
    ("valence", "valence (cheerful)", 0.0, 1.0),
    ("acousticness", "acousticness", 0.0, 1.0),
    ("instrumentalness", "instrumentalness", 0.0, 1.0),
    ("speechiness", "speechiness", 0.0, 1.0),
    ("liveness", "liveness", 0.0, 1.0),
    ("tempo", "tempo (60–200 bpm)", 60.0, 200.0),
    ("loudness", "loudness (−30–0 dB)", -30.0, 0.0),
)


@dataclass(frozen=True)
class FeatureLine:
    """One audio feature: the user's median against the catalog's quartiles."""

    column: str
    label: str
    low: float  # axis bounds of the chart
    high: float
    user: float  # median over the user's tracks
    catalog_q1: float
    catalog_median: float
    catalog_q3: float
    percentile: float  # share of catalog tracks at or below the user's median, 0–100


@dataclass(frozen=True)
class TasteStats:
    """Everything /stats shows."""

    tracks: int  # taste tracks: library plus liked tracks
    sources: Mapping[str, int]  # library tracks per source (exportify, saved, top, …)
    likes: int
    dislikes: int
    features: tuple[FeatureLine, ...]
    genres: tuple[tuple[str, float], ...]  # (genre, share of the taste tracks), largest first
    classified: int  # tracks whose genre the classifier named (no catalog label)
    unclassified: int = 0  # tracks without a catalog label while the classifier isn't ready


def feature_profile(taste: pd.DataFrame, catalog: pd.DataFrame) -> tuple[FeatureLine, ...]:
    """The user's median of each profiled feature, placed among the catalog's values."""
    lines = []
    for column, label, low, high in PROFILE_FEATURES:
        if column not in taste.columns or column not in catalog.columns:
            continue
        mine = pd.to_numeric(taste[column], errors="coerce").dropna()
        theirs = pd.to_numeric(catalog[column], errors="coerce").dropna().to_numpy()
        if mine.empty or len(theirs) == 0:
            continue
        median = float(mine.median())
        q1, mid, q3 = (float(v) for v in np.quantile(theirs, [0.25, 0.5, 0.75]))
        share = float((theirs <= median).mean() * 100.0)
        lines.append(FeatureLine(column, label, low, high, median, q1, mid, q3, share))
    return tuple(lines)


def genre_shares(
    track_ids: Iterable[str],
    labels: Callable[[str], list[str]],
    predicted: Mapping[str, str],
    top: int = TOP_GENRES,
) -> tuple[tuple[str, float], ...]:
    """Share of the tracks per genre: catalog labels split a track evenly, else the prediction."""
    weights: dict[str, float] = {}
    total = 0
    for track_id in track_ids:
        names = labels(track_id) or ([predicted[track_id]] if track_id in predicted else [])
        if not names:
            continue
        total += 1
        for name in names:
            weights[name] = weights.get(name, 0.0) + 1.0 / len(names)
    if not total:
        return ()
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple((name, weight / total) for name, weight in ranked)


def distinctive(features: Iterable[FeatureLine], count: int = 3) -> list[str]:
    """Phrases for the features where the user sits furthest from the catalog's middle."""
    ranked = sorted(features, key=lambda f: abs(f.percentile - 50.0), reverse=True)
    phrases = []
    for line in ranked[:count]:
        if abs(line.percentile - 50.0) < 15.0:
            break
        name = line.label.split(" (")[0]
        if line.percentile >= 50.0:
            phrases.append(f"{name} above {line.percentile:.0f}% of the catalog")
        else:
            phrases.append(f"{name} below {100.0 - line.percentile:.0f}% of the catalog")
    return phrases


def describe_stats(stats: TasteStats) -> str:
    """The text that goes with the chart."""
    library = sum(stats.sources.values())
    sources = ", ".join(f"{name} {n}" for name, n in sorted(stats.sources.items()))
    if library:
        origin = f"{library} in your library" + (f" ({sources})" if sources else "")
        origin += ", and the ones you liked." if stats.likes else "."
    else:
        origin = "the ones you liked."
    lines = [
        f"Taste from {stats.tracks} tracks: {origin}",
        f"Feedback: {stats.likes} liked, {stats.dislikes} disliked.",
    ]
    if stats.genres:
        top = ", ".join(f"{name} {share:.0%}" for name, share in stats.genres[:5])
        lines.append(f"Top genres: {top}.")
        if stats.classified:
            lines.append(
                f"({stats.classified} tracks had no catalog genre: the classifier named them.)"
            )
    if stats.unclassified:
        lines.append(
            f"({stats.unclassified} tracks have no catalog genre and the genre classifier isn't "
            "ready yet, so they aren't counted; /stats again later includes them.)"
        )
    phrases = distinctive(stats.features)
    if phrases:
        lines.append("Against the catalog: " + "; ".join(phrases) + ".")
    elif not stats.features:
        lines.append("None of your tracks has known audio features yet.")
    return "\n".join(lines)
