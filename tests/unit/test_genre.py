"""The genre classifier on small synthetic catalogs whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from recommender.genre import (
    GenreClassifier,
    GenreModelFormatError,
    GenreSettings,
    catalog_genres,
    numeric_matrix,
)
from recommender.genre.calibration import set_log_loss, sharpen
from recommender.genre.classifier import GENRE_FILE, label_matrix
from recommender.genre.forest import CompactForest
from recommender.genre.prior import CountTable
from recommender.genre.stacking import N_NUMERIC, N_SUMMARY, NameEvidence, stack_features
from recommender.genre.text import NameModel, _vectorizer, text_matrix, track_texts
from recommender.model_file import write_model
from recommender.tracks import AUDIO_FEATURES, KAGGLE_NUMERIC, normalise_tracks

FAST = GenreSettings(forest_trees=10, boost_rounds=15, min_holdout_tracks=10_000)
# Audio signatures of three synthetic genres: (energy, acousticness, tempo, speechiness).
SIGNATURES = {
    "calm": (0.1, 0.9, 70.0, 0.04),
    "loud": (0.9, 0.05, 165.0, 0.06),
    "talk": (0.4, 0.5, 100.0, 0.9),
}


def make_tracks(
    genre: str, n: int, rng: np.random.Generator, artist: str | None = None, prefix: str = "t"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` tracks of ``genre``: its audio signature plus noise, one new artist each by default."""
    energy, acoustic, tempo, speech = SIGNATURES[genre]
    ids = [f"{prefix}-{genre}-{i}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "name": [f"song {rng.integers(1_000_000)}" for _ in ids],
            "artists": [artist or f"{prefix} {genre} artist {i}" for i in range(n)],
            "album": [f"album {rng.integers(1000)}" for _ in ids],
            "popularity": rng.integers(0, 100, n).astype(float),
            "duration_ms": rng.normal(200_000, 20_000, n),
            "explicit": np.zeros(n),
        },
        index=pd.Index(ids, name="track_id"),
    )
    for feature in AUDIO_FEATURES:
        frame[feature] = rng.random(n)
    frame["energy"] = np.clip(rng.normal(energy, 0.05, n), 0, 1)
    frame["acousticness"] = np.clip(rng.normal(acoustic, 0.05, n), 0, 1)
    frame["tempo"] = rng.normal(tempo, 5.0, n)
    frame["speechiness"] = np.clip(rng.normal(speech, 0.03, n), 0, 1)
    frame["time_signature"] = 4.0
    labels = pd.DataFrame({"track_id": ids, "genre": genre})
    return frame, labels


