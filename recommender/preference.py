"""The preference score of a library track: how strongly a listener's own data says they like it.

score = W_POPULARITY · popularity/100
      + W_FREQUENCY  · (distinct sources the track is in, saturating at FREQUENCY_CAP)
      + W_TOP_TRACKS · relevance in the listener's top tracks (rank, weighted by time range)
      + W_TOP_ARTISTS· relevance of its artists in the listener's top artists (likewise)

Each term lies in [0, 1] and the weights sum to 1, so the score does too. Popularity carries little
weight on purpose: a listener's taste is not the world's. Top lists weigh more than one-off saves, and
recent time ranges more than old ones. The score becomes the sample weight of the track as a positive
label (0.5 + score: every saved track counts, favourites count up to three times as much).

Taste moves, so a like also weighs by how recent it is (:func:`recency_factors`): halved every
``half_life_days`` before the listener's newest like ("Added At"; a top list without a date counts
as old as its time range: short ≈ weeks, medium ≈ months, long ≈ a year).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recommender.features import track_artist_keys

W_POPULARITY = 0.10
W_FREQUENCY = 0.30
W_TOP_TRACKS = 0.35
W_TOP_ARTISTS = 0.25
FREQUENCY_CAP = 4
TOP_LIST_LENGTH = 50
#: Spotify's three time ranges: short ≈ 4 weeks, medium ≈ 6 months, long ≈ years.
RANGE_WEIGHTS: Mapping[str, float] = {"top_short": 0.5, "top_medium": 0.3, "top_long": 0.2}
ARTIST_RANGE_WEIGHTS: Mapping[str, float] = {"short": 0.5, "medium": 0.3, "long": 0.2}
#: Sources a library row can come from.
SOURCES: tuple[str, ...] = ("exportify", "saved", "top_short", "top_medium", "top_long", "playlist")
#: How old a like is, in days before the newest, when its row carries no date: Spotify's top lists
#: span ≈ 4 weeks, ≈ 6 months and several years; the middle of each is taken.
UNDATED_AGE_DAYS: Mapping[str, float] = {"top_short": 14.0, "top_medium": 90.0, "top_long": 365.0}


def rank_relevance(rank: float, length: int = TOP_LIST_LENGTH) -> float:
    """1 for the first place of a top list, falling linearly to 1/length for the last; 0 if absent."""
    if rank is None or not np.isfinite(rank) or rank < 1:
        return 0.0
    return max(0.0, 1.0 - (float(rank) - 1.0) / length)


def preference_scores(
    library: pd.DataFrame, tracks: pd.DataFrame, top_artists: pd.DataFrame | None = None
) -> pd.Series:
    """Preference score in [0, 1] per library track_id.

    ``library``: rows (track_id, source, rank); ``tracks``: track table with popularity and artists;
    ``top_artists``: optional rows (artist, time_range ∈ short|medium|long, rank).
    """
    if library.empty:
        return pd.Series(dtype="float64")
    ids = pd.Index(library["track_id"].unique(), name="track_id")
    popularity = tracks["popularity"].reindex(ids).fillna(50.0).clip(0, 100) / 100.0

    sources = library.groupby("track_id")["source"].nunique().reindex(ids).fillna(0)
    frequency = (sources.clip(upper=FREQUENCY_CAP) / FREQUENCY_CAP).astype("float64")

    top_tracks = pd.Series(0.0, index=ids)
    for source, weight in RANGE_WEIGHTS.items():
        rows = library[library["source"] == source]
        if rows.empty:
            continue
        relevance = rows.groupby("track_id")["rank"].min().map(rank_relevance)
        top_tracks = top_tracks.add(weight * relevance.reindex(ids).fillna(0.0), fill_value=0.0)

    artist_relevance: dict[str, float] = {}
    if top_artists is not None and not top_artists.empty:
        for row in top_artists.itertuples(index=False):
            weight = ARTIST_RANGE_WEIGHTS.get(str(row.time_range), 0.0)
            for key in track_artist_keys(str(row.artist)):
                artist_relevance[key] = artist_relevance.get(key, 0.0) + weight * rank_relevance(
                    float(str(row.rank))
                )
    artists = tracks["artists"].reindex(ids).fillna("")
    top_artist_term = artists.map(
        lambda cell: max(
            (artist_relevance.get(k, 0.0) for k in track_artist_keys(cell)), default=0.0
        )
    ).astype("float64")

    score = (
        W_POPULARITY * popularity
        + W_FREQUENCY * frequency
        + W_TOP_TRACKS * top_tracks.clip(0, 1)
        + W_TOP_ARTISTS * top_artist_term.clip(0, 1)
    )
    return score.clip(0.0, 1.0).rename("preference")


def like_age_days(library: pd.DataFrame) -> pd.Series:
    """Days between each library track's like and the listener's newest one, per track_id.

    A row's time is its ``added_at``; a dated-less top-list row is :data:`UNDATED_AGE_DAYS` old;
    any other undated row (a playlist without dates) is NaN. A track in several rows takes its
    youngest. The newest like, not today, is the reference: a listener who stopped adding songs
    a year ago still has a taste, and the same file always gives the same weights.
    """
    if library.empty:
        return pd.Series(dtype="float64")
    added = pd.to_datetime(
        library.get("added_at", pd.Series(None, index=library.index)),
        errors="coerce",
        utc=True,
        format="ISO8601",
    )
    days = (added - added.max()).dt.total_seconds() / -86400.0 if added.notna().any() else None
    age = pd.Series(np.nan, index=library.index, dtype="float64")
    if days is not None:
        age = days.astype("float64")
    undated = library["source"].map(UNDATED_AGE_DAYS).astype("float64")
    age = age.where(age.notna(), undated)
    return pd.Series(age.to_numpy(), index=library["track_id"].to_numpy()).groupby(level=0).min()


def recency_factors(library: pd.DataFrame, half_life_days: float | None) -> pd.Series:
    """A factor in (0, 1] per library track_id: 2^(-age / half_life); 1 everywhere when the
    half-life is None or no row has a time; an undated track takes the median factor."""
    ids = pd.Index(library["track_id"].unique(), name="track_id") if len(library) else None
    if ids is None:
        return pd.Series(dtype="float64")
    if half_life_days is None or half_life_days <= 0:
        return pd.Series(1.0, index=ids)
    age = like_age_days(library).reindex(ids)
    factor = pd.Series(
        np.power(2.0, -age.clip(lower=0.0).to_numpy() / float(half_life_days)), index=ids
    )
    fill = float(factor.median()) if factor.notna().any() else 1.0
    return factor.fillna(fill).rename("recency")


def positive_weights(scores: pd.Series, recency: pd.Series | None = None) -> pd.Series:
    """Sample weight of each library track as a positive label: (0.5 + preference score), times
    its recency factor when one is given."""
    weights = 0.5 + scores
    if recency is not None:
        weights = weights * recency.reindex(weights.index).fillna(1.0)
    return weights.rename("weight")
