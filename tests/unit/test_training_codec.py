"""What travels to ``beatmatch worker``s through Redis: JSON and ``.npz`` only, read back exactly,
and anything else refused before it is used (no pickle, no foreign function, no callback)."""

from __future__ import annotations

import base64
import io
import json
import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from redis import Redis
from rq.serializers import JSONSerializer

from bot.app import job_runner
from bot.core.catalog import demo_state
from bot.core.model_jobs import GenreJob, TasteJob, TrainedFile, TrainingRefused
from bot.training.codec import (
    CodecError,
    answer_from_json,
    answer_to_json,
    catalog_from_bytes,
    catalog_to_bytes,
    job_from_json,
    job_to_json,
    pack,
    settings_from_json,
    settings_to_json,
    unpack,
)
from bot.training.execute import WorkerCatalog
from bot.training.pool import ProcessPool
from bot.training.redis_queue import TRAIN, RefusedJob, TrainingJob, redacted
from bot.training.redis_runner import RedisRunner
from recommender.ensemble import EnsembleSettings
from recommender.taste import TasteSettings
from tests.conftest import ROOT
from tests.rig import rig_config


def _frame() -> pd.DataFrame:
    index = pd.Index(["t1", "t2", "t3"], name="track_id")
    return pd.DataFrame(
        {
            "name": pd.Series(["Ünïcode ♫", None, ""], dtype="str", index=index),
            "artists": pd.Series(["a;b", "c", None], dtype=object, index=index),
            "energy": [0.5, np.nan, 1.0],
            "rank": np.array([1, 2, 3], dtype=np.int64),
            "explicit": [True, False, True],
            "genre": pd.Categorical(["pop", "rock", "pop"]),
        },
        index=index,
    )


def _job() -> TasteJob:
    tracks = _frame()
    return TasteJob(
        user_id=7,
        fingerprint="abc:3",
        catalog="abc",
        quick=True,
        library=pd.DataFrame(
            {"track_id": ["t1", "t2"], "source": "exportify", "rank": [1.0, 2.0], "added_at": None}
        ),
        tracks=tracks,
        feedback={"t1": 1, "t3": -1},
        top_artists=pd.DataFrame(columns=["artist", "time_range", "rank"]),
        settings=TasteSettings(
            negatives_per_positive=9, ensemble=EnsembleSettings(rf_trees=11, n_jobs=1)
        ),
    )


def _wire(payload: object) -> object:
    """Through JSON and back, as RQ's JSON serializer sends it."""
    return JSONSerializer.loads(JSONSerializer.dumps(payload))


# -- round trips ---------------------------------------------------------------------------------
def test_tables_come_back_with_their_columns_dtypes_and_index() -> None:
    frames, arrays = unpack(pack({"t": _frame()}, {"scores": np.arange(3, dtype=np.float32)}))
    pd.testing.assert_frame_equal(frames["t"], _frame())
    assert arrays["scores"].dtype == np.float32


def test_a_taste_job_comes_back_as_it_was_sent() -> None:
    job = _job()
    back = job_from_json(_wire(job_to_json(job)))
    assert isinstance(back, TasteJob)
    assert (back.user_id, back.fingerprint, back.catalog, back.quick) == (7, "abc:3", "abc", True)
    assert back.feedback == job.feedback and back.settings == job.settings
    for name in ("library", "tracks", "top_artists"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(job, name))


def test_a_genre_job_comes_back_as_it_was_sent() -> None:
    assert job_from_json(_wire(job_to_json(GenreJob("abc", 2)))) == GenreJob("abc", 2)


def test_an_answer_comes_back_and_a_refusal_is_raised() -> None:
    sent = TrainedFile(b"PK\x03\x04model", np.linspace(0, 1, 5, dtype=np.float32), 1.5, {"a": 2.0})
    back = answer_from_json(_wire(answer_to_json(sent)))
    assert back.model == sent.model and back.seconds == 1.5 and back.info == {"a": 2.0}
    assert back.scores is not None and sent.scores is not None
    np.testing.assert_array_equal(back.scores, sent.scores)
    with pytest.raises(TrainingRefused, match="too few"):
        answer_from_json(_wire(answer_to_json(TrainingRefused("too few tracks"))))


def test_a_catalog_comes_back_and_is_checked_to_be_its_version() -> None:
    catalog = demo_state(120)
    held = WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres)
    data = catalog_to_bytes(held)
    back = catalog_from_bytes(data, catalog.fingerprint)
    pd.testing.assert_frame_equal(back.tracks, catalog.tracks)
    pd.testing.assert_frame_equal(back.genres, catalog.genres)
    with pytest.raises(CodecError, match="not version"):
        catalog_from_bytes(data, "another")


# -- refusals ------------------------------------------------------------------------------------
def _npz_with_objects() -> bytes:
    out = io.BytesIO()
    np.savez(out, meta=np.array([{"x": 1}], dtype=object))
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [pickle.dumps({"format": "beatmatch-npz"}), b"junk", b"", _npz_with_objects()],
    ids=["pickle", "junk", "empty", "object-array"],
)
def test_an_archive_that_is_not_ours_is_refused(data: bytes) -> None:
    with pytest.raises(CodecError):
        unpack(data)


