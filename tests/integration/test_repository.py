"""The Repository over a real SQLite file: users, tracks, catalog, library, feedback, models,
profiles, workouts, /forget, WAL and durability."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.tracks import normalise_tracks
from storage.catalog_csv import read_catalog
from storage.repository import Repository
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


def _count(repo: Repository, sql: str, params: list[object] | tuple[object, ...] = ()) -> int:
    return int(repo.db.execute(sql, params).fetchone()[0])


def _table_size(repo: Repository, table: str) -> int:
    return repo.db[table].count


A, B, C = track_id_for("a"), track_id_for("b"), track_id_for("c")


# -- users ---------------------------------------------------------------------------------------
def test_same_chat_user_gets_the_same_id(repo: Repository) -> None:
    first = repo.user_id("telegram", "42", "Ann")
    assert repo.user_id("telegram", "42") == first
    assert repo.find_user("telegram", "42") == first


def test_same_platform_id_on_another_platform_is_another_user(repo: Repository) -> None:
    assert repo.user_id("telegram", "42") != repo.user_id("discord", "42")


def test_unknown_user_is_not_found_and_not_created(repo: Repository) -> None:
    assert repo.find_user("discord", "nobody") is None
    assert _count(repo, "select count(*) from users") == 0


def test_user_settings_merge(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    repo.update_user_settings(uid, language="de")
    repo.update_user_settings(uid, units="metric")
    assert repo.user_settings(uid) == {"language": "de", "units": "metric"}


# -- tracks and features -------------------------------------------------------------------------
def test_exportify_features_do_not_overwrite_catalog_features(repo: Repository) -> None:
    repo.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.2, "tempo": 100.0}),
        "catalog",
        in_catalog=True,
        overwrite_features=True,
    )
    repo.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.9, "tempo": 170.0}), "exportify"
    )
    row = repo.get_tracks([A]).loc[A]
    assert (row["energy"], row["tempo"]) == (0.2, 100.0)
    assert repo.feature_sources([A]) == {A: "catalog"}


def test_catalog_features_overwrite_exportify_features(repo: Repository) -> None:
    repo.upsert_tracks(_tracks({"track_id": A, "name": "Song", "energy": 0.9}), "exportify")
    repo.upsert_tracks(
        _tracks({"track_id": A, "name": "Song", "energy": 0.3}),
        "catalog",
        in_catalog=True,
        overwrite_features=True,
    )
    assert repo.get_tracks([A]).loc[A, "energy"] == 0.3
    assert repo.feature_sources([A]) == {A: "catalog"}


def test_a_later_import_with_blank_names_keeps_the_known_names(repo: Repository) -> None:
    repo.upsert_tracks(
        _tracks({"track_id": A, "name": "Known", "artists": "Band", "popularity": 40.0}),
        "exportify",
    )
    repo.upsert_tracks(_tracks({"track_id": A, "name": "", "artists": ""}), "reccobeats")
    row = repo.get_tracks([A]).loc[A]
    assert (row["name"], row["artists"], row["popularity"]) == ("Known", "Band", 40.0)


def test_track_without_features_has_no_feature_row(repo: Repository) -> None:
    repo.upsert_tracks(_tracks({"track_id": A, "name": "Bare"}), "exportify")
    assert repo.feature_sources([A]) == {}
    assert repo.get_tracks([A]).loc[A, ["energy", "tempo"]].isna().all()


def test_upsert_reports_progress_up_to_the_total(repo: Repository) -> None:
    ids = [track_id_for(f"p{i}") for i in range(12)]
    seen: list[tuple[int, int]] = []
    written = repo.upsert_tracks(
        _tracks(*({"track_id": t, "energy": 0.5} for t in ids)),
        "catalog",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert written == 12
    assert seen[-1] == (12, 12)


# -- catalog -------------------------------------------------------------------------------------
def test_catalog_reimport_gives_the_same_counts_and_no_duplicates(
    repo: Repository, tiny_catalog: CatalogFile
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    first = repo.replace_catalog(tracks, genres)
    counts = [_table_size(repo, t) for t in ("tracks", "features", "track_genres")]
    second = repo.replace_catalog(tracks, genres)
    assert first == second == {"tracks": 60, "genre_labels": 64}
    assert repo.catalog_size() == 60
    assert [_table_size(repo, t) for t in ("tracks", "features", "track_genres")] == counts
    assert counts == [60, 60, 64]


def test_a_smaller_catalog_replaces_the_old_one(
    repo: Repository, tiny_catalog: CatalogFile
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    repo.replace_catalog(tracks, genres)
    keep = tiny_catalog.ids_of("metal")
    repo.replace_catalog(tracks.loc[keep], genres[genres["track_id"].isin(keep)])
    loaded, labels = repo.load_catalog()
    assert sorted(loaded.index) == sorted(keep)
    assert set(labels["genre"]) == {"metal"}


def test_catalog_import_keeps_tracks_users_have(
    repo: Repository, tiny_catalog: CatalogFile
) -> None:
    uid = repo.user_id("console", "me")
    repo.upsert_tracks(_tracks({"track_id": A, "name": "Mine", "energy": 0.5}), "exportify")
    repo.replace_library(uid, "exportify", _entries(A))
    tracks, genres = read_catalog(tiny_catalog.path)
    repo.replace_catalog(tracks, genres)
    repo.replace_catalog(tracks, genres)
    assert list(repo.library(uid)["track_id"]) == [A]
    assert repo.get_tracks([A]).loc[A, "name"] == "Mine"
    assert A not in repo.load_catalog()[0].index


def test_load_catalog_gives_back_the_imported_tracks_and_labels(
    repo: Repository, tiny_catalog: CatalogFile
) -> None:
    tracks, genres = read_catalog(tiny_catalog.path)
    repo.replace_catalog(tracks, genres)
    loaded, labels = repo.load_catalog()
    assert sorted(loaded.index) == sorted(tracks.index)
    pd.testing.assert_frame_equal(loaded.loc[tracks.index], tracks, check_exact=False)
    assert set(map(tuple, labels[["track_id", "genre"]].to_numpy())) == set(
        map(tuple, genres[["track_id", "genre"]].to_numpy())
    )
    first_edm = tiny_catalog.ids_of("edm")[0]
    assert repo.genres_of(first_edm) == ["edm", "house"]


def test_get_tracks_skips_unknown_ids_and_repeats(repo: Repository) -> None:
    repo.upsert_tracks(
        _tracks({"track_id": A, "name": "a"}, {"track_id": B, "name": "b"}), "exportify"
    )
    got = repo.get_tracks([B, "unknownunknownunknown1", A, B])
    assert sorted(got.index) == sorted([A, B])
    assert repo.get_tracks([]).empty


def test_get_tracks_handles_more_ids_than_one_sql_statement_takes(repo: Repository) -> None:
    ids = [track_id_for(f"many{i}") for i in range(2100)]
    repo.upsert_tracks(
        _tracks(*({"track_id": t, "name": f"n{i}", "energy": 0.5} for i, t in enumerate(ids))),
        "catalog",
    )
    assert len(repo.get_tracks(ids)) == 2100
    assert len(repo.feature_sources(ids)) == 2100


# -- search --------------------------------------------------------------------------------------
@pytest.fixture
def searchable(repo: Repository) -> Repository:
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
    repo.upsert_tracks(
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
    return repo


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
    searchable: Repository, query: str, expected: list[str]
) -> None:
    hits = searchable.search_tracks(query)
    assert list(hits.index) == [track_id_for(k) for k in expected]


def test_search_with_sql_text_leaves_the_tables_intact(searchable: Repository) -> None:
    before = _count(searchable, "select count(*) from tracks")
    searchable.search_tracks("x'); DELETE FROM tracks; --", "' OR 1=1 --")
    assert _count(searchable, "select count(*) from tracks") == before


def test_search_puts_the_exact_title_first(searchable: Repository) -> None:
    hits = searchable.search_tracks("home")
    assert hits.index[0] in {track_id_for("exact"), track_id_for("other_artist")}
    assert list(hits.index)[-1] == track_id_for("longer")


def test_search_filters_by_artist_and_limits(searchable: Repository) -> None:
    assert list(searchable.search_tracks("home", "duo").index) == [
        track_id_for("exact"),
        track_id_for("longer"),
    ]
    assert len(searchable.search_tracks("e", limit=2)) == 2
    assert searchable.search_tracks("no such song").empty


# -- library, feedback, taste version ------------------------------------------------------------
def test_library_import_replaces_the_previous_one_of_that_source(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    repo.upsert_tracks(_tracks(*({"track_id": t} for t in (A, B, C))), "exportify")
    repo.replace_library(uid, "exportify", _entries(A, B))
    repo.replace_library(uid, "spotify_saved", _entries(A))
    assert repo.replace_library(uid, "exportify", _entries(C)) == 1
    library = repo.library(uid)
    assert sorted(zip(library["source"], library["track_id"], strict=True)) == [
        ("exportify", C),
        ("spotify_saved", A),
    ]
    assert repo.library_size(uid) == 2


def test_library_keeps_rank_and_added_at(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    repo.upsert_tracks(_tracks({"track_id": A}, {"track_id": B}), "exportify")
    repo.replace_library(uid, "exportify", _entries(B, A))
    library = repo.library(uid)
    assert list(library["track_id"]) == [B, A]
    assert list(library["rank"]) == [1, 2]
    assert set(library["added_at"]) == {"2025-01-01T00:00:00Z"}


def test_a_later_feedback_press_replaces_the_earlier_one(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    repo.set_feedback(uid, A, 1)
    repo.set_feedback(uid, B, -1)
    repo.set_feedback(uid, A, -1)
    assert repo.feedback(uid) == {A: -1, B: -1}


def test_feedback_on_a_track_never_stored_before_is_kept(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    repo.set_feedback(uid, C, 1)
    assert repo.feedback(uid) == {C: 1}
    assert _count(repo, "select count(*) from tracks where id = ?", [C]) == 1


def test_taste_version_changes_with_library_and_feedback_of_that_user_only(
    repo: Repository,
) -> None:
    me, other = repo.user_id("console", "me"), repo.user_id("console", "other")
    repo.upsert_tracks(_tracks({"track_id": A}), "exportify")
    versions = [repo.taste_version(me)]
    repo.replace_library(me, "exportify", _entries(A))
    versions.append(repo.taste_version(me))
    repo.set_feedback(me, B, 1)
    versions.append(repo.taste_version(me))
    repo.update_profile(me, age=30)
    versions.append(repo.taste_version(me))
    assert versions[0] < versions[1] < versions[2] == versions[3]
    assert repo.taste_version(other) == 0


# -- models and profiles -------------------------------------------------------------------------
def test_model_record_round_trip_and_replacement(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    assert repo.model_record(uid, "taste") is None
    repo.save_model_record(uid, "taste", "/m/1", "fp1", {"auc": 0.8})
    repo.save_model_record(uid, "taste", "/m/2", "fp2", {"auc": 0.9, "positives": 30})
    record = repo.model_record(uid, "taste")
    assert record is not None
    assert (record["path"], record["fingerprint"]) == ("/m/2", "fp2")
    assert record["metrics"] == {"auc": 0.9, "positives": 30}
    assert repo.model_record(uid, "genre") is None


def test_profile_defaults_to_unset_and_updates_partially(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    assert repo.profile(uid) == dict.fromkeys(
        ("age", "resting_hr", "max_hr", "cadence", "goal_zone")
    )
    repo.update_profile(uid, age=34, resting_hr=58)
    repo.update_profile(uid, goal_zone=3)
    assert repo.profile(uid) == {
        "age": 34,
        "resting_hr": 58,
        "max_hr": None,
        "cadence": None,
        "goal_zone": 3,
    }
    repo.update_profile(uid, age=None)
    assert repo.profile(uid)["age"] is None
    assert repo.profile(uid)["resting_hr"] == 58


# -- workouts ------------------------------------------------------------------------------------
def test_workout_lifecycle(repo: Repository) -> None:
    uid = repo.user_id("console", "me")
    wid = repo.start_workout(uid, goal_zone=3, cadence=None, source="simulator", started_at=100.0)
    assert [w["id"] for w in repo.open_workouts(uid)] == [wid]
    assert repo.add_hr_samples(wid, [(2.0, 101.0), (1.0, 100.0)]) == 2
    repo.add_hr_samples(wid, [(2.0, 999.0), (3.0, 102.0)])  # a repeated t is ignored
    repo.add_workout_track(wid, 1.0, A, "Song A")
    assert repo.workout_samples(wid) == [(1.0, 100.0), (2.0, 101.0), (3.0, 102.0)]
    assert repo.workout_tracks(wid) == [{"t": 1.0, "track_id": A, "title": "Song A"}]
    repo.end_workout(wid, {"avg_hr": 101.0}, ended_at=200.0)
    assert repo.open_workouts(uid) == []
    finished = repo.finished_workouts(uid)
    assert list(finished["id"]) == [wid]
    assert '"avg_hr": 101.0' in finished.loc[0, "summary"]


def test_open_workouts_of_everyone_and_of_one_user(repo: Repository) -> None:
    me, other = repo.user_id("console", "me"), repo.user_id("console", "other")
    mine = repo.start_workout(me, None, None, "simulator")
    theirs = repo.start_workout(other, None, 170, "pulsoid")
    assert [w["id"] for w in repo.open_workouts()] == [mine, theirs]
    assert [w["id"] for w in repo.open_workouts(other)] == [theirs]


# -- forget ---------------------------------------------------------------------------------------
def _fill_user(repo: Repository, name: str) -> int:
    uid = repo.user_id("telegram", name)
    tid = track_id_for(f"lib-{name}")
    repo.upsert_tracks(_tracks({"track_id": tid, "name": name, "energy": 0.4}), "exportify")
    repo.replace_library(uid, "exportify", _entries(tid))
    repo.set_feedback(uid, tid, 1)
    repo.save_model_record(uid, "taste", f"/m/{name}", "fp", {})
    repo.update_profile(uid, age=40)
    repo.replace_top_artists(uid, "short", [(f"Artist {name}", "a1")])
    wid = repo.start_workout(uid, 3, None, "simulator")
    repo.add_hr_samples(wid, [(1.0, 90.0), (2.0, 91.0)])
    repo.add_workout_track(wid, 1.0, tid, name)
    with repo.db.conn:
        repo.db.execute(
            "insert into oauth_states (state_hash, user_id, provider, verifier, "
            "created_at, expires_at) values (?, ?, 'spotify', 'v', 0, 1)",
            [f"h-{name}", uid],
        )
        repo.db.execute(
            "insert into linked_accounts (user_id, provider, account_name, "
            "token_blob, scopes, updated_at) values (?, 'spotify', ?, ?, '', 0)",
            [uid, name, b"blob"],
        )
    return uid


def _rows_of(repo: Repository, uid: int) -> dict[str, int]:
    """Rows per table that belong to ``uid``, found by looking at every table's columns."""
    counts: dict[str, int] = {}
    workouts = [r[0] for r in repo.db.execute("select id from workouts where user_id = ?", [uid])]
    for table in repo.db.table_names():
        columns = {c.name for c in repo.db[table].columns}
        if table == "users":
            counts[table] = _count(repo, "select count(*) from users where id = ?", [uid])
        elif "user_id" in columns:
            sql = f"select count(*) from [{table}] where user_id = ?"  # noqa: S608 - our tables
            counts[table] = _count(repo, sql, [uid])
        elif "workout_id" in columns:
            marks = ",".join("?" * len(workouts)) or "null"
            sql = f"select count(*) from [{table}] where workout_id in ({marks})"  # noqa: S608
            counts[table] = _count(repo, sql, workouts)
    return counts


