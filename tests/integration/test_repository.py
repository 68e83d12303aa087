"""The Storage over a real SQLite file: users, tracks, catalog, library, feedback, models,
profiles, workouts, /forget, WAL and durability."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.tracks import normalise_tracks
from storage.catalog_csv import read_catalog
from storage.database import Storage
from tests.conftest import ROOT, CatalogFile, track_id_for


def _tracks(*specs: dict[str, object]) -> pd.DataFrame:
    """A track table from dicts with at least ``track_id`` (other columns default to unknown)."""
    return normalise_tracks(pd.DataFrame.from_records(list(specs)).set_index("track_id"))


def _entries(*track_ids: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": list(track_ids),
            "rank": range(1, len(track_ids) + 1),
            "added_at": ["2025-01-01T00:00:00Z"] * len(track_ids),
        }
    )


def _count(storage: Storage, sql: str, params: list[object] | tuple[object, ...] = ()) -> int:
    return int(storage.sql.db.execute(sql, params).fetchone()[0])


def _table_size(storage: Storage, table: str) -> int:
    return storage.sql.db[table].count


A, B, C = track_id_for("a"), track_id_for("b"), track_id_for("c")


# -- users ---------------------------------------------------------------------------------------
def test_same_chat_user_gets_the_same_id(storage: Storage) -> None:
    first = storage.users.user_id("telegram", "42", "Ann")
    assert storage.users.user_id("telegram", "42") == first
    assert storage.users.find_user("telegram", "42") == first


def test_same_platform_id_on_another_platform_is_another_user(storage: Storage) -> None:
    assert storage.users.user_id("telegram", "42") != storage.users.user_id("discord", "42")


def test_unknown_user_is_not_found_and_not_created(storage: Storage) -> None:
    assert storage.users.find_user("discord", "nobody") is None
    assert _count(storage, "select count(*) from users") == 0


def test_user_settings_merge(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    storage.users.update_user_settings(uid, language="de")
    storage.users.update_user_settings(uid, units="metric")
    assert storage.users.user_settings(uid) == {"language": "de", "units": "metric"}


# -- tracks and features -------------------------------------------------------------------------
def test_exportify_features_do_not_overwrite_catalog_features(storage: Storage) -> None:
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.2, "tempo": 100.0}),
        "catalog",
        in_catalog=True,
        overwrite_features=True,
    )
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.9, "tempo": 170.0}), "exportify"
    )
    row = storage.tracks.get_tracks([A]).loc[A]
    assert (row["energy"], row["tempo"]) == (0.2, 100.0)
    assert storage.tracks.feature_sources([A]) == {A: "catalog"}


def test_catalog_features_overwrite_exportify_features(storage: Storage) -> None:
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.9}), "exportify"
    )
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.3}),
        "catalog",
        in_catalog=True,
        overwrite_features=True,
    )
    assert storage.tracks.get_tracks([A]).loc[A, "energy"] == 0.3
    assert storage.tracks.feature_sources([A]) == {A: "catalog"}


def test_a_later_import_with_blank_names_keeps_the_known_names(storage: Storage) -> None:
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "Known", "artists": "Band", "popularity": 40.0}),
        "exportify",
    )
    storage.tracks.upsert_tracks(_tracks({"track_id": A, "name": "", "artists": ""}), "reccobeats")
    row = storage.tracks.get_tracks([A]).loc[A]
    assert (row["name"], row["artists"], row["popularity"]) == ("Known", "Band", 40.0)


def test_track_without_features_has_no_feature_row(storage: Storage) -> None:
    storage.tracks.upsert_tracks(_tracks({"track_id": A, "name": "Bare"}), "exportify")
    assert storage.tracks.feature_sources([A]) == {}
    assert storage.tracks.get_tracks([A]).loc[A, ["energy", "tempo"]].isna().all()


def test_upsert_reports_progress_up_to_the_total(storage: Storage) -> None:
    ids = [track_id_for(f"p{i}") for i in range(12)]
    seen: list[tuple[int, int]] = []
    written = storage.tracks.upsert_tracks(
        _tracks(*({"track_id": t, "energy": 0.5} for t in ids)),
        "catalog",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert written == 12
    assert seen[-1] == (12, 12)


# -- catalog -------------------------------------------------------------------------------------
def test_catalog_reimport_gives_the_same_counts_and_no_duplicates(
    storage: Storage, tiny_catalog: CatalogFile
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    first = storage.tracks.replace_catalog(tracks, genres)
    counts = [_table_size(storage, t) for t in ("tracks", "features", "track_genres")]
    second = storage.tracks.replace_catalog(tracks, genres)
    assert first == second == {"tracks": 60, "genre_labels": 64}
    assert storage.tracks.catalog_size() == 60
    assert [_table_size(storage, t) for t in ("tracks", "features", "track_genres")] == counts
    assert counts == [60, 60, 64]


def test_a_smaller_catalog_replaces_the_old_one(
    storage: Storage, tiny_catalog: CatalogFile
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    storage.tracks.replace_catalog(tracks, genres)
    keep = tiny_catalog.ids_of("metal")
    storage.tracks.replace_catalog(tracks.loc[keep], genres[genres["track_id"].isin(keep)])
    loaded, labels = storage.tracks.load_catalog()
    assert sorted(loaded.index) == sorted(keep)
    assert set(labels["genre"]) == {"metal"}


def test_catalog_import_keeps_tracks_users_have(
    storage: Storage, tiny_catalog: CatalogFile
) -> None:
    uid = storage.users.user_id("console", "me")
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "Mine", "energy": 0.5}), "exportify"
    )
    storage.taste.replace_library(uid, "exportify", _entries(A))
    tracks, genres = read_catalog(tiny_catalog.path)
    storage.tracks.replace_catalog(tracks, genres)
    storage.tracks.replace_catalog(tracks, genres)
    assert list(storage.taste.library(uid)["track_id"]) == [A]
    assert storage.tracks.get_tracks([A]).loc[A, "name"] == "Mine"
    assert A not in storage.tracks.load_catalog()[0].index


def test_load_catalog_gives_back_the_imported_tracks_and_labels(
    storage: Storage, tiny_catalog: CatalogFile
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    storage.tracks.replace_catalog(tracks, genres)
    loaded, labels = storage.tracks.load_catalog()
    assert sorted(loaded.index) == sorted(tracks.index)
    pd.testing.assert_frame_equal(loaded.loc[tracks.index], tracks, check_exact=False)
    assert set(map(tuple, labels[["track_id", "genre"]].to_numpy())) == set(
        map(tuple, genres[["track_id", "genre"]].to_numpy())
    )
    first_edm = tiny_catalog.ids_of("edm")[0]
    assert storage.tracks.genres_of(first_edm) == ["edm", "house"]


def test_get_tracks_skips_unknown_ids_and_repeats(storage: Storage) -> None:
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "name": "a"}, {"track_id": B, "name": "b"}), "exportify"
    )
    got = storage.tracks.get_tracks([B, "unknownunknownunknown1", A, B])
    assert sorted(got.index) == sorted([A, B])
    assert storage.tracks.get_tracks([]).empty


def test_get_tracks_handles_more_ids_than_one_sql_statement_takes(storage: Storage) -> None:
    ids = [track_id_for(f"many{i}") for i in range(2100)]
    storage.tracks.upsert_tracks(
        _tracks(*({"track_id": t, "name": f"n{i}", "energy": 0.5} for i, t in enumerate(ids))),
        "catalog",
    )
    assert len(storage.tracks.get_tracks(ids)) == 2100
    assert len(storage.tracks.feature_sources(ids)) == 2100


# -- search --------------------------------------------------------------------------------------
@pytest.fixture
def searchable(storage: Storage) -> Storage:
    names = {
        "pct": ("100% Pure", "Band"),
        "pct_decoy": ("1000 Pure Nights", "Band"),
        "under": ("a_c", "Band"),
        "under_decoy": ("abc", "Band"),
        "exact": ("Home", "Duo"),
        "longer": ("Home Again", "Duo"),
        "slash": ("Back\\slash", "Punct"),
        "quote": ("It's '; DROP TABLE tracks; --", "Hacker"),
        "other_artist": ("Home", "Somebody Else"),
    }
    popularity = {"longer": 90.0, "exact": 10.0, "other_artist": 5.0}
    storage.tracks.upsert_tracks(
        _tracks(
            *(
                {
                    "track_id": track_id_for(k),
                    "name": n,
                    "artists": a,
                    "popularity": popularity.get(k, 50.0),
                }
                for k, (n, a) in names.items()
            )
        ),
        "exportify",
    )
    return storage


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("100%", ["pct"]),
        ("a_c", ["under"]),
        ("back\\sl", ["slash"]),
        ("'; DROP TABLE tracks; --", ["quote"]),
        ("%", ["pct"]),
        ("_", ["under"]),
    ],
)
def test_search_treats_like_wildcards_and_sql_as_plain_text(
    searchable: Storage, query: str, expected: list[str]
) -> None:
    hits = searchable.tracks.search_tracks(query)
    assert list(hits.index) == [track_id_for(k) for k in expected]


def test_search_with_sql_text_leaves_the_tables_intact(searchable: Storage) -> None:
    before = _count(searchable, "select count(*) from tracks")
    searchable.tracks.search_tracks("x'); DELETE FROM tracks; --", "' OR 1=1 --")
    assert _count(searchable, "select count(*) from tracks") == before


def test_search_puts_the_exact_title_first(searchable: Storage) -> None:
    hits = searchable.tracks.search_tracks("home")
    assert hits.index[0] in {track_id_for("exact"), track_id_for("other_artist")}
    assert list(hits.index)[-1] == track_id_for("longer")


def test_search_filters_by_artist_and_limits(searchable: Storage) -> None:
    assert list(searchable.tracks.search_tracks("home", "duo").index) == [
        track_id_for("exact"),
        track_id_for("longer"),
    ]
    assert len(searchable.tracks.search_tracks("e", limit=2)) == 2
    assert searchable.tracks.search_tracks("no such song").empty


# -- library, feedback, taste version ------------------------------------------------------------
def test_library_import_replaces_the_previous_one_of_that_source(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    storage.tracks.upsert_tracks(_tracks(*({"track_id": t} for t in (A, B, C))), "exportify")
    storage.taste.replace_library(uid, "exportify", _entries(A, B))
    storage.taste.replace_library(uid, "spotify_saved", _entries(A))
    assert storage.taste.replace_library(uid, "exportify", _entries(C)) == 1
    library = storage.taste.library(uid)
    assert sorted(zip(library["source"], library["track_id"], strict=True)) == [
        ("exportify", C),
        ("spotify_saved", A),
    ]
    assert storage.taste.library_size(uid) == 2


def test_library_keeps_rank_and_added_at(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    storage.tracks.upsert_tracks(_tracks({"track_id": A}, {"track_id": B}), "exportify")
    storage.taste.replace_library(uid, "exportify", _entries(B, A))
    library = storage.taste.library(uid)
    assert list(library["track_id"]) == [B, A]
    assert list(library["rank"]) == [1, 2]
    assert set(library["added_at"]) == {"2025-01-01T00:00:00Z"}


def test_a_later_feedback_press_replaces_the_earlier_one(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    storage.taste.set_feedback(uid, A, 1)
    storage.taste.set_feedback(uid, B, -1)
    storage.taste.set_feedback(uid, A, -1)
    assert storage.taste.feedback(uid) == {A: -1, B: -1}


def test_feedback_on_a_track_never_stored_before_is_kept(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    storage.taste.set_feedback(uid, C, 1)
    assert storage.taste.feedback(uid) == {C: 1}
    assert _count(storage, "select count(*) from tracks where id = ?", [C]) == 1


def test_taste_version_changes_with_library_and_feedback_of_that_user_only(
    storage: Storage,
) -> None:
    me, other = storage.users.user_id("console", "me"), storage.users.user_id("console", "other")
    storage.tracks.upsert_tracks(_tracks({"track_id": A}), "exportify")
    versions = [storage.taste.taste_version(me)]
    storage.taste.replace_library(me, "exportify", _entries(A))
    versions.append(storage.taste.taste_version(me))
    storage.taste.set_feedback(me, B, 1)
    versions.append(storage.taste.taste_version(me))
    storage.workouts.update_profile(me, age=30)
    versions.append(storage.taste.taste_version(me))
    assert versions[0] < versions[1] < versions[2] == versions[3]
    assert storage.taste.taste_version(other) == 0


# -- models and profiles -------------------------------------------------------------------------
def test_model_record_round_trip_and_replacement(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    assert storage.taste.model_record(uid, "taste") is None
    storage.taste.save_model_record(uid, "taste", "/m/1", "fp1", {"auc": 0.8})
    storage.taste.save_model_record(uid, "taste", "/m/2", "fp2", {"auc": 0.9, "positives": 30})
    record = storage.taste.model_record(uid, "taste")
    assert record is not None
    assert (record["path"], record["fingerprint"]) == ("/m/2", "fp2")
    assert record["metrics"] == {"auc": 0.9, "positives": 30}
    assert storage.taste.model_record(uid, "genre") is None


def test_profile_defaults_to_unset_and_updates_partially(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    assert storage.workouts.profile(uid) == dict.fromkeys(
        ("age", "resting_hr", "max_hr", "cadence", "goal_zone")
    )
    storage.workouts.update_profile(uid, age=34, resting_hr=58)
    storage.workouts.update_profile(uid, goal_zone=3)
    assert storage.workouts.profile(uid) == {
        "age": 34,
        "resting_hr": 58,
        "max_hr": None,
        "cadence": None,
        "goal_zone": 3,
    }
    storage.workouts.update_profile(uid, age=None)
    assert storage.workouts.profile(uid)["age"] is None
    assert storage.workouts.profile(uid)["resting_hr"] == 58


# -- workouts ------------------------------------------------------------------------------------
def test_workout_lifecycle(storage: Storage) -> None:
    uid = storage.users.user_id("console", "me")
    wid = storage.workouts.start_workout(
        uid, goal_zone=3, cadence=None, source="simulator", started_at=100.0
    )
    assert [w["id"] for w in storage.workouts.open_workouts(uid)] == [wid]
    assert storage.workouts.add_hr_samples(wid, [(2.0, 101.0), (1.0, 100.0)]) == 2
    storage.workouts.add_hr_samples(wid, [(2.0, 999.0), (3.0, 102.0)])  # a repeated t is ignored
    storage.workouts.add_workout_track(wid, 1.0, A, "Song A")
    assert storage.workouts.workout_samples(wid) == [(1.0, 100.0), (2.0, 101.0), (3.0, 102.0)]
    assert storage.workouts.workout_tracks(wid) == [{"t": 1.0, "track_id": A, "title": "Song A"}]
    storage.workouts.end_workout(wid, {"avg_hr": 101.0}, ended_at=200.0)
    assert storage.workouts.open_workouts(uid) == []
    finished = storage.workouts.finished_workouts(uid)
    assert list(finished["id"]) == [wid]
    assert '"avg_hr": 101.0' in finished.loc[0, "summary"]


def test_open_workouts_of_everyone_and_of_one_user(storage: Storage) -> None:
    me, other = storage.users.user_id("console", "me"), storage.users.user_id("console", "other")
    mine = storage.workouts.start_workout(me, None, None, "simulator")
    theirs = storage.workouts.start_workout(other, None, 170, "pulsoid")
    assert [w["id"] for w in storage.workouts.open_workouts()] == [mine, theirs]
    assert [w["id"] for w in storage.workouts.open_workouts(other)] == [theirs]


# -- forget ---------------------------------------------------------------------------------------
def _fill_user(storage: Storage, name: str) -> int:
    uid = storage.users.user_id("telegram", name)
    tid = track_id_for(f"lib-{name}")
    storage.tracks.upsert_tracks(
        _tracks({"track_id": tid, "name": name, "energy": 0.4}), "exportify"
    )
    storage.taste.replace_library(uid, "exportify", _entries(tid))
    storage.taste.set_feedback(uid, tid, 1)
    storage.taste.save_model_record(uid, "taste", f"/m/{name}", "fp", {})
    storage.workouts.update_profile(uid, age=40)
    storage.taste.replace_top_artists(uid, "short", [(f"Artist {name}", "a1")])
    wid = storage.workouts.start_workout(uid, 3, None, "simulator")
    storage.workouts.add_hr_samples(wid, [(1.0, 90.0), (2.0, 91.0)])
    storage.workouts.add_workout_track(wid, 1.0, tid, name)
    storage.workouts.add_sent_tracks(wid, 1.0, [(tid, name)])
    storage.shown_lists.keep(f"list-of-{name}", uid, "{}", 1.0)
    storage.shown.remember(uid, [tid])
    storage.blend.set_consent(uid, True, place=f"telegram:-100{uid}")
    storage.taste.replace_seeds(uid, [("track", tid), ("artist", f"Artist {name}")])
    storage.taste.replace_library_genres(uid, {tid: "east coast hip hop, hip hop"})
    with storage.sql.db.conn:
        storage.sql.db.execute(
            "insert into oauth_states (state_hash, user_id, provider, verifier, "
            "created_at, expires_at) values (?, ?, 'spotify', 'v', 0, 1)",
            [f"h-{name}", uid],
        )
        storage.sql.db.execute(
            "insert into linked_accounts (user_id, provider, account_name, "
            "token_blob, scopes, updated_at) values (?, 'spotify', ?, ?, '', 0)",
            [uid, name, b"blob"],
        )
    return uid


def _rows_of(storage: Storage, uid: int) -> dict[str, int]:
    """Rows per table that belong to ``uid``, found by looking at every table's columns."""
    counts: dict[str, int] = {}
    workouts = [
        r[0] for r in storage.sql.db.execute("select id from workouts where user_id = ?", [uid])
    ]
    for table in storage.sql.db.table_names():
        columns = {c.name for c in storage.sql.db[table].columns}
        if table == "users":
            counts[table] = _count(storage, "select count(*) from users where id = ?", [uid])
        elif "user_id" in columns:
            sql = f"select count(*) from [{table}] where user_id = ?"  # noqa: S608 - our tables
            counts[table] = _count(storage, sql, [uid])
        elif "workout_id" in columns:
            marks = ",".join("?" * len(workouts)) or "null"
            sql = f"select count(*) from [{table}] where workout_id in ({marks})"  # noqa: S608
            counts[table] = _count(storage, sql, workouts)
    return counts


