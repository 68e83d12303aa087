"""Fitting the genre classifier's models: hold-out split, stacking, blanking, trees, calibration.

Time is what limits the trees: XGBoost grows one tree per genre per round, and a tree's cost grows
with the rows and the columns it reads. So the trees read 30 columns, not 129
(:mod:`recommender.genre.stacking`), and XGBoost starts from the name model's calibrated opinion,
which it then needs fewer rounds to correct. Memory: the forest is grown in small batches and
flattened as it goes (:mod:`recommender.genre.forest`), inputs are float32, and XGBoost reads a
64-bin quantised copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
from recommender.genre.stacking import NameEvidence, stack_features
from recommender.genre.text import NameModel, out_of_fold_log_proba, text_matrix
from recommender.tracks import AUDIO_FEATURES, KAGGLE_NUMERIC

Progress = Callable[[str], None]
_RECCOBEATS_GAPS = ("popularity", "duration_ms", "time_signature")
_NO_AUDIO_GAPS = ("popularity", *AUDIO_FEATURES)
_GAP_COLUMNS = np.array([KAGGLE_NUMERIC.index(c) for c in _RECCOBEATS_GAPS])


@dataclass(frozen=True)
class GenreSettings:
    """Hyper-parameters, sized for ≤ 90 s and ≤ 1 GB on 2 cores on an 80k-track catalog."""

    seed: int = 0
    n_jobs: int = 2
    holdout_fraction: float = 0.15  # of training tracks: half whole artists, half single tracks
    min_holdout_tracks: int = 200  # with fewer training tracks nothing is tuned: defaults are used
    name_folds: int = 5
    forest_trees: int = 20  # the forest earns a ~0.1 share of the vote; 50 trees added nothing
    forest_batch: int = 10
    forest_min_samples_leaf: int = 5
    forest_max_samples: float = 0.5
    forest_max_features: float = 0.3
    forest_max_depth: int = 32
    boost_rounds: int = 200
    boost_depth: int = 4
    boost_learning_rate: float = 0.3
    boost_colsample: float = 0.5
    boost_patience: int = 10
    name_components: int = 12  # principal components of the name model's opinion the trees read
    name_calibration_rows: int = 20_000  # rows that fit the name margin's per-genre scale and bias
    name_margin_weight: float = 0.5  # share of that calibrated margin XGBoost starts from
    blank_reccobeats: float = 0.08  # share of fit rows without popularity/duration/time signature
    blank_audio: float = 0.04  # share of fit rows without any audio feature
    blank_names: float = 0.02  # share of fit rows whose names say nothing
    # a second XGBoost fitted without popularity/duration/metre: audio-features-only unseen top-1
    # 0.350 -> 0.365 on the shared split, for ~12 % more training time (off: the time budget, and
    # ReccoBeats' /track now gives popularity and duration: 0.503 without it)
    reccobeats_booster: bool = False


@dataclass
class FittedParts:
    """What :func:`fit_parts` returns: every model except the priors, and the tuned blend."""

    name_model: NameModel
    evidence: NameEvidence
    forest: CompactForest
    booster: xgb.Booster
    blend: Blend
    report: dict[str, float]
    reccobeats: xgb.Booster | None = None


def reccobeats_only(z: np.ndarray) -> np.ndarray:
    """Which rows (n,) of stacked features ``z`` lack everything ReccoBeats cannot give."""
    return np.isnan(z[:, _GAP_COLUMNS]).all(axis=1)


def audio_parts(
    forest: CompactForest,
    booster: xgb.Booster,
    evidence: NameEvidence,
    z: np.ndarray,
    reccobeats: xgb.Booster | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(RandomForest, XGBoost) probabilities for stacked features ``z``, each (n, n_classes).

    Rows without popularity, duration and time signature go to ``reccobeats`` when there is one:
    a booster that never saw those columns splits on what such a row has.
    """
    x = evidence.inputs(z)
    margin = evidence.margin(z)
    raw = booster.inplace_predict(x, base_margin=margin)
    boosted = np.asarray(raw, dtype=np.float64).reshape(len(z), -1)
    gaps = reccobeats_only(z) if reccobeats is not None else np.zeros(len(z), dtype=bool)
    if reccobeats is not None and gaps.any():
        raw = reccobeats.inplace_predict(x[gaps], base_margin=margin[gaps])
        boosted[gaps] = np.asarray(raw, dtype=np.float64).reshape(int(gaps.sum()), -1)
    return forest.predict_proba(x).astype(np.float64), boosted