def catalog(seed: int = 0, n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three genres of ``n`` tracks each, plus 8 "calm" tracks by Miles that sound loud."""
    rng = np.random.default_rng(seed)
    parts = [make_tracks(g, n, rng) for g in SIGNATURES]
    miles, miles_labels = make_tracks("loud", 8, rng, artist="Miles", prefix="miles")
    parts.append((miles, miles_labels.assign(genre="calm")))
    return pd.concat([p[0] for p in parts]), pd.concat([p[1] for p in parts], ignore_index=True)


@pytest.fixture(scope="module")
def model() -> GenreClassifier:
    tracks, labels = catalog()
    return GenreClassifier.fit(tracks, labels, settings=FAST)


def test_classes_are_the_catalog_genres(model: GenreClassifier) -> None:
    assert model.classes == ["calm", "loud", "talk"]


def test_artist_prior_wins_for_a_known_artist(model: GenreClassifier) -> None:
    new, _ = make_tracks("loud", 3, np.random.default_rng(1), artist="Miles", prefix="new")
    assert [top[0][0] for top in model.predict_top_k(new)] == ["calm"] * 3


def test_audio_model_separates_genres_for_unseen_artists(model: GenreClassifier) -> None:
    rng = np.random.default_rng(2)
    for genre in ("calm", "loud"):
        new, _ = make_tracks(genre, 10, rng, prefix="unseen")
        assert [top[0][0] for top in model.predict_top_k(new)] == [genre] * 10


def test_probabilities_sum_to_one_and_top_k_is_sorted(model: GenreClassifier) -> None:
    new, _ = make_tracks("talk", 5, np.random.default_rng(3), prefix="p")
    proba = model.predict_proba(new)
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    for top in model.predict_top_k(new, k=3):
        assert len(top) == 3
        assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)


def test_save_and_load_give_identical_predictions(model: GenreClassifier, tmp_path: Path) -> None:
    new, _ = make_tracks("calm", 6, np.random.default_rng(4), prefix="s")
    path = tmp_path / "models" / "genre.model"
    model.save(path)
    loaded = GenreClassifier.load(path)
    assert loaded.classes == model.classes
    np.testing.assert_array_equal(loaded.predict_proba(new), model.predict_proba(new))


def test_load_refuses_a_model_of_another_version(tmp_path: Path) -> None:
    path = tmp_path / "old.model"
    write_model(path, GENRE_FILE, {"version": 999}, {"x": np.zeros(1)})
    with pytest.raises(GenreModelFormatError, match="version 999"):
        GenreClassifier.load(path)


def test_load_tells_to_retrain_a_model_of_the_previous_format(tmp_path: Path) -> None:
    path = tmp_path / "v1.model"
    write_model(path, GENRE_FILE, {"version": 1}, {"x": np.zeros(1)})
    with pytest.raises(GenreModelFormatError, match=r"version 1;.*train-genre"):
        GenreClassifier.load(path)


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"PK\x03\x04broken"])
def test_load_refuses_a_file_that_is_not_a_model(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.model"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a beatmatch genre model"):
        GenreClassifier.load(path)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"name": [""], "artists": [""], "album": [""]}, index=["empty"]),
        pd.DataFrame(index=["nothing-at-all"]),
        pd.DataFrame({"name": [np.nan], "artists": [np.nan], "energy": [np.nan]}, index=["nan"]),
        pd.DataFrame({"energy": [0.9], "tempo": [0.0], "key": [-1]}, index=["quirks"]),
        pd.DataFrame(
            {f: [0.5] for f in AUDIO_FEATURES if f != "time_signature"} | {"artists": ["Miles"]},
            index=["reccobeats-like"],
        ),
    ],
)
def test_missing_features_and_empty_names_do_not_crash(
    model: GenreClassifier, frame: pd.DataFrame
) -> None:
    proba = model.predict_proba(frame)
    assert proba.shape == (1, 3)
    assert np.isfinite(proba).all()
    assert proba.sum() == pytest.approx(1.0)


def test_an_empty_table_gives_no_rows(model: GenreClassifier) -> None:
    assert model.predict_proba(pd.DataFrame()).shape == (0, 3)
    assert model.predict_top_k(pd.DataFrame()) == []


def test_calibration_tunes_on_a_held_out_slice() -> None:
    tracks, labels = catalog(seed=5, n=120)
    settings = GenreSettings(forest_trees=10, boost_rounds=15, min_holdout_tracks=100)
    fitted = GenreClassifier.fit(tracks, labels, settings=settings)
    assert fitted.report["holdout_tracks"] > 0
    assert fitted.report["holdout_unseen_top1"] > 0.8  # audio separates the synthetic genres


def test_fit_refuses_a_catalog_with_one_genre() -> None:
    tracks, labels = make_tracks("calm", 10, np.random.default_rng(6))
    with pytest.raises(ValueError, match="two genres"):
        GenreClassifier.fit(tracks, labels, settings=FAST)


def test_catalog_genres_lists_every_label_once() -> None:
    labels = pd.DataFrame(
        {"track_id": ["a", "a", "b", "a", "c"], "genre": ["rock", "pop", "jazz", "rock", "x"]}
    )
    assert catalog_genres(labels, ["a", "b", "z"]) == {"a": ["rock", "pop"], "b": ["jazz"]}


def test_numeric_matrix_follows_the_track_table_rules() -> None:
    raw = pd.DataFrame(
        {
            "tempo": [0.0, 120.0, None],
            "key": [-1, 5, 0],
            "time_signature": [1, 4, 0],
            "explicit": ["True", "false", "maybe"],
            "popularity": ["12", "n/a", 3],
            "energy": [0.5, 0.1, 0.2],
        },
        index=["a", "b", "c"],
    )
    expected = normalise_tracks(raw)[list(KAGGLE_NUMERIC)].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(numeric_matrix(raw), expected)


def test_label_matrix_is_multi_hot() -> None:
    labels = pd.DataFrame({"track_id": ["a", "a", "b"], "genre": ["rock", "pop", "pop"]})
    y, classes = label_matrix(pd.Index(["a", "b", "c"]), labels)
    assert classes == ["pop", "rock"]
    np.testing.assert_array_equal(y, [[1, 1], [1, 0], [0, 0]])


def test_compact_forest_predicts_like_sklearn_with_missing_values() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0]) > 0).astype(int) + 2 * (np.nan_to_num(x[:, 1]) > 0.5) + 1
    test = rng.normal(size=(200, 5)).astype(np.float32)
    test[rng.random(test.shape) < 0.2] = np.nan
    reference = RandomForestClassifier(5, min_samples_leaf=3, random_state=0).fit(x, y)
    compact = CompactForest.from_sklearn(reference, 5)  # class 0 never occurs
    expected = np.zeros((200, 5))
    expected[:, reference.classes_] = reference.predict_proba(test)
    np.testing.assert_allclose(compact.predict_proba(test), expected, atol=1e-3)  # float16 leaves


def test_compact_forest_grows_in_batches() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    forest = CompactForest.fit(x, (x[:, 0] > 0).astype(int), 2, n_trees=7, batch=3)
    assert forest.n_trees == 7
    assert (forest.predict_proba(x).argmax(axis=1) == (x[:, 0] > 0)).mean() > 0.95


def test_name_model_reads_the_script_of_a_name() -> None:
    names = [
        "さくら の うた",
        "ひかり と かぜ",
        "ゆめ の なか",
        "the rock song",
        "rock the night",
        "hard rock",
    ]
    frame = pd.DataFrame({"name": names})
    y = np.array([[1, 0]] * 3 + [[0, 1]] * 3, dtype=np.float32)
    model = NameModel.fit(text_matrix(frame), y)
    new = pd.DataFrame({"name": ["はなび の よる", "rock and roll"]})
    assert model.log_proba(text_matrix(new)).argmax(axis=1).tolist() == [0, 1]


def test_text_matrix_is_the_whole_text_vectorised() -> None:
    frame = pd.DataFrame(
        {
            "name": ["  Hello\tWORLD  ", "", None, "İstanbul  ümit", "a\u3000b\x1fc", "la la la"],
            "artists": ["A;B", "", "C", None, "d", "e e e"],
            "album": [None, "z", "Zz zz", "", "q", "La"],
        }
    )
    whole = _vectorizer().transform(track_texts(frame))
    assert (text_matrix(frame) != whole).nnz == 0
    assert text_matrix(pd.DataFrame({"name": ["", None]})).nnz == 0


def test_name_margin_never_turns_misleading_names_upside_down() -> None:
    rng = np.random.default_rng(9)
    classes = rng.integers(0, 3, 600)
    log_proba = np.full((600, 3), -5.0, dtype=np.float32)
    log_proba[np.arange(600), (classes + 1) % 3] = 0.0  # the names always point to a wrong genre
    z = stack_features(rng.random((600, N_NUMERIC)), log_proba)
    evidence = NameEvidence.fit(
        z, classes, n_components=2, max_rows=400, rng=rng, margin_weight=0.5
    )
    assert (evidence.scale >= 0).all()
    assert evidence.inputs(z).shape == (600, N_NUMERIC + N_SUMMARY + 2)
    again = NameEvidence.from_arrays(evidence.to_arrays("e_"), "e_")
    np.testing.assert_array_equal(again.inputs(z), evidence.inputs(z))
    np.testing.assert_array_equal(again.margin(z), evidence.margin(z))


def test_count_table_round_trips_unicode_keys() -> None:
    keys = [["björk", "宇多田ヒカル"], ["björk"], []]
    y = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    table = CountTable.build(keys, y)
    again = CountTable.from_arrays(table.to_arrays("p_"), "p_", 2)
    np.testing.assert_array_equal(
        again.lookup([["björk"], ["宇多田ヒカル", "nobody"], []]), [[1, 1], [1, 0], [0, 0]]
    )


def test_sharpening_keeps_rows_normalised_and_lowers_loss_of_an_underconfident_model() -> None:
    p = np.array([[0.4, 0.3, 0.3], [0.3, 0.4, 0.3]])
    y = np.array([[1, 0, 0], [0, 1, 0]])
    sharper = sharpen(p, 0.5)
    np.testing.assert_allclose(sharper.sum(axis=1), 1.0)
    assert set_log_loss(sharper, y) < set_log_loss(p, y)


def test_load_refuses_a_model_with_missing_parts(model: GenreClassifier, tmp_path: Path) -> None:
    path = tmp_path / "partial.model"
    write_model(
        path, GENRE_FILE, {"classes": model.classes, "settings": {}, "blend": {}, "report": {}}, {}
    )
    with pytest.raises(GenreModelFormatError, match="incomplete"):
        GenreClassifier.load(path)