def test_forget_removes_every_row_of_the_user_and_nothing_of_another(storage: Storage) -> None:
    me, other = _fill_user(storage, "me"), _fill_user(storage, "other")
    before_other = _rows_of(storage, other)
    assert all(before_other.values()), before_other  # the fixture reaches every user table
    mine_before = _rows_of(storage, me)
    counts = storage.users.forget_user(me)
    assert all(n == 0 for n in _rows_of(storage, me).values()), _rows_of(storage, me)
    assert _rows_of(storage, other) == before_other
    assert counts["users"] == 1
    assert sum(counts.values()) == sum(mine_before.values())
    assert storage.users.find_user("telegram", "me") is None


def test_forget_of_an_unknown_user_deletes_nothing(storage: Storage) -> None:
    other = _fill_user(storage, "other")
    before = _rows_of(storage, other)
    assert sum(storage.users.forget_user(other + 100).values()) == 0
    assert _rows_of(storage, other) == before


# -- the database file ---------------------------------------------------------------------------
def test_file_database_is_in_wal_mode_with_foreign_keys(storage: Storage) -> None:
    assert storage.sql.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert storage.sql.db.execute("pragma foreign_keys").fetchone()[0] == 1


def test_a_read_never_waits_for_a_write_in_progress(
    storage: Storage, tiny_catalog: CatalogFile
) -> None:
    """While one listener's import holds the writer (a long transaction, not committed yet),
    another listener's /recommend reads its library at once — the committed state, not the
    half-written one — and sees the import once it commits."""
    storage.tracks.replace_catalog(*read_catalog(tiny_catalog.path))
    a, b, c = tiny_catalog.ids_of("metal")[:3]
    uid = storage.users.user_id("console", "reader")
    writer = storage.users.user_id("console", "writer")
    storage.taste.replace_library(uid, "exportify", _entries(a, b))
    in_tx, release = threading.Event(), threading.Event()

    def long_import() -> None:
        with storage.sql.tx() as db:
            db.execute(
                "insert into library (user_id, track_id, source, rank) values (?, ?, 'x', 1)",
                [writer, c],
            )
            assert storage.taste.library_size(writer) == 1  # its own write, inside the tx
            in_tx.set()
            release.wait(10)

    with ThreadPoolExecutor(2) as pool:
        importing = pool.submit(long_import)
        assert in_tx.wait(5)
        read = pool.submit(storage.taste.library, uid)
        try:
            library = read.result(timeout=2)
        finally:
            release.set()
        importing.result(timeout=10)
    assert sorted(library["track_id"]) == sorted([a, b])
    assert storage.taste.library_size(writer) == 1