def test_forget_removes_every_row_of_the_user_and_nothing_of_another(repo: Repository) -> None:
    me, other = _fill_user(repo, "me"), _fill_user(repo, "other")
    before_other = _rows_of(repo, other)
    assert all(before_other.values()), before_other  # the fixture reaches every user table
    mine_before = _rows_of(repo, me)
    counts = repo.forget_user(me)
    assert all(n == 0 for n in _rows_of(repo, me).values()), _rows_of(repo, me)
    assert _rows_of(repo, other) == before_other
    assert counts["users"] == 1
    assert sum(counts.values()) == sum(mine_before.values())
    assert repo.find_user("telegram", "me") is None


def test_forget_of_an_unknown_user_deletes_nothing(repo: Repository) -> None:
    other = _fill_user(repo, "other")
    before = _rows_of(repo, other)
    assert sum(repo.forget_user(other + 100).values()) == 0
    assert _rows_of(repo, other) == before


# -- the database file ---------------------------------------------------------------------------
def test_file_database_is_in_wal_mode_with_foreign_keys(repo: Repository) -> None:
    assert repo.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert repo.db.execute("pragma foreign_keys").fetchone()[0] == 1


def test_in_memory_repository_works_for_quick_use() -> None:
    memory = Repository.open(":memory:")
    uid = memory.user_id("console", "me")
    memory.update_profile(uid, age=20)
    assert memory.profile(uid)["age"] == 20
    memory.close()


