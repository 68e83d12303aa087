"""Heavy libraries load on first use, not with the process: a ``beatmatch run`` serving live
workouts holds neither scikit-learn/SciPy/XGBoost (~100 MB resident) nor a chat library whose
front is not configured. Each check runs in a fresh interpreter, so no other test's imports count.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from recommender.ensemble import EnsembleSettings, TasteEnsemble
from tests.conftest import ROOT

MODEL_LIBRARIES = ("sklearn", "scipy", "xgboost", "joblib", "matplotlib")
CHAT_LIBRARIES = ("discord", "telegram")


def _loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` are in ``sys.modules`` after a fresh interpreter runs ``code``."""
    report = f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_composition_root_loads_no_model_or_chart_library() -> None:
    code = "import bot.app, bot.core.workout.manager, bot.sources.heart_streams"
    assert _loaded_after(code, MODEL_LIBRARIES) == []


def test_the_runner_loads_no_chat_library_until_a_front_is_configured() -> None:
    assert _loaded_after("import bot.runner", CHAT_LIBRARIES + MODEL_LIBRARIES) == []


def test_the_probe_sees_a_library_that_is_loaded() -> None:
    assert "sklearn" in _loaded_after("import recommender.ensemble, sklearn", MODEL_LIBRARIES)


def test_the_taste_model_and_the_ranker_load_no_model_library_until_one_is_used() -> None:
    code = "import recommender.taste, recommender.ensemble, recommender.ranking"
    assert _loaded_after(code, MODEL_LIBRARIES) == []


def test_a_saved_taste_ensemble_scores_in_a_fresh_process(tmp_path) -> None:
    """Loading imports what the model needs by itself (nothing else has imported it)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, (200, 4))
    y = (x[:, 0] > 0.6).astype(int)
    model = TasteEnsemble(EnsembleSettings(rf_trees=10, xgb_rounds=10, n_jobs=1)).fit(x, y)
    model.save(tmp_path / "taste.model")
    np.save(tmp_path / "x.npy", x[:20])
    code = (
        "import json, sys\nimport numpy as np\nfrom pathlib import Path\n"
        "from recommender.ensemble import TasteEnsemble\n"
        f"folder = Path({str(tmp_path)!r})\n"
        "scores = TasteEnsemble.load(folder / 'taste.model').score(np.load(folder / 'x.npy'))\n"
        "print(json.dumps(scores.tolist()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(scores, model.score(x[:20]), rtol=0, atol=1e-12)


def test_a_stored_taste_ensemble_loads_without_a_model_library(tmp_path) -> None:
    """A stored model whose catalog scores are stored too is all /recommend and /blend need after
    a restart: reading it must not wait ~2 s for XGBoost's imports (they come when it scores)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 1.0, (120, 3))
    model = TasteEnsemble(EnsembleSettings(rf_trees=5, xgb_rounds=5, n_jobs=1))
    model.fit(x, (x[:, 1] > 0.5).astype(int)).save(tmp_path / "taste.model")
    code = (
        "from pathlib import Path\nfrom recommender.ensemble import TasteEnsemble\n"
        f"TasteEnsemble.load(Path({str(tmp_path / 'taste.model')!r}))"
    )
    assert _loaded_after(code, MODEL_LIBRARIES) == []


def test_xgboost_bytes_it_cannot_read_fail_when_first_used() -> None:
    from recommender.ensemble_members import RawBooster

    booster = RawBooster.from_array(np.frombuffer(b"not a model", dtype=np.uint8), n_jobs=1)
    with pytest.raises(ValueError, match="unreadable XGBoost model"):
        booster.predict_proba(np.zeros((1, 3)))
