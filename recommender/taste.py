"""The per-listener taste model: preference labels → features → RF+XGB ensemble → a score per track.

Its scores are what the one ranker (:mod:`recommender.ranking`) orders for ``/recommend``,
workouts, the digest and ``beatmatch eval next-likes``. It is saved as plain arrays, never a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.candidates import exclude, sample_negatives
from recommender.ensemble import EnsembleSettings, TasteEnsemble
from recommender.features import BASE_FEATURES, FEATURE_NAMES, TasteProfile, feature_matrix
from recommender.model_file import (
    ModelFormat,
    read_model,
    strings_from_arrays,
    strings_to_arrays,
    write_model,
)
from recommender.preference import positive_weights, preference_scores, recency_factors
from recommender.tracks import AUDIO_FEATURES

LIKE_WEIGHT = 1.5
DISLIKE_WEIGHT = 2.0
MIN_NEGATIVES = 3000
MIN_POSITIVES = 5
#: A taste model's file; it is tied to the feature columns its ensemble was fitted on.
TASTE_FILE = ModelFormat(
    name="beatmatch-taste-model",
    version=1,
    what="taste model",
    retrain="It is retrained from the listener's library.",
    layout={"features": list(FEATURE_NAMES)},
)


class NotEnoughTaste(ValueError):
    """Too few library tracks with known features to learn from."""


@dataclass(frozen=True)
class TasteSettings:
    """How training data is drawn and how the two members are blended.

    Many negatives matter: on the shared listener, mean Recall@100 over 5 seeds is 0.19 with 8
    negatives per library track, 0.26 with 25 and 0.28 with 40 (0.28 with 70 as well). The forest
    needs them: trees grown on fewer distinct negatives (a bootstrap of 4,000 or 8,000 rows
    instead of all ~24,000) fall to 0.25 and 0.27.

    The blend is fixed at ``blend_rf_weight`` rather than chosen per listener (``choose_blend``):
    choosing it costs two extra fits on a time-ordered split (~40 % of the fitting time) and
    earns nothing measurable. On the shared listener (next-likes, seeds 0–4, with the same fitted
    members: 120 trees, 150 rounds) the chosen weights (0.5–1.0) gave R@50/R@100/R@500/NDCG@100
    means of 0.200/0.285/0.481/0.496; a fixed 0.7 gives 0.204/0.285/0.481/0.497, 0.5 gives
    0.204/0.286/0.465/0.496. The forest carries the ranking (alone 0.283 R@100, XGBoost alone
    0.181); the booster adds a little near the top.

    Taste moves (issue 15): likes weighed by recency with a half-life of 365 days raise that
    mean Recall@100 from 0.283 to 0.322 (seeds 0–4, per seed 0.319/0.347/0.326/0.306/0.313 vs
    0.271/0.326/0.271/0.285/0.264). Discovery: later likes by artists the listener did not have
    (82 of the 144; :mod:`recommender.evaluation.new_artists`) are found at Recall@100 0.012;
    showing 15 % of the positives as if by a new artist raises that to 0.042 while the overall
    figure stays (0.326); 30 % gives 0.051 but costs 0.014 overall.
    """

    negatives_per_positive: int = 40
    #: A like weighs half as much this many days before the listener's newest (0: all the same).
    recency_half_life_days: float = 365.0
    #: Share of the positives shown as if by a new artist (no artist affinity), so the model also
    #: learns what the listener likes in the sound of artists they do not have yet.
    new_artist_share: float = 0.15
    max_negatives: int = 40_000
    choose_blend: bool = False  # pick the RF/XGB weight on the newest likes (two extra fits)
    blend_rf_weight: float = 0.7  # the forest's share of the vote when it is not chosen
    ensemble: EnsembleSettings = field(default_factory=EnsembleSettings)
    seed: int = 0

    def quick(self) -> TasteSettings:
        """Lighter settings for a first model served within a second while the full one trains.

        8 negatives per library track, 30 trees, 40 rounds: ~0.9 s of CPU for the shared 720-track
        listener, scoring the whole catalog included (the full model: ~5.5 s). It ranks as well as
        40 trees and 60 rounds at 0.15, which cost ~0.2 s more (next-likes R@50/R@100/R@500/
        NDCG@100 means 0.124/0.210/0.424/0.323 vs 0.122/0.210/0.417/0.324); the full model
        reaches 0.283 R@100. With so few negatives the forest is the weaker member, so the vote
        is even (a forest weight of 0.7 gives 0.201 R@100).
        """
        light = replace(self.ensemble, rf_trees=30, xgb_rounds=40, xgb_learning_rate=0.2)
        return replace(
            self,
            negatives_per_positive=8,
            ensemble=light,
            choose_blend=False,
            blend_rf_weight=0.5,
        )


def time_order(library: pd.DataFrame) -> pd.Series:
    """A sortable time per library track: ``added_at`` where known, else inverse rank."""
    added = pd.to_datetime(library["added_at"], errors="coerce", utc=True, format="ISO8601")
    seconds = (added - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    fallback = -pd.to_numeric(library["rank"], errors="coerce").fillna(0)
    order = seconds.where(seconds.notna(), fallback)
    return pd.Series(order.to_numpy(), index=library["track_id"].to_numpy()).groupby(level=0).max()


def taste_weights(
    library: pd.DataFrame,
    tracks: pd.DataFrame,
    feedback: Mapping[str, int] | None = None,
    top_artists: pd.DataFrame | None = None,
    half_life_days: float | None = None,
) -> tuple[pd.Series, list[str]]:
    """(weight per liked track_id, disliked track_ids): library preference weights (times their
    recency factor with a ``half_life_days``), a like pressed in the chat at least
    ``LIKE_WEIGHT`` (it is the newest evidence there is), a disliked track no longer a positive."""
    feedback = dict(feedback or {})
    recency = recency_factors(library, half_life_days) if half_life_days else None
    weights = positive_weights(preference_scores(library, tracks, top_artists), recency)
    for track_id in (t for t, v in feedback.items() if v > 0 and t in tracks.index):
        weights[track_id] = max(float(weights.get(track_id, 0.0)), LIKE_WEIGHT)
    disliked = [t for t, v in feedback.items() if v < 0 and t in tracks.index]
    return weights.drop(index=[t for t in disliked if t in weights.index]), disliked


def with_audio_features(tracks: pd.DataFrame) -> pd.DataFrame:
    """The tracks with enough audio features (6 or more) to learn from."""
    return tracks[tracks[list(AUDIO_FEATURES)].notna().sum(axis=1) >= 6]


def match_missingness(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, columns: int
) -> np.ndarray:
    """Mask values so each of the first ``columns`` features is missing as often among the
    negatives as among the positives. Shape preserved; values are only ever hidden, never changed.

    Whichever side has the feature more often loses it on a random share of its rows: library
    tracks often come from sources without a field the catalog has (Spotify gives no popularity)
    and the catalog lacks fields Spotify has (release year). Without this, "is missing" would tell
    a library row from a catalog row, and a model would learn origin instead of taste.
    """
    out = x.copy()
    sides = (np.flatnonzero(y == 1), np.flatnonzero(y == 0))
    for j in range(columns):
        missing = [float(np.isnan(out[rows, j]).mean()) if len(rows) else 0.0 for rows in sides]
        fuller = 0 if missing[0] < missing[1] else 1
        low, high = missing[fuller], missing[1 - fuller]
        if high - low < 1e-9 or low >= 1.0:
            continue
        rate = (high - low) / (1.0 - low)
        rows = sides[fuller]
        present = rows[~np.isnan(out[rows, j])]
        out[present[rng.random(len(present)) < rate], j] = np.nan
    return out


@dataclass
class TasteModel:
    """A fitted taste model for one listener."""

    profile: TasteProfile
    ensemble: TasteEnsemble
    trained_on: int = 0
    info: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        library: pd.DataFrame,
        tracks: pd.DataFrame,
        catalog: pd.DataFrame,
        feedback: Mapping[str, int] | None = None,
        *,
        top_artists: pd.DataFrame | None = None,
        settings: TasteSettings | None = None,
    ) -> TasteModel:
        """Learn from ``library`` rows (track_id, source, rank, added_at) whose tracks are in
        ``tracks``, against negatives sampled from ``catalog``; ``feedback`` maps ids to ±1."""
        settings = settings or TasteSettings()
        rng = np.random.default_rng(settings.seed)
        weights, disliked = taste_weights(
            library, tracks, feedback, top_artists, settings.recency_half_life_days
        )
        known = with_audio_features(tracks.loc[tracks.index.intersection(weights.index)])
        if len(known) < MIN_POSITIVES:
            raise NotEnoughTaste(f"only {len(known)} library tracks have audio features")
        profile = TasteProfile.from_library(
            tracks.loc[tracks.index.intersection(weights.index)], weights
        )
        pool = exclude(catalog, set(weights.index) | set(disliked))
        n_neg = min(
            max(MIN_NEGATIVES, settings.negatives_per_positive * len(known)),
            settings.max_negatives,
        )
        negatives = sample_negatives(pool, n_neg, rng)
        hard = tracks.loc[disliked]
        if not len(negatives) and not len(hard):
            raise NotEnoughTaste(
                "it holds the whole catalog: no track is left to tell your taste apart from"
            )

        rows = pd.concat([known, negatives, hard])
        y = np.r_[np.ones(len(known)), np.zeros(len(negatives) + len(hard))].astype(int)
        self_weight = weights.reindex(known.index)
        if settings.new_artist_share > 0:
            # An infinite self weight leaves none of the track's artists' weight: affinity 0.
            draw = np.random.default_rng([settings.seed, 15]).random(len(known))
            hidden = draw < settings.new_artist_share
            self_weight = self_weight.where(~hidden, np.inf)
        x = feature_matrix(rows, profile, self_weight)
        x = match_missingness(x, y, rng, len(BASE_FEATURES))
        pos_w = weights.reindex(known.index).to_numpy(dtype=float)
        # Negatives together weigh as much as positives: the model learns a ranking, not a prior.
        neg_w = np.full(len(negatives), pos_w.sum() / max(len(negatives), 1))
        hard_w = np.full(len(hard), DISLIKE_WEIGHT * pos_w.mean())
        sample_weight = np.r_[pos_w, neg_w, hard_w]
        order = np.zeros(len(rows))
        times = time_order(library).reindex(known.index)
        # A like pressed in the chat is the newest evidence there is.
        order[: len(known)] = times.fillna(times.max() + 1 if times.notna().any() else 0).to_numpy()
        members = replace(settings.ensemble, seed=settings.ensemble.seed + settings.seed)
        ensemble = TasteEnsemble(members, weight=settings.blend_rf_weight).fit(
            x, y, sample_weight, order if settings.choose_blend else None
        )
        info = {
            "positives": float(len(known)),
            "negatives": float(len(negatives)),
            "dislikes": float(len(hard)),
            "blend_rf_weight": ensemble.weight,
        }
        return cls(profile=profile, ensemble=ensemble, trained_on=len(known), info=info)

    def score(self, candidates: pd.DataFrame) -> np.ndarray:
        """Taste score per candidate row, shape (n_candidates,); higher is more to their taste."""
        if candidates.empty:
            return np.zeros(0)
        return self.ensemble.score(feature_matrix(candidates, self.profile))

    def predict(self, tracks: pd.DataFrame) -> np.ndarray:
        """The model interface's prediction: :meth:`score`, shape (n_tracks,)."""
        return self.score(tracks)

    def save(self, path: Path) -> None:
        """Write the model to ``path``: one .npz-format file of plain arrays, no pickle."""
        profile = self.profile
        ensemble_meta, arrays = self.ensemble.to_arrays("ensemble__")
        arrays.update(strings_to_arrays(list(profile.artist_weight), "profile_weight_keys__"))
        arrays["profile_weight_values"] = np.array(
            list(profile.artist_weight.values()), dtype=np.float64
        )
        arrays.update(strings_to_arrays(list(profile.artist_count), "profile_count_keys__"))
        arrays["profile_count_values"] = np.array(
            list(profile.artist_count.values()), dtype=np.int64
        )
        meta: dict[str, Any] = {
            "trained_on": self.trained_on,
            "info": self.info,
            "profile_total_weight": profile.total_weight,
            "ensemble": ensemble_meta,
        }
        write_model(Path(path), TASTE_FILE, meta, arrays)

    @classmethod
    def load(cls, path: Path) -> TasteModel:
        """Read a model written by :meth:`save`; ValueError for any other file (an old pickle too)."""
        meta, arrays = read_model(Path(path), TASTE_FILE)
        try:
            return cls._from_parts(meta, arrays)
        except (KeyError, TypeError, ValueError) as error:
            raise TASTE_FILE.error(f"{Path(path).name} is incomplete ({error!r}).") from None

    @classmethod
    def _from_parts(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> TasteModel:
        """The model from a file's header and arrays (KeyError/TypeError/ValueError if off)."""
        weight_keys = strings_from_arrays(arrays, "profile_weight_keys__")
        count_keys = strings_from_arrays(arrays, "profile_count_keys__")
        weights = arrays["profile_weight_values"].astype(np.float64).tolist()
        counts = arrays["profile_count_values"].astype(np.int64).tolist()
        if len(weights) != len(weight_keys) or len(counts) != len(count_keys):
            raise ValueError("the profile's keys and values differ in length")
        profile = TasteProfile(
            artist_weight=dict(zip(weight_keys, weights, strict=True)),
            total_weight=float(meta["profile_total_weight"]),
            artist_count=dict(zip(count_keys, counts, strict=True)),
        )
        return cls(
            profile=profile,
            ensemble=TasteEnsemble.from_arrays(meta["ensemble"], arrays, "ensemble__"),
            trained_on=int(meta["trained_on"]),
            info={str(k): float(v) for k, v in meta["info"].items()},
        )
