"""Fitting the genre classifier's models: hold-out split, stacking, blanking, trees, calibration.

Memory is what limits the trees: the forest is grown in small batches and flattened as it goes
(:mod:`recommender.genre.forest`), inputs are float32, and XGBoost reads a 64-bin quantised copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost as xgb

from recommender.genre.calibration import (
    Blend,
    audio_mix,
    known_artist_mix,
    sharpen,
    top1_hit_rate,
    tune_audio,
    tune_known,
)
from recommender.genre.forest import CompactForest
from recommender.genre.prior import CountTable, prior_keys, track_artists
from recommender.genre.text import NameModel, out_of_fold_log_proba, text_matrix
from recommender.tracks import AUDIO_FEATURES, KAGGLE_NUMERIC

Progress = Callable[[str], None]
_RECCOBEATS_GAPS = ("popularity", "duration_ms", "time_signature")
_NO_AUDIO_GAPS = ("popularity", *AUDIO_FEATURES)


@dataclass(frozen=True)
class GenreSettings:
    """Hyper-parameters, sized for 2 cores, < 3 GB and a < 50 MB model on an 80k-track catalog."""

    seed: int = 0
    n_jobs: int = 2
    holdout_fraction: float = 0.15  # of training tracks: half whole artists, half single tracks
    min_holdout_tracks: int = 200  # with fewer training tracks nothing is tuned: defaults are used
    name_folds: int = 5
    forest_trees: int = 50  # the forest earns a ~0.1–0.2 share of the vote; 100 trees added nothing
    forest_batch: int = 10
    forest_min_samples_leaf: int = 5
    forest_max_samples: float = 0.5
    forest_max_features: float = 0.1
    forest_max_depth: int = 32
    boost_rounds: int = 200
    boost_depth: int = 4
    boost_learning_rate: float = 0.3
    boost_colsample: float = 0.3  # each tree sees ~40 of 129 columns: 2–3× faster than 0.5
    boost_patience: int = 10
    blank_reccobeats: float = 0.08  # share of fit rows without popularity/duration/time signature
    blank_audio: float = 0.04  # share of fit rows without any audio feature
    blank_names: float = 0.02  # share of fit rows whose names say nothing


@dataclass
class FittedParts:
    """What :func:`fit_parts` returns: every model except the priors, and the tuned blend."""

    name_model: NameModel
    forest: CompactForest
    booster: xgb.Booster
    blend: Blend
    report: dict[str, float]


def stack_features(numeric: np.ndarray, name_log_proba: np.ndarray) -> np.ndarray:
    """The trees' input: numeric features beside name log-probabilities, (n, 15 + n_classes)."""
    return np.hstack([numeric, name_log_proba]).astype(np.float32)


def audio_probabilities(
    forest: CompactForest, booster: xgb.Booster, z: np.ndarray, blend: Blend
) -> np.ndarray:
    """The calibrated RF + XGBoost soft vote on stacked features ``z``, (n, n_classes) float64."""
    boosted = np.asarray(booster.inplace_predict(z), dtype=np.float64).reshape(len(z), -1)
    mixed = audio_mix(forest.predict_proba(z).astype(np.float64), boosted, blend.forest_share)
    return sharpen(mixed, blend.audio_temperature)


def holdout_mask(
    first_artists: list[str], settings: GenreSettings, rng: np.random.Generator
) -> np.ndarray:
    """Which tracks (n,) to hold out of the fit: whole artists (unseen-like) and single tracks."""
    n = len(first_artists)
    if n < settings.min_holdout_tracks:
        return np.zeros(n, dtype=bool)
    half = settings.holdout_fraction / 2
    unique = sorted(set(first_artists) - {""})
    chosen = {a for a, r in zip(unique, rng.random(len(unique)), strict=True) if r < half}
    whole = np.array([a in chosen for a in first_artists], dtype=bool)
    return whole | (rng.random(n) < half)


