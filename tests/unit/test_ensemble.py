"""The RF + XGBoost soft vote on tiny problems with known answers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from recommender.ensemble import (
    BLEND_GRID,
    MIN_POSITIVES_FOR_BLEND,
    EnsembleSettings,
    TasteEnsemble,
)
from recommender.ensemble_members import FlatForest, RawBooster

FAST = EnsembleSettings(rf_trees=20, xgb_rounds=20, n_jobs=1)
VALIDATION_KEYS = {f"auc_w{w:.1f}" for w in BLEND_GRID} | {"validation_positives"}


def _separable(n: int, seed: int, n_features: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Positives are the rows whose first feature exceeds 0.7; the rest is noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n, n_features))
    return x, (x[:, 0] > 0.7).astype(int)


def _xor(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positives where exactly one of two features is high: no additive model of stumps sees it."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n, 4))
    return x, ((x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)).astype(int)


@pytest.fixture(scope="module")
def fitted() -> tuple[TasteEnsemble, np.ndarray, np.ndarray]:
    """An ensemble fitted on 400 rows; returned with 200 held-out rows."""
    x, y = _separable(600, seed=1)
    order = np.arange(400, dtype=float)
    model = TasteEnsemble(FAST).fit(x[:400], y[:400], order=order)
    return model, x[400:], y[400:]


# ---------------------------------------------------------------- ranking


def test_held_out_positives_rank_above_negatives(fitted) -> None:
    model, x_test, y_test = fitted
    assert roc_auc_score(y_test, model.score(x_test)) > 0.9


def test_scores_are_probabilities_one_per_row(fitted) -> None:
    model, x_test, _ = fitted
    scores = model.score(x_test)
    assert scores.shape == (len(x_test),)
    assert ((scores >= 0.0) & (scores <= 1.0)).all()


def test_score_blends_the_members_by_weight(fitted) -> None:
    model, x_test, _ = fitted
    p_rf = model.rf.predict_proba(x_test)[:, 1]
    p_xgb = model.xgb.predict_proba(x_test)[:, 1]
    expected = model.weight * p_rf + (1 - model.weight) * p_xgb
    np.testing.assert_allclose(model.score(x_test), expected)


def test_sample_weights_are_accepted(fitted) -> None:
    x, y = _separable(300, seed=2)
    weights = np.where(y == 1, 1.5, 0.2)
    model = TasteEnsemble(FAST).fit(x, y, sample_weight=weights)
    assert roc_auc_score(y, model.score(x)) > 0.9


def test_missing_values_are_tolerated() -> None:
    x, y = _separable(300, seed=3)
    x = x.copy()
    x[::7, 2] = np.nan
    x[::11, 0] = np.nan
    model = TasteEnsemble(FAST).fit(x, y)
    assert np.isfinite(model.score(x)).all()


def test_score_before_fit_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before fit"):
        TasteEnsemble(FAST).score(np.zeros((2, 3)))


def test_fitting_twice_with_one_seed_gives_the_same_scores() -> None:
    x, y = _separable(300, seed=4)
    order = np.arange(len(y), dtype=float)
    a = TasteEnsemble(FAST).fit(x, y, order=order)
    b = TasteEnsemble(FAST).fit(x, y, order=order)
    assert a.weight == b.weight
    np.testing.assert_array_equal(a.score(x), b.score(x))


# ---------------------------------------------------------------- the blend weight


def test_blend_weight_is_from_the_grid_and_validation_is_reported(fitted) -> None:
    model, _, _ = fitted
    assert model.weight in BLEND_GRID
    assert set(model.validation) == VALIDATION_KEYS
    for key in VALIDATION_KEYS - {"validation_positives"}:
        assert 0.0 <= model.validation[key] <= 1.0


def test_a_fifth_of_the_positives_are_held_out(fitted) -> None:
    model, _, _ = fitted
    _, y = _separable(600, seed=1)
    n_pos = int(y[:400].sum())
    assert model.validation["validation_positives"] == max(5, int(n_pos * 0.2))


def test_when_both_members_are_perfect_the_even_blend_wins(fitted) -> None:
    model, _, _ = fitted
    assert {model.validation[f"auc_w{w:.1f}"] for w in BLEND_GRID} == {1.0}
    assert model.weight == 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_only_the_forest_sees_an_interaction_so_it_gets_the_weight(seed: int) -> None:
    # XGBoost restricted to stumps can only add one-feature effects: blind to XOR.
    x, y = _xor(600, seed)
    settings = replace(FAST, xgb_depth=1, xgb_learning_rate=1.0, seed=seed)
    order = np.random.default_rng(seed).permutation(len(y)).astype(float)
    model = TasteEnsemble(settings).fit(x, y, order=order)
    assert model.validation["auc_w0.0"] < 0.7  # XGBoost alone
    assert model.validation["auc_w1.0"] > 0.95  # the forest alone
    assert model.weight >= 0.8


@pytest.mark.parametrize("seed", [0, 1])
def test_a_blind_forest_never_outweighs_a_seeing_booster(seed: int) -> None:
    # A forest that looks at one random feature of 60 per split barely finds the signal.
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (600, 60))
    y = (x[:, 0] > 0.8).astype(int)
    settings = replace(FAST, rf_max_features=1 / 60, rf_min_samples_leaf=1, seed=seed)
    order = rng.permutation(len(y)).astype(float)
    model = TasteEnsemble(settings).fit(x, y, order=order)
    assert model.validation["auc_w0.0"] > model.validation["auc_w1.0"]
    assert model.weight <= 0.5


def test_the_newest_positives_are_the_ones_held_out() -> None:
    # The 80 oldest positives are easy to spot; the 20 newest look exactly like negatives.
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, (500, 3))
    y = np.zeros(500, dtype=int)
    y[:100] = 1
    x[:80, 0] += 4.0
    order = np.zeros(500)
    order[:100] = np.arange(100)  # rows 80..99 are the newest

    newest_are_noise = TasteEnsemble(FAST).fit(x, y, order=order)
    newest_are_easy = TasteEnsemble(FAST).fit(x, y, order=-order)

    best = max(newest_are_noise.validation[f"auc_w{w:.1f}"] for w in BLEND_GRID)
    assert best < 0.75
    assert min(newest_are_easy.validation[f"auc_w{w:.1f}"] for w in BLEND_GRID) > 0.95
    assert newest_are_noise.validation["validation_positives"] == 20


def test_with_too_few_positives_the_default_weight_stays() -> None:
    x, y = _separable(400, seed=6)
    positives = np.flatnonzero(y == 1)
    y = y.copy()
    y[positives[MIN_POSITIVES_FOR_BLEND - 1 :]] = 0  # one short of enough
    assert y.sum() == MIN_POSITIVES_FOR_BLEND - 1
    model = TasteEnsemble(FAST).fit(x, y, order=np.arange(len(y), dtype=float))
    assert model.weight == 0.5
    assert model.validation == {}


def test_without_an_order_the_default_weight_stays() -> None:
    x, y = _separable(400, seed=7)
    model = TasteEnsemble(FAST).fit(x, y)
    assert model.weight == 0.5
    assert model.validation == {}


# ---------------------------------------------------------------- save / load


def test_save_load_round_trip_preserves_scores(fitted, tmp_path: Path) -> None:
    model, x_test, _ = fitted
    path = tmp_path / "nested" / "taste.model"
    model.save(path)
    loaded = TasteEnsemble.load(path)
    np.testing.assert_allclose(loaded.score(x_test), model.score(x_test), rtol=0, atol=1e-12)
    assert loaded.weight == model.weight
    assert loaded.validation == model.validation
    assert loaded.settings == model.settings


def test_save_leaves_no_temporary_file(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted
    model.save(tmp_path / "taste.model")
    assert [p.name for p in tmp_path.iterdir()] == ["taste.model"]


def test_a_loaded_ensemble_holds_plain_array_members(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted
    model.save(tmp_path / "taste.model")
    loaded = TasteEnsemble.load(tmp_path / "taste.model")
    assert isinstance(loaded.rf, FlatForest)
    assert isinstance(loaded.xgb, RawBooster)


def test_a_loaded_ensemble_scores_missing_values_as_the_fitted_one(tmp_path: Path) -> None:
    x, y = _separable(400, seed=8)
    x = x.copy()
    x[::3, 0] = np.nan  # so the trees learn where a missing value goes
    x[::5, 1] = np.nan
    model = TasteEnsemble(FAST).fit(x, y)
    model.save(tmp_path / "taste.model")
    loaded = TasteEnsemble.load(tmp_path / "taste.model")
    x_new, _ = _separable(300, seed=9)
    x_new[np.random.default_rng(10).random(x_new.shape) < 0.3] = np.nan
    np.testing.assert_allclose(loaded.score(x_new), model.score(x_new), rtol=0, atol=1e-12)


def test_the_flat_forest_predicts_as_the_fitted_forest(fitted) -> None:
    model, x_test, _ = fitted
    flat = FlatForest.from_sklearn(model.rf)
    np.testing.assert_allclose(
        flat.positive_proba(x_test), model.rf.predict_proba(x_test)[:, 1], rtol=0, atol=1e-12
    )


def test_the_raw_booster_predicts_as_the_fitted_classifier(fitted) -> None:
    model, x_test, _ = fitted
    raw = RawBooster.from_array(RawBooster.of(model.xgb).to_array(), n_jobs=1)
    np.testing.assert_array_equal(raw.predict_proba(x_test), model.xgb.predict_proba(x_test))


def test_an_unfitted_ensemble_round_trips_and_still_refuses_to_score(tmp_path: Path) -> None:
    TasteEnsemble(FAST, weight=0.4).save(tmp_path / "taste.model")
    loaded = TasteEnsemble.load(tmp_path / "taste.model")
    assert loaded.weight == 0.4
    with pytest.raises(RuntimeError, match="before fit"):
        loaded.score(np.zeros((2, 3)))


@pytest.mark.parametrize("payload", [{"format": 999}, ["not", "a", "dict"], {"weight": 0.5}])
def test_loading_something_else_is_a_value_error(payload: object, tmp_path: Path) -> None:
    path = tmp_path / "other.joblib"
    joblib.dump(payload, path)  # an old pickled model, or anything else
    with pytest.raises(ValueError, match="not a beatmatch taste ensemble"):
        TasteEnsemble.load(path)
