"""RandomForest + XGBoost soft-vote taste model: fit / score / save / load.

The blend weight is the forest's share of the vote. It can be chosen per listener (``fit`` with an
``order``): the listener's own positives are split by time (the most recent ones held out, as the
future is), both models are fitted on the earlier part, and the weight that ranks the held-out
positives highest among held-out negatives wins; then both refit on all. That costs two extra fits,
and the taste model no longer asks for it (:class:`recommender.taste.TasteSettings` says why).

A saved ensemble is plain arrays (:mod:`recommender.ensemble_members`), never a pickle: read back,
its members are a :class:`FlatForest` and a :class:`RawBooster`, which score exactly as the fitted
scikit-learn and XGBoost models did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.ensemble_members import FlatForest, RawBooster
from recommender.model_file import ModelFormat, read_model, write_model

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier
    from xgboost import XGBClassifier

# scikit-learn (with SciPy) and XGBoost are imported where a model is fitted or read, not here:
# together they hold ~100 MB of a process that, like the live-workout path, may never train one.

BLEND_GRID: tuple[float, ...] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)
MIN_POSITIVES_FOR_BLEND = 30
#: A taste ensemble saved on its own (a whole taste model has its own format: recommender.taste).
ENSEMBLE_FILE = ModelFormat(
    name="beatmatch-taste-ensemble",
    version=1,
    what="taste ensemble",
    retrain="Fit it again.",
)


@dataclass(frozen=True)
class EnsembleSettings:
    """Hyper-parameters of both members (sized for a 2-core machine and ~30,000 rows).

    Measured on the shared listener (next-likes R@50/R@100/R@500/NDCG@100, forest weight 0.7,
    means over seeds 0–4 and three forest seeds each, i.e. 15 fits; CPU seconds to fit its
    ~24,000 training rows):

    * 60 trees and 60 rounds at learning rate 0.2 rank like 120 trees and 150 rounds at 0.08
      (0.197/0.277/0.479/0.477 vs 0.199/0.280/0.483/0.481; one forest seed to the next moves
      those by up to 0.009 R@100 and 0.03 NDCG) for half the CPU (~3.4 s vs ~6.8 s). 80 or 100
      trees add nothing measurable (0.288, 0.285 R@100 on forest seed 0 vs 0.283).
    * The trees must stay deep and see many negatives. With 120 trees on forest seed 0 (0.285
      R@100, 0.481 R@500 as they are): ``min_samples_leaf`` 5 or 10 give 0.275/0.438 and
      0.274/0.417, a bootstrap of 4,000–12,000 rows instead of all 0.254–0.275, ``max_features``
      "sqrt" 0.274/0.438; extra-trees fit in 40 % of the time but drop R@50 from 0.204 to 0.174.
    * The booster is cheap (hist) and the weaker member (alone 0.18 R@100): depth 6 or 8, or 300
      rounds, change nothing.
    """

    rf_trees: int = 60
    rf_min_samples_leaf: int = 2
    rf_max_features: float = 0.5
    xgb_rounds: int = 60
    xgb_depth: int = 4
    xgb_learning_rate: float = 0.2
    validation_fraction: float = 0.2
    n_jobs: int = 2
    seed: int = 0


@dataclass
class TasteEnsemble:
    """A fitted soft vote: ``weight`` · RF + (1 − ``weight``) · XGB.

    The members are the fitted scikit-learn and XGBoost models, or after :meth:`load` their
    array forms; either answers ``predict_proba(x)`` with (n, 2) and scores the same.
    """

    settings: EnsembleSettings = field(default_factory=EnsembleSettings)
    weight: float = 0.5
    validation: dict[str, float] = field(default_factory=dict)
    rf: RandomForestClassifier | FlatForest | None = None
    xgb: XGBClassifier | RawBooster | None = None

    def _members(self, seed_offset: int = 0) -> tuple[RandomForestClassifier, XGBClassifier]:
        from sklearn.ensemble import RandomForestClassifier
        from xgboost import XGBClassifier

        s = self.settings
        rf = RandomForestClassifier(
            n_estimators=s.rf_trees,
            min_samples_leaf=s.rf_min_samples_leaf,
            max_features=s.rf_max_features,
            n_jobs=s.n_jobs,
            random_state=s.seed + seed_offset,
        )
        xgb = XGBClassifier(
            n_estimators=s.xgb_rounds,
            max_depth=s.xgb_depth,
            learning_rate=s.xgb_learning_rate,
            subsample=0.8,
            colsample_bytree=0.8,
            min_child_weight=2.0,
            tree_method="hist",
            n_jobs=s.n_jobs,
            random_state=s.seed + seed_offset,
            eval_metric="logloss",
        )
        return rf, xgb

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        order: np.ndarray | None = None,
    ) -> TasteEnsemble:
        """Fit on ``x`` (n, d), labels ``y`` (n,) of 0/1; ``order`` (n,) ranks positives in time.

        With ``order`` and enough positives, the blend weight is chosen on a time-ordered split.
        """
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        if order is not None and int(y.sum()) >= MIN_POSITIVES_FOR_BLEND:
            self.weight, self.validation = self._choose_weight(x, y, weights, order)
        rf, xgb = self._members()
        rf.fit(x, y, sample_weight=weights)
        xgb.fit(x, y, sample_weight=weights)
        self.rf, self.xgb = rf, xgb
        return self

    def _choose_weight(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray, order: np.ndarray
    ) -> tuple[float, dict[str, float]]:
        from sklearn.metrics import roc_auc_score

        rng = np.random.default_rng(self.settings.seed)
        positives = np.flatnonzero(y == 1)
        negatives = np.flatnonzero(y == 0)
        n_val = max(5, int(len(positives) * self.settings.validation_fraction))
        newest = positives[np.argsort(order[positives], kind="stable")][-n_val:]
        val_neg = rng.choice(
            negatives, size=int(len(negatives) * self.settings.validation_fraction), replace=False
        )
        held = np.zeros(len(y), dtype=bool)
        held[newest] = True
        held[val_neg] = True
        rf, xgb = self._members(seed_offset=1)
        rf.fit(x[~held], y[~held], sample_weight=weights[~held])
        xgb.fit(x[~held], y[~held], sample_weight=weights[~held])
        p_rf = rf.predict_proba(x[held])[:, 1]
        p_xgb = xgb.predict_proba(x[held])[:, 1]
        scores = {w: float(roc_auc_score(y[held], w * p_rf + (1 - w) * p_xgb)) for w in BLEND_GRID}
        # Ties go to the more even blend: it is the safer bet on the next, unseen likes.
        best = max(BLEND_GRID, key=lambda w: (round(scores[w], 4), -abs(w - 0.5)))
        report = {f"auc_w{w:.1f}": round(s, 4) for w, s in scores.items()}
        report["validation_positives"] = float(len(newest))
        return best, report

    def score(self, x: np.ndarray) -> np.ndarray:
        """Blended probability of "liked" for each row of ``x`` (n, d) → (n,)."""
        if self.rf is None or self.xgb is None:
            raise RuntimeError("TasteEnsemble.score called before fit")
        p_rf = self.rf.predict_proba(x)[:, 1]
        p_xgb = self.xgb.predict_proba(x)[:, 1]
        return self.weight * p_rf + (1.0 - self.weight) * p_xgb

    def to_arrays(self, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-ready header entries, plain arrays under keys starting with ``prefix``)."""
        meta: dict[str, Any] = {
            "settings": asdict(self.settings),
            "weight": self.weight,
            "validation": self.validation,
            "fitted": self.rf is not None and self.xgb is not None,
        }
        if not meta["fitted"]:
            return meta, {}
        arrays = FlatForest.of(self.rf).to_arrays(f"{prefix}rf__")
        arrays[f"{prefix}xgb"] = RawBooster.of(self.xgb).to_array()
        return meta, arrays

    @classmethod
    def from_arrays(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str
    ) -> TasteEnsemble:
        """Rebuild an ensemble from :meth:`to_arrays`' output (KeyError/TypeError/ValueError if
        parts are missing or malformed)."""
        settings = EnsembleSettings(**meta["settings"])
        ensemble = cls(
            settings=settings,
            weight=float(meta["weight"]),
            validation={str(k): float(v) for k, v in meta["validation"].items()},
        )
        if meta["fitted"]:
            ensemble.rf = FlatForest.from_arrays(arrays, f"{prefix}rf__", settings.n_jobs)
            ensemble.xgb = RawBooster.from_array(arrays[f"{prefix}xgb"], settings.n_jobs)
        return ensemble

    def save(self, path: Path) -> None:
        """Write the ensemble to ``path``: one .npz-format file of plain arrays, no pickle."""
        meta, arrays = self.to_arrays("")
        write_model(Path(path), ENSEMBLE_FILE, {"ensemble": meta}, arrays)

    @classmethod
    def load(cls, path: Path) -> TasteEnsemble:
        """Read an ensemble written by :meth:`save`; ValueError for any other file."""
        meta, arrays = read_model(Path(path), ENSEMBLE_FILE)
        try:
            return cls.from_arrays(meta["ensemble"], arrays, "")
        except (KeyError, TypeError, ValueError) as error:
            raise ENSEMBLE_FILE.error(f"{Path(path).name} is incomplete ({error!r}).") from None