def artist_folds(first_artists: list[str], k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number (n,) per track such that one first artist's tracks share a fold."""
    unique = sorted(set(first_artists))
    fold_of = dict(zip(unique, rng.integers(0, k, len(unique)), strict=True))
    folds = np.array([fold_of[a] for a in first_artists], dtype=np.int64)
    no_artist = np.array([a == "" for a in first_artists], dtype=bool)
    folds[no_artist] = rng.integers(0, k, int(no_artist.sum()))
    return folds


def blank_like_the_feature_chain(
    z: np.ndarray, empty_names: np.ndarray, settings: GenreSettings, rng: np.random.Generator
) -> np.ndarray:
    """A copy of ``z`` (n, d) with some rows' features missing as the feature chain leaves them."""
    z = z.copy()
    draw = rng.random(len(z))
    column = {name: i for i, name in enumerate(KAGGLE_NUMERIC)}
    reccobeats = draw < settings.blank_reccobeats
    no_audio = (draw >= settings.blank_reccobeats) & (
        draw < settings.blank_reccobeats + settings.blank_audio
    )
    gaps = np.array([column[c] for c in _RECCOBEATS_GAPS])
    silent = np.array([column[c] for c in _NO_AUDIO_GAPS])
    z[np.ix_(np.flatnonzero(reccobeats), gaps)] = np.nan
    z[np.ix_(np.flatnonzero(no_audio), silent)] = np.nan
    z[rng.random(len(z)) < settings.blank_names, len(KAGGLE_NUMERIC) :] = empty_names
    return z


class _Report(xgb.callback.TrainingCallback):
    """Passes XGBoost's progress to the caller every 10 rounds."""

    def __init__(self, say: Progress) -> None:
        super().__init__()
        self.say = say

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        """Report, never stop training."""
        if (epoch + 1) % 10 == 0:
            self.say(f"xgboost: {epoch + 1} rounds")
        return False


def fit_booster(
    z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    evaluation: tuple[np.ndarray, np.ndarray] | None,
    settings: GenreSettings,
    say: Progress,
) -> xgb.Booster:
    """Softmax XGBoost on ``z`` (n, d), class indices ``y`` (n,), stopped early on ``evaluation``."""
    params = {
        "objective": "multi:softprob",
        "num_class": n_classes,
        "tree_method": "hist",
        "max_bin": 64,
        "max_depth": settings.boost_depth,
        "eta": settings.boost_learning_rate,
        "subsample": 0.8,
        "colsample_bytree": settings.boost_colsample,
        "min_child_weight": 2.0,
        "nthread": settings.n_jobs,
        "seed": settings.seed,
        "eval_metric": "mlogloss",
    }
    train = xgb.QuantileDMatrix(z, y, max_bin=64)
    if evaluation is None:  # nothing held out: a short fixed run
        return xgb.train(params, train, min(settings.boost_rounds, 30), callbacks=[_Report(say)])
    held = xgb.QuantileDMatrix(evaluation[0], evaluation[1], ref=train, max_bin=64)
    booster = xgb.train(
        params,
        train,
        settings.boost_rounds,
        evals=[(held, "holdout")],
        early_stopping_rounds=settings.boost_patience,
        verbose_eval=False,
        callbacks=[_Report(say)],
    )
    return booster[: booster.best_iteration + 1]


def fit_parts(
    tracks: pd.DataFrame, y: np.ndarray, numeric: np.ndarray, settings: GenreSettings, say: Progress
) -> FittedParts:
    """Fit the name model, forest and booster on ``tracks`` with labels ``y`` (n, n_classes)."""
    rng = np.random.default_rng(settings.seed)
    n_classes = y.shape[1]
    artists = track_artists(tracks)
    first = [a[0] if a else "" for a in artists]
    held = holdout_mask(first, settings, rng)
    fit, out = np.flatnonzero(~held), np.flatnonzero(held)
    x_text = text_matrix(tracks)

    say(f"name model: {settings.name_folds} artist-grouped folds over {len(fit):,} tracks")
    folds = artist_folds([first[i] for i in fit], settings.name_folds, rng)
    name_fit = NameModel.fit(x_text[fit], y[fit])
    empty_names = name_fit.log_proba(sp.csr_matrix((1, x_text.shape[1]), dtype=np.float32))[0]
    z_fit = stack_features(numeric[fit], out_of_fold_log_proba(x_text[fit], y[fit], folds))
    z_fit = blank_like_the_feature_chain(z_fit, empty_names, settings, rng)
    rows, classes = np.nonzero(y[fit])  # one row per (track, label), as the catalog lists them

    say(f"random forest: {settings.forest_trees} trees on {len(rows):,} rows")
    forest = CompactForest.fit(
        z_fit[rows],
        classes,
        n_classes,
        n_trees=settings.forest_trees,
        batch=settings.forest_batch,
        seed=settings.seed,
        n_jobs=settings.n_jobs,
        progress=say,
        min_samples_leaf=settings.forest_min_samples_leaf,
        max_samples=settings.forest_max_samples,
        max_features=settings.forest_max_features,
        max_depth=settings.forest_max_depth,
    )

    fit_artists = {a for i in fit for a in artists[i]}
    unseen = np.array([not any(a in fit_artists for a in artists[i]) for i in out], dtype=bool)
    z_out = stack_features(numeric[out], name_fit.log_proba(x_text[out]))
    # Stop on unseen-artist tracks, the case the trees exist for, when there are enough of them.
    stop = unseen if unseen.sum() >= 50 else np.ones(len(out), dtype=bool)
    evaluation = None
    if stop.any():
        stop_rows, stop_classes = np.nonzero(y[out[stop]])
        evaluation = (z_out[stop][stop_rows], stop_classes)
    say(f"xgboost: up to {settings.boost_rounds} rounds, {n_classes} genres")
    booster = fit_booster(z_fit[rows], classes, n_classes, evaluation, settings, say)

    blend, report = Blend(), {"holdout_tracks": float(len(out))}
    if len(out):
        say(f"calibrating on {len(out):,} held-out tracks ({int(unseen.sum()):,} unseen artists)")
        blend, report = _calibrate(tracks, y, fit, out, unseen, z_out, forest, booster)
    say("name model: refit on every track")
    return FittedParts(NameModel.fit(x_text, y), forest, booster, blend, report)


def _calibrate(
    tracks: pd.DataFrame,
    y: np.ndarray,
    fit: np.ndarray,
    out: np.ndarray,
    unseen: np.ndarray,
    z_out: np.ndarray,
    forest: CompactForest,
    booster: xgb.Booster,
) -> tuple[Blend, dict[str, float]]:
    """Tune the blend on held-out tracks ``out`` with priors counted on the ``fit`` tracks only."""
    forest_p = forest.predict_proba(z_out).astype(np.float64)
    boosted_p = np.asarray(booster.inplace_predict(z_out), dtype=np.float64).reshape(len(out), -1)
    y_out = y[out]
    blend = tune_audio(forest_p[unseen], boosted_p[unseen], y_out[unseen], Blend())
    audio = sharpen(audio_mix(forest_p, boosted_p, blend.forest_share), blend.audio_temperature)
    keys_fit = prior_keys(tracks.iloc[fit])
    keys_out = prior_keys(tracks.iloc[out])
    counts = {
        name: CountTable.build(keys_fit[name], y[fit]).lookup(keys_out[name])
        for name in ("artist", "release", "recording")
    }
    known = counts["artist"].sum(axis=1) > 0
    blend = tune_known(
        counts["artist"][known],
        counts["release"][known],
        counts["recording"][known],
        audio[known],
        y_out[known],
        blend,
    )
    mixed = known_artist_mix(counts["artist"], counts["release"], counts["recording"], audio, blend)
    final = np.where(known[:, None], sharpen(mixed, blend.known_temperature), audio)
    report = {
        "holdout_tracks": float(len(out)),
        "holdout_unseen_tracks": float(unseen.sum()),
        "holdout_unseen_top1": _rate(final[unseen], y_out[unseen]),
        "holdout_known_tracks": float(known.sum()),
        "holdout_known_top1": _rate(final[known], y_out[known]),
        "boost_rounds": float(booster.num_boosted_rounds()),
    }
    return blend, report


def _rate(p: np.ndarray, y: np.ndarray) -> float:
    """Top-1 hit rate rounded for the report; NaN when there are no rows."""
    return round(top1_hit_rate(p, y), 4) if len(p) else float("nan")
