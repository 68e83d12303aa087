"""Every model keeps the shared contract (tests/unit/model_contract.py) on tiny data."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from recommender.ensemble import EnsembleSettings
from recommender.genre import GenreClassifier, GenreSettings
from recommender.model import TrackModel
from recommender.taste import TasteModel, TasteSettings
from recommender.tracks import AUDIO_FEATURES, normalise_tracks
from tests.unit.model_contract import ModelContract


def tracks_like(
    prefix: str, n: int, seed: int, artists: list[str], **fixed: tuple[float, float]
) -> pd.DataFrame:
    """``n`` tracks with random audio features except ``fixed`` ones, drawn from (mean, spread)."""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "name": [f"song {i} {rng.integers(1_000_000)}" for i in range(n)],
            "artists": artists,
            "album": [f"album {rng.integers(1000)}" for _ in ids],
            **{feature: rng.uniform(0, 1, n) for feature in AUDIO_FEATURES},
            "key": rng.integers(0, 12, n).astype(float),
            "mode": rng.integers(0, 2, n).astype(float),
            "loudness": rng.uniform(-20, -3, n),
            "tempo": rng.uniform(70, 180, n),
            "time_signature": 4.0,
            "popularity": rng.uniform(0, 100, n),
            "duration_ms": rng.uniform(120_000, 300_000, n),
            "explicit": 0.0,
        },
        index=pd.Index(ids, name="track_id"),
    )
    for feature, (mean, spread) in fixed.items():
        frame[feature] = rng.normal(mean, spread, n)
    return normalise_tracks(frame)


class TestTasteModel(ModelContract):
    """A listener who keeps high-energy tracks."""

    LIKED = tracks_like("lib", 30, 0, [f"Solo {i}" for i in range(30)], energy=(0.9, 0.04))
    CATALOG = tracks_like("cat", 400, 1, [f"Other {i % 40}" for i in range(400)])
    LOUD = tracks_like("loud", 20, 2, [f"New {i}" for i in range(20)], energy=(0.9, 0.04))
    QUIET = tracks_like("quiet", 20, 3, [f"Quiet {i}" for i in range(20)], energy=(0.1, 0.04))

    def fit_tiny(self) -> TrackModel:
        library = pd.DataFrame(
            {
                "track_id": self.LIKED.index,
                "source": "exportify",
                "rank": np.arange(1, len(self.LIKED) + 1),
                "added_at": pd.date_range("2024-01-01", periods=len(self.LIKED)).astype(str),
            }
        )
        fast = EnsembleSettings(rf_trees=10, xgb_rounds=10, n_jobs=1)
        return TasteModel.fit(
            library, self.LIKED, self.CATALOG, settings=TasteSettings(ensemble=fast)
        )

    def probe_tracks(self) -> pd.DataFrame:
        return pd.concat([self.LOUD.iloc[:5], self.QUIET.iloc[:5]])

    def assert_known_answer(self, model: TrackModel) -> None:
        loud, quiet = model.predict(self.LOUD), model.predict(self.QUIET)
        assert np.median(loud) > np.max(quiet)

    def prediction_shape(self, model: TrackModel, n: int) -> tuple[int, ...]:
        return (n,)


class TestGenreClassifier(ModelContract):
    """Three genres that sound apart, each from its own artists."""

    SOUNDS: ClassVar[
        dict[str, dict[str, tuple[float, float]]]
    ] = {  # genre: energy, acousticness, speechiness as (mean, spread)
        "calm": {"energy": (0.1, 0.04), "acousticness": (0.9, 0.04), "speechiness": (0.04, 0.01)},
        "loud": {"energy": (0.9, 0.04), "acousticness": (0.05, 0.02), "speechiness": (0.06, 0.01)},
        "talk": {"energy": (0.4, 0.04), "acousticness": (0.5, 0.04), "speechiness": (0.9, 0.03)},
    }

    def fit_tiny(self) -> TrackModel:
        parts, labels = [], []
        for seed, (genre, sound) in enumerate(self.SOUNDS.items()):
            artists = [f"Band {seed * 10 + i % 10}" for i in range(40)]  # names say nothing
            part = tracks_like(f"{genre}-", 40, seed, artists, **sound)
            parts.append(part)
            labels.append(pd.DataFrame({"track_id": part.index, "genre": genre}))
        settings = GenreSettings(forest_trees=5, boost_rounds=30, min_holdout_tracks=10_000)
        return GenreClassifier.fit(
            pd.concat(parts), pd.concat(labels, ignore_index=True), n_jobs=1, settings=settings
        )

    def probe_tracks(self) -> pd.DataFrame:
        return pd.concat(
            [
                tracks_like(f"new-{genre}-", 3, 10 + i, ["Nobody Known"] * 3, **sound)
                for i, (genre, sound) in enumerate(self.SOUNDS.items())
            ]
        )

    def assert_known_answer(self, model: TrackModel) -> None:
        assert isinstance(model, GenreClassifier)
        probe = self.probe_tracks()
        top = [model.classes[j] for j in model.predict(probe).argmax(axis=1)]
        assert top == [genre for genre in self.SOUNDS for _ in range(3)]

    def prediction_shape(self, model: TrackModel, n: int) -> tuple[int, ...]:
        return (n, len(self.SOUNDS))