def audio_probabilities(
    forest: CompactForest,
    booster: xgb.Booster,
    evidence: NameEvidence,
    z: np.ndarray,
    blend: Blend,
    reccobeats: xgb.Booster | None = None,
) -> np.ndarray:
    """The calibrated RF + XGBoost soft vote on stacked features ``z``, (n, n_classes) float64."""
    forest_p, boosted = audio_parts(forest, booster, evidence, z, reccobeats)
    out = sharpen(audio_mix(forest_p, boosted, blend.forest_share), blend.audio_temperature)
    gaps = reccobeats_only(z)
    if reccobeats is not None and gaps.any():
        mixed = audio_mix(forest_p[gaps], boosted[gaps], blend.reccobeats_forest_share)
        out[gaps] = sharpen(mixed, blend.reccobeats_temperature)
    return out


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
    x: np.ndarray,
    margin: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    evaluation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    settings: GenreSettings,
    say: Progress,
) -> xgb.Booster:
    """Softmax XGBoost on columns ``x`` (n, d) from ``margin`` (n, n_classes) to classes ``y``.

    Stopped early on ``evaluation`` (its columns, margins and class indices) when there is one.
    """
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
    train = xgb.QuantileDMatrix(x, y, base_margin=margin, max_bin=64)
    if evaluation is None:  # nothing held out: a short fixed run
        return xgb.train(params, train, min(settings.boost_rounds, 30), callbacks=[_Report(say)])
    x_held, margin_held, y_held = evaluation
    held = xgb.QuantileDMatrix(x_held, y_held, base_margin=margin_held, ref=train, max_bin=64)
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
    z_rows = z_fit[rows]
    del z_fit

    say(f"name model: calibrating what the trees read of it, on {len(rows):,} rows")
    evidence = NameEvidence.fit(
        z_rows,
        classes,
        n_components=settings.name_components,
        max_rows=settings.name_calibration_rows,
        rng=rng,
        margin_weight=settings.name_margin_weight,
    )
    x_rows, margin_rows = evidence.inputs(z_rows), evidence.margin(z_rows)
    del z_rows

    say(f"random forest: {settings.forest_trees} trees on {len(rows):,} rows")
    forest = CompactForest.fit(
        x_rows,
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
        z_stop = z_out[stop][stop_rows]
        evaluation = (evidence.inputs(z_stop), evidence.margin(z_stop), stop_classes)
    say(f"xgboost: up to {settings.boost_rounds} rounds, {n_classes} genres")
    booster = fit_booster(x_rows, margin_rows, classes, n_classes, evaluation, settings, say)
    reccobeats = None
    if settings.reccobeats_booster:
        say("xgboost: a second booster without popularity, duration and time signature")
        x_rows[:, _GAP_COLUMNS] = np.nan  # the trees' first columns are the numeric features
        if evaluation is not None:
            evaluation[0][:, _GAP_COLUMNS] = np.nan
        reccobeats = fit_booster(x_rows, margin_rows, classes, n_classes, evaluation, settings, say)
    del x_rows, margin_rows

    blend, report = Blend(), {"holdout_tracks": float(len(out))}
    if len(out):
        say(f"calibrating on {len(out):,} held-out tracks ({int(unseen.sum()):,} unseen artists)")
        forest_p, boosted_p = audio_parts(forest, booster, evidence, z_out)
        blend, report = _calibrate(tracks, y, fit, out, unseen, forest_p, boosted_p)
        report["boost_rounds"] = float(booster.num_boosted_rounds())
        if reccobeats is not None and unseen.any():
            z_gaps = z_out[unseen].copy()
            z_gaps[:, _GAP_COLUMNS] = np.nan
            forest_g, boosted_g = audio_parts(forest, booster, evidence, z_gaps, reccobeats)
            tuned = tune_audio(forest_g, boosted_g, y[out[unseen]], Blend())
            blend = replace(
                blend,
                reccobeats_forest_share=tuned.forest_share,
                reccobeats_temperature=tuned.audio_temperature,
            )
            report["reccobeats_boost_rounds"] = float(reccobeats.num_boosted_rounds())
    say("name model: refit on every track")
    return FittedParts(
        NameModel.fit(x_text, y), evidence, forest, booster, blend, report, reccobeats
    )


def _calibrate(
    tracks: pd.DataFrame,
    y: np.ndarray,
    fit: np.ndarray,
    out: np.ndarray,
    unseen: np.ndarray,
    forest_p: np.ndarray,
    boosted_p: np.ndarray,
) -> tuple[Blend, dict[str, float]]:
    """Tune the blend on held-out tracks ``out`` with priors counted on the ``fit`` tracks only.

    ``forest_p`` and ``boosted_p`` (len(out), n_classes) are the audio models' probabilities.
    """
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
    }
    return blend, report


def _rate(p: np.ndarray, y: np.ndarray) -> float:
    """Top-1 hit rate rounded for the report; NaN when there are no rows."""
    return round(top1_hit_rate(p, y), 4) if len(p) else float("nan")