def test_in_memory_repository_works_for_quick_use() -> None:
    memory = Storage.open(":memory:")
    uid = memory.users.user_id("console", "me")
    memory.workouts.update_profile(uid, age=20)
    assert memory.workouts.profile(uid)["age"] == 20
    memory.close()


def test_data_survives_closing_and_reopening(tmp_path: Path, tiny_catalog: CatalogFile) -> None:
    path = tmp_path / "beatmatch.db"
    first = Storage.open(path)
    uid = first.users.user_id("discord", "7")
    tracks, genres = read_catalog(tiny_catalog.path)
    first.tracks.replace_catalog(tracks, genres)
    first.taste.replace_library(uid, "exportify", _entries(*tiny_catalog.ids_of("metal")[:3]))
    first.taste.set_feedback(uid, tiny_catalog.ids_of("edm")[0], -1)
    wid = first.workouts.start_workout(uid, None, None, "simulator")
    first.workouts.add_hr_samples(wid, [(1.0, 80.0)])
    first.close()

    again = Storage.open(path)
    try:
        assert again.users.find_user("discord", "7") == uid
        assert again.tracks.catalog_size() == 60
        assert again.taste.library_size(uid) == 3
        assert again.taste.feedback(uid) == {tiny_catalog.ids_of("edm")[0]: -1}
        assert again.workouts.workout_samples(wid) == [(1.0, 80.0)]
    finally:
        again.close()


