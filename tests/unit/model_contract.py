"""The contract every beatmatch model keeps (recommender.model.TrackModel), as one test mixin.

A test class per model mixes in :class:`ModelContract` and provides tiny training data through
three hooks; every test below then runs against that model:

* ``fit_tiny()`` — the model fitted on tiny data with a known answer (fast: a few seconds);
* ``probe_tracks()`` — a small track table to predict on (complete features);
* ``assert_known_answer(model)`` — the known answer, asserted;
* ``prediction_shape(model, n)`` — the documented shape of ``predict`` for ``n`` tracks.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.model import TrackModel
from recommender.model_file import ModelFormat, write_model
from recommender.tracks import KAGGLE_NUMERIC

FOREIGN = ModelFormat(name="someone-elses-model", version=1, what="model", retrain="")


class ModelContract:
    """Mix into a ``Test…`` class that implements the hooks; see the module docstring."""

    def fit_tiny(self) -> TrackModel:
        raise NotImplementedError  # the hook a test class must provide

    def probe_tracks(self) -> pd.DataFrame:
        raise NotImplementedError  # the hook a test class must provide

    def assert_known_answer(self, model: TrackModel) -> None:
        raise NotImplementedError  # the hook a test class must provide

    def prediction_shape(self, model: TrackModel, n: int) -> tuple[int, ...]:
        raise NotImplementedError  # the hook a test class must provide

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> TrackModel:
        return cls().fit_tiny()

    # ------------------------------------------------------------ fitting and predicting

    def test_fitted_on_tiny_data_it_gives_the_known_answer(self, fitted: TrackModel) -> None:
        self.assert_known_answer(fitted)

    def test_predictions_have_the_documented_shape_and_are_finite(self, fitted: TrackModel) -> None:
        tracks = self.probe_tracks()
        predicted = fitted.predict(tracks)
        assert predicted.shape == self.prediction_shape(fitted, len(tracks))
        assert np.isfinite(predicted).all()

    def test_an_empty_table_gives_no_rows(self, fitted: TrackModel) -> None:
        empty = self.probe_tracks().iloc[0:0]
        assert fitted.predict(empty).shape == self.prediction_shape(fitted, 0)

    def test_missing_feature_values_are_tolerated(self, fitted: TrackModel) -> None:
        tracks = self.probe_tracks().copy()
        numeric = [c for c in KAGGLE_NUMERIC if c in tracks.columns]
        tracks.iloc[0, [tracks.columns.get_loc(c) for c in numeric]] = np.nan  # nothing known
        for i, column in enumerate(numeric):  # and one value missing here and there
            tracks.iloc[1 + i % (len(tracks) - 1), tracks.columns.get_loc(column)] = np.nan
        predicted = fitted.predict(tracks)
        assert predicted.shape == self.prediction_shape(fitted, len(tracks))
        assert np.isfinite(predicted).all()

    def test_predicting_twice_gives_the_same(self, fitted: TrackModel) -> None:
        tracks = self.probe_tracks()
        np.testing.assert_array_equal(fitted.predict(tracks), fitted.predict(tracks))

    # ------------------------------------------------------------ the file

    def test_save_then_load_predicts_the_same(self, fitted: TrackModel, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "model.file"
        fitted.save(path)
        loaded = type(fitted).load(path)
        tracks = self.probe_tracks()
        np.testing.assert_allclose(
            loaded.predict(tracks), fitted.predict(tracks), rtol=0, atol=1e-9
        )

    def test_save_leaves_only_the_model_file(self, fitted: TrackModel, tmp_path: Path) -> None:
        fitted.save(tmp_path / "model.file")
        fitted.save(tmp_path / "model.file")  # over an older one
        assert [p.name for p in tmp_path.iterdir()] == ["model.file"]

    def test_the_saved_file_is_plain_arrays_not_a_pickle(
        self, fitted: TrackModel, tmp_path: Path
    ) -> None:
        path = tmp_path / "model.file"
        fitted.save(path)
        with np.load(path, allow_pickle=False) as archive:
            assert "header" in archive.files
            assert all(archive[key].dtype != object for key in archive.files)
        with path.open("rb") as handle, pytest.raises(pickle.UnpicklingError):
            pickle.load(handle)  # noqa: S301 - the point is that it is not one

    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b"not a model at all",
            b"PK\x03\x04broken",
            pickle.dumps({"format": 1, "model": None}),  # an old pickled model
        ],
    )
    def test_a_file_that_is_not_a_model_is_a_value_error(
        self, fitted: TrackModel, tmp_path: Path, content: bytes
    ) -> None:
        path = tmp_path / "junk.file"
        path.write_bytes(content)
        with pytest.raises(ValueError):
            type(fitted).load(path)

    def test_another_program_s_archive_is_a_value_error(
        self, fitted: TrackModel, tmp_path: Path
    ) -> None:
        path = tmp_path / "foreign.file"
        write_model(path, FOREIGN, {}, {"weights": np.zeros(3)})
        with pytest.raises(ValueError):
            type(fitted).load(path)

    def test_an_archive_without_a_header_is_a_value_error(
        self, fitted: TrackModel, tmp_path: Path
    ) -> None:
        path = tmp_path / "bare.file"
        with path.open("wb") as handle:
            np.savez(handle, weights=np.zeros(3))
        with pytest.raises(ValueError):
            type(fitted).load(path)

    def test_a_truncated_or_damaged_file_is_a_value_error(
        self, fitted: TrackModel, tmp_path: Path
    ) -> None:
        path = tmp_path / "model.file"
        fitted.save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError):
            type(fitted).load(path)
        damaged = bytearray(data)
        middle = len(damaged) // 2
        damaged[middle : middle + 64] = bytes(64)
        path.write_bytes(bytes(damaged))
        with pytest.raises(ValueError):
            type(fitted).load(path)

    def test_the_other_kind_of_model_s_file_is_a_value_error(
        self, fitted: TrackModel, tmp_path: Path
    ) -> None:
        path = tmp_path / "model.file"
        fitted.save(path)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files if key != "header"}
        write_model(path, FOREIGN, {}, arrays)  # the same arrays, another format name
        with pytest.raises(ValueError):
            type(fitted).load(path)