def test_a_table_that_cannot_travel_without_pickle_is_refused() -> None:
    with pytest.raises(CodecError, match="text column holds"):
        pack({"t": pd.DataFrame({"x": pd.Series([{"a": 1}], dtype=object)})})
    with pytest.raises(CodecError, match="datetime"):
        pack({"t": pd.DataFrame({"when": pd.to_datetime(["2025-01-01"])})})


def _tampered(**changes: object) -> dict[str, object]:
    payload = job_to_json(_job())
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "taste",
        _tampered(beatmatch=2),
        _tampered(kind="shell"),
        _tampered(extra=1),
        _tampered(user_id="7"),
        _tampered(quick=1),
        _tampered(tables="not base64!"),
        _tampered(tables=base64.b64encode(pickle.dumps([1])).decode()),
        _tampered(feedback={"t1": "like"}),
        _tampered(settings={"evil": 1}),
        _tampered(settings={"ensemble": {"rf_trees": True}}),
        {"beatmatch": 1, "kind": "genre", "catalog": "abc", "n_jobs": 0},
    ],
    ids=lambda p: json.dumps(p)[:40] if not isinstance(p, dict) else str(sorted(p))[:40],
)
def test_a_job_that_is_not_ours_is_refused(payload: object) -> None:
    with pytest.raises(CodecError):
        job_from_json(payload)


def test_settings_travel_with_their_types_checked() -> None:
    settings = TasteSettings(blend_rf_weight=0.5, ensemble=EnsembleSettings(xgb_rounds=7))
    assert settings_from_json(_wire(settings_to_json(settings))) == settings
    assert settings_from_json({"blend_rf_weight": 1}) == replace(
        TasteSettings(), blend_rf_weight=1.0
    )
    with pytest.raises(CodecError):
        settings_from_json({"seed": 1.5})


@pytest.mark.parametrize(
    "answer",
    [{"beatmatch": 1, "model": "!!", "scores": None, "seconds": 1.0, "info": {}}, {"ok": 1}, 3],
)
def test_an_answer_that_is_not_ours_is_refused(answer: object) -> None:
    with pytest.raises(CodecError):
        answer_from_json(answer)


# -- the RQ job ----------------------------------------------------------------------------------
def _rq_job(func: str, *args: object, **kwargs: object) -> TrainingJob:
    """A job as a worker reads it back from Redis (no server needed to build one)."""
    job = TrainingJob.create(
        func, args=args, kwargs=kwargs, connection=Redis(), serializer=JSONSerializer
    )
    read = TrainingJob(job.id, connection=Redis(), serializer=JSONSerializer)
    read.data = job.data
    return read


def test_a_job_may_only_call_the_training_function_with_one_json_object() -> None:
    from bot.training.worker import train

    assert _rq_job(TRAIN, {"beatmatch": 1}).func is train
    for job in (
        _rq_job("os.system", "touch /tmp/x"),
        _rq_job(TRAIN, {"a": 1}, {"b": 2}),
        _rq_job(TRAIN, "text"),
        _rq_job(TRAIN, {"a": 1}, more=1),
    ):
        with pytest.raises(RefusedJob):
            _ = job.func


def test_callbacks_and_webhooks_stored_with_a_job_are_dropped() -> None:
    job = TrainingJob.create(TRAIN, args=({},), connection=Redis(), serializer=JSONSerializer)
    raw = {b"data": job.data, b"status": b"queued", b"origin": b"beatmatch"}
    raw[b"success_callback_name"] = b"os.system"
    raw[b"failure_callback_name"] = b"os.system"
    raw[b"stopped_callback_name"] = b"os.system"
    raw[b"webhooks"] = json.dumps(
        [{"url": "http://127.0.0.1:9/x", "job_status": "finished"}]
    ).encode()
    read = TrainingJob(job.id, connection=Redis(), serializer=JSONSerializer)
    read.restore(raw)
    assert read.success_callback is None and read.failure_callback is None
    assert read.stopped_callback is None and read.webhooks == []


# -- wiring --------------------------------------------------------------------------------------
def test_the_redis_runner_is_chosen_only_when_a_redis_url_is_set(tmp_path: Path) -> None:
    catalog = demo_state(50)
    embedded = job_runner(rig_config(tmp_path), catalog)
    assert isinstance(embedded, ProcessPool)
    config = rig_config(
        tmp_path,
        BEATMATCH_TRAINING_REDIS_URL="redis://127.0.0.1:9/0",
        BEATMATCH_TRAINING_WORKERS="3",
    )
    runner = job_runner(config, catalog)  # nothing connects until a job is run
    assert isinstance(runner, RedisRunner)
    assert runner.capacity == 3 and runner.queue_name == "beatmatch"
    default = job_runner(
        rig_config(tmp_path, BEATMATCH_TRAINING_REDIS_URL="redis://127.0.0.1:9/0"), catalog
    )
    assert default.capacity == 2


def test_the_bot_loads_no_job_queue_library_without_redis() -> None:
    probe = "import bot.app, sys; print([m for m in ('rq', 'redis') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_redis_password_is_never_shown() -> None:
    assert redacted("redis://:s3cret@db.example:6380/2") == "redis://db.example:6380/2"
    assert "s3cret" not in redacted("rediss://user:s3cret@db.example/0")