def test_acknowledged_writes_survive_a_process_that_dies_without_closing(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    script = textwrap.dedent(f"""
        import os
        from storage.database import Storage
        storage = Storage.open({str(path)!r})
        uid = storage.users.user_id("telegram", "crash")
        wid = storage.workouts.start_workout(uid, None, None, "pulsoid")
        storage.workouts.add_hr_samples(wid, [(float(t), 100.0 + t) for t in range(50)])
        storage.workouts.update_profile(uid, age=33)
        os._exit(0)  # no close, no checkpoint
    """)
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    reopened = Storage.open(path)
    try:
        uid = reopened.users.find_user("telegram", "crash")
        assert uid is not None
        assert reopened.workouts.profile(uid)["age"] == 33
        (workout,) = reopened.workouts.open_workouts(uid)
        assert len(reopened.workouts.workout_samples(workout["id"])) == 50
    finally:
        reopened.close()


def test_a_second_connection_sees_committed_writes(storage: Storage, tmp_path: Path) -> None:
    uid = storage.users.user_id("console", "me")
    storage.workouts.update_profile(uid, resting_hr=55)
    with sqlite3.connect(tmp_path / "db" / "beatmatch.db") as other:
        value = other.execute(
            "select resting_hr from profiles where user_id = ?", [uid]
        ).fetchone()[0]
    assert value == 55


def test_nan_values_are_stored_as_null(storage: Storage) -> None:
    storage.tracks.upsert_tracks(
        _tracks({"track_id": A, "energy": np.nan, "tempo": 120.0}), "exportify"
    )
    assert (
        storage.sql.db.execute("select energy from features where track_id = ?", [A]).fetchone()[0]
        is None
    )


def test_only_the_latest_twenty_shown_lists_of_a_user_are_kept(storage: Storage) -> None:
    me, other = storage.users.user_id("discord", "me"), storage.users.user_id("discord", "other")
    storage.shown_lists.keep("other-list", other, "{}", 0.0)
    for n in range(25):
        storage.shown_lists.keep(f"mine-{n:02d}", me, "{}", float(n))
    assert storage.shown_lists.count(me) == 20
    assert storage.shown_lists.get("mine-04") is None and storage.shown_lists.get("mine-05")
    assert storage.shown_lists.get("other-list") == "{}"  # another listener's are left alone