def test_data_survives_closing_and_reopening(tmp_path: Path, tiny_catalog: CatalogFile) -> None:
    path = tmp_path / "beatmatch.db"
    first = Repository.open(path)
    uid = first.user_id("discord", "7")
    tracks, genres = read_catalog(tiny_catalog.path)
    first.replace_catalog(tracks, genres)
    first.replace_library(uid, "exportify", _entries(*tiny_catalog.ids_of("metal")[:3]))
    first.set_feedback(uid, tiny_catalog.ids_of("edm")[0], -1)
    wid = first.start_workout(uid, None, None, "simulator")
    first.add_hr_samples(wid, [(1.0, 80.0)])
    first.close()

    again = Repository.open(path)
    try:
        assert again.find_user("discord", "7") == uid
        assert again.catalog_size() == 60
        assert again.library_size(uid) == 3
        assert again.feedback(uid) == {tiny_catalog.ids_of("edm")[0]: -1}
        assert again.workout_samples(wid) == [(1.0, 80.0)]
    finally:
        again.close()


def test_acknowledged_writes_survive_a_process_that_dies_without_closing(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    script = textwrap.dedent(f"""
        import os
        from storage.repository import Repository
        repo = Repository.open({str(path)!r})
        uid = repo.user_id("telegram", "crash")
        wid = repo.start_workout(uid, None, None, "pulsoid")
        repo.add_hr_samples(wid, [(float(t), 100.0 + t) for t in range(50)])
        repo.update_profile(uid, age=33)
        os._exit(0)  # no close, no checkpoint
    """)
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    reopened = Repository.open(path)
    try:
        uid = reopened.find_user("telegram", "crash")
        assert uid is not None
        assert reopened.profile(uid)["age"] == 33
        (workout,) = reopened.open_workouts(uid)
        assert len(reopened.workout_samples(workout["id"])) == 50
    finally:
        reopened.close()


def test_a_second_connection_sees_committed_writes(repo: Repository, tmp_path: Path) -> None:
    uid = repo.user_id("console", "me")
    repo.update_profile(uid, resting_hr=55)
    with sqlite3.connect(tmp_path / "db" / "beatmatch.db") as other:
        value = other.execute(
            "select resting_hr from profiles where user_id = ?", [uid]
        ).fetchone()[0]
    assert value == 55


def test_nan_values_are_stored_as_null(repo: Repository) -> None:
    repo.upsert_tracks(_tracks({"track_id": A, "energy": np.nan, "tempo": 120.0}), "exportify")
    assert (
        repo.db.execute("select energy from features where track_id = ?", [A]).fetchone()[0] is None
    )
