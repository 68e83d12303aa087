"""The core over a real database and a small demo catalog, with small, fast taste models, built by
the composition root (``tests.rig.make_app``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.app import Beatmatch, build
from bot.config import Config, load_config
from bot.core.catalog import DEMO_NOTE, CatalogState
from bot.core.commands import parse_command
from bot.core.dispatch import handle_text, run_command
from bot.core.errors import BadInput, CoolingDown, NotFound, UserFacingError
from bot.core.forgetting import BUTTON_FRONTS
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from bot.core.taste.service import IMPORTS_AT_ONCE
from bot.core.workout.live import StreamRequest
from recommender.context import Context
from recommender.demo_catalog import demo_catalog
from recommender.tracks import split_artists
from storage.database import Storage
from tests.conftest import (
    EXPORTIFY_HEADER,
    CatalogFile,
    catalog_exportify_rows,
    tiny_exportify_rows,
    write_exportify,
)
from tests.integration.telegram_rig import ScriptedHeart
from tests.rig import genre_ready, make_app, settle

ANN = ChatUser("telegram", "1001", "Ann")
BOB = ChatUser("discord", "2002", "Bob")
#: A path names a file on the bot's machine: only the console imports one.
CON = ChatUser("console", "local", "you")
SPOTIFY_TRACK = "https://open.spotify.com/track/"


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    return demo_catalog(size=600)


@pytest.fixture
def catalog(demo: tuple[pd.DataFrame, pd.DataFrame]) -> CatalogState:
    tracks, genres = demo
    return CatalogState(tracks=tracks, genres=genres, is_demo=True)


def _app(tmp_path: Path, catalog: CatalogState, **parts: object) -> Beatmatch:
    """The core as ``bot.app.assemble`` wires it; no heart monitor (the chat fronts' setting)."""
    parts.setdefault("simulated_heart", False)
    return make_app(tmp_path, catalog, **parts)


async def _settle(service: BeatmatchService) -> None:
    """Let background training finish so no thread outlives the test's loop."""
    await service.taste.training.idle()


@pytest.fixture
async def app(catalog: CatalogState, tmp_path: Path, genre_dir: Path) -> AsyncIterator[Beatmatch]:
    app = _app(tmp_path, catalog, genre_dir=genre_dir)
    yield app
    await settle(app)
    await app.shutdown()


@pytest.fixture
def service(app: Beatmatch) -> BeatmatchService:
    return app.service


@pytest.fixture
def storage(app: Beatmatch) -> Storage:
    """The database of the app under test."""
    return app.storage


@pytest.fixture
def library_csv(tmp_path: Path, demo: tuple[pd.DataFrame, pd.DataFrame]) -> Path:
    """An export of 24 acoustic tracks of the demo catalog and 12 acoustic-sounding others."""
    tracks, genres = demo
    acoustic = genres.loc[genres["genre"] == "acoustic", "track_id"].tolist()[:24]
    rows = catalog_exportify_rows(tracks, acoustic)
    outside = tiny_exportify_rows("acoustic", 12).to_numpy().tolist()
    return write_exportify(tmp_path / "liked.csv", rows + outside)


def _library_ids(path: Path) -> set[str]:
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    return {u.split(":")[-1] for u in frame["Track URI"]}


def _upload(service: BeatmatchService, path: Path, user: ChatUser = ANN) -> Awaitable[Reply]:
    """Import ``path`` as a chat user does: its bytes, uploaded."""
    return service.taste.import_library(user, data=path.read_bytes(), filename=path.name)


async def _imported(service: BeatmatchService, path: Path, user: ChatUser = ANN) -> Reply:
    reply = await _upload(service, path, user)
    await _settle(service)
    return reply


def _mean(service: BeatmatchService, reply: Reply, column: str) -> float:
    return float(service.catalog.tracks.loc[[c.track_id for c in reply.tracks], column].mean())


def assert_invited(reply: Reply) -> None:
    """A listener with no library (and no seeds) is invited to /start or /import: no tracks."""
    assert reply.title == "Let's find your taste" and not reply.tracks, reply
    assert "/start" in reply.text and "/import" in reply.text


# -- import and recommend ------------------------------------------------------------------------
async def test_import_reports_counts(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    reply = await service.taste.import_library(CON, str(library_csv))
    await _settle(service)
    assert "Imported 36 tracks" in reply.text
    assert "24 are in the catalog" in reply.text
    uid = await service.users.uid(CON)
    assert storage.taste.library_size(uid) == 36


async def test_import_of_uploaded_bytes(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    reply = await service.taste.import_library(ANN, data=library_csv.read_bytes(), filename="x.csv")
    await _settle(service)
    assert "Imported 36 tracks" in reply.text
    assert storage.taste.library_size(await service.users.uid(ANN)) == 36


async def test_many_imports_at_once_all_land_and_the_ones_waiting_are_told(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    """Ten listeners send their export in the same second: a few are saved at a time, the others
    hear that theirs is next, and every one of them lands whole."""
    users = [ChatUser("telegram", f"crowd-{i}") for i in range(10)]
    heard: dict[str, list[str]] = {u.user_id: [] for u in users}

    def note(user: ChatUser) -> Callable[[str], Awaitable[None]]:
        async def notify(text: str) -> None:
            heard[user.user_id].append(text)

        return notify

    data = library_csv.read_bytes()
    replies = await asyncio.gather(
        *(
            service.taste.import_library(u, data=data, filename="x.csv", notify=note(u))
            for u in users
        )
    )
    await _settle(service)
    assert all("Imported 36 tracks" in r.text for r in replies)
    for user in users:
        assert storage.taste.library_size(await service.users.uid(user)) == 36
    waited = [u for u, lines in heard.items() if any("yours is next" in x for x in lines)]
    assert len(waited) >= len(users) - IMPORTS_AT_ONCE


@pytest.mark.parametrize("user", [ANN, BOB], ids=["telegram", "discord"])
async def test_a_chat_user_cannot_import_a_path_on_the_bots_machine(
    service: BeatmatchService, storage: Storage, library_csv: Path, user: ChatUser
) -> None:
    with pytest.raises(BadInput, match="Exportify CSV as a file"):
        await service.taste.import_library(user, str(library_csv))
    assert storage.users.find_user(user.platform, user.user_id) is None  # nothing stored


async def test_recommend_gives_new_tracks_with_reasons_and_links(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    reply = await service.taste.recommend(ANN, 8)
    assert len(reply.tracks) == 8
    ids = [c.track_id for c in reply.tracks]
    assert len(set(ids)) == 8
    assert not set(ids) & _library_ids(library_csv)
    assert all(t in service.catalog.tracks.index for t in ids)
    for card in reply.tracks:
        assert card.reason.strip()
        assert card.url == SPOTIFY_TRACK + card.track_id
        assert f"why: {card.reason}" in reply.plain_text()
    per_artist = Counter(a for c in reply.tracks for a in split_artists(c.artists))
    assert max(per_artist.values()) <= 2
    assert {(b.action, b.track_id) for b in reply.buttons} == {
        (action, t) for t in ids for action in ("like", "dislike")
    }


async def test_recommend_default_count_and_string_count(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    assert len((await service.taste.recommend(ANN)).tracks) == 10
    # A count typed as text is read by the command registry.
    typed = await handle_text(service, ANN, "/recommend 3")
    assert not typed.error, typed.text
    assert len(typed.tracks) == 3


async def test_asking_again_gives_tracks_not_shown_lately_unless_asked_for_the_same(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    first = await handle_text(service, ANN, "/recommend 10")
    second = await handle_text(service, ANN, "/recommend 10")
    first_ids = {c.track_id for c in first.tracks}
    second_ids = {c.track_id for c in second.tracks}
    assert len(first_ids) == len(second_ids) == 10
    assert len(first_ids & second_ids) <= 2  # a repeated /recommend moves on
    assert "fresh:no" in second.plain_text()  # and says how to see the same list again
    same = await handle_text(service, ANN, "/recommend 10 fresh:no")
    assert {c.track_id for c in same.tracks} == first_ids
    # Shown tracks come back once they are older than recommend.fresh_days (14 by default).
    uid = await service.users.uid(ANN)
    storage.sql.db.execute("update shown_tracks set shown_at = shown_at - 15 * 86400")
    assert storage.shown.since(uid, 14) == set()
    after_a_while = await handle_text(service, ANN, "/recommend 10")
    assert {c.track_id for c in after_a_while.tracks} == first_ids
    wrong = await handle_text(service, ANN, "/recommend fresh:maybe")
    assert wrong.error and "fresh takes yes or no" in wrong.text


async def test_recommend_follows_the_taste(service: BeatmatchService, library_csv: Path) -> None:
    await _imported(service, library_csv)
    reply = await service.taste.recommend(ANN, 10)
    labels = [service.catalog.labels(c.track_id)[0] for c in reply.tracks]
    assert labels.count("acoustic") >= 5, labels


async def test_mood_moves_energy_the_expected_way(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    calm = await service.taste.recommend(ANN, 10, mood="calm")
    energetic = await service.taste.recommend(ANN, 10, mood="energetic")
    assert _mean(service, calm, "energy") < _mean(service, energetic, "energy") - 0.2
    assert "calm" in calm.title and "energetic" in energetic.title


async def test_mood_alias_is_understood(service: BeatmatchService, library_csv: Path) -> None:
    await _imported(service, library_csv)
    reply = await service.taste.recommend(ANN, 5, mood="Gym")
    assert "workout" in reply.title


async def test_bpm_pulls_tempos_towards_it(service: BeatmatchService, library_csv: Path) -> None:
    await _imported(service, library_csv)

    def distance(reply: Reply, target: float) -> float:
        tempo = service.catalog.tracks.loc[[c.track_id for c in reply.tracks], "tempo"]
        tempo = tempo.to_numpy(dtype=float)
        folded = np.minimum(
            abs(tempo - target), np.minimum(abs(2 * tempo - target), abs(tempo / 2 - target))
        )
        return float(np.mean(folded))

    plain = await service.taste.recommend(ANN, 10)
    fast = await service.taste.recommend(ANN, 10, bpm=174)
    assert distance(fast, 174) < distance(plain, 174)
    assert distance(fast, 174) < 15
    assert "174 bpm" in fast.title


async def test_recommend_before_import_says_to_import(service: BeatmatchService) -> None:
    assert_invited(await service.taste.recommend(ANN, 5))


async def test_a_library_without_audio_features_is_a_user_error(
    service: BeatmatchService, tmp_path: Path
) -> None:
    rows = tiny_exportify_rows("acoustic", 10)
    rows[list(EXPORTIFY_HEADER[12:])] = ""
    path = write_exportify(tmp_path / "bare.csv", rows)
    reply = await service.taste.import_library(CON, str(path))
    assert "no audio features" in reply.text
    await _settle(service)
    with pytest.raises(UserFacingError):
        await service.taste.recommend(CON, 5)


async def test_the_model_is_trained_once_and_reused(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    await service.taste.recommend(ANN, 3)
    uid = await service.users.uid(ANN)
    record = storage.taste.model_record(uid, "taste")
    assert record is not None and Path(record["path"]).is_file()
    trained_at = record["trained_at"]
    await service.taste.recommend(ANN, 3)
    assert storage.taste.model_record(uid, "taste")["trained_at"] == trained_at


async def test_a_restarted_service_loads_the_stored_model(
    catalog: CatalogState, tmp_path: Path, library_csv: Path
) -> None:
    first = _app(tmp_path, catalog)
    try:
        await _imported(first.service, library_csv)
        before = await first.service.taste.recommend(ANN, 5)
        uid = await first.service.users.uid(ANN)
        trained_at = first.storage.taste.model_record(uid, "taste")["trained_at"]
    finally:
        await settle(first)
        await first.shutdown()
    second = _app(tmp_path, catalog)  # the same database and data directory
    try:
        notes: list[str] = []

        async def note(message: str) -> None:
            notes.append(message)

        after = await second.service.taste.recommend(ANN, 5, fresh="no", notify=note)
        await settle(second)
        assert second.storage.taste.model_record(uid, "taste")["trained_at"] == trained_at
        assert [c.track_id for c in after.tracks] == [c.track_id for c in before.tracks]
        assert not any("Learning your taste" in n for n in notes)  # loaded, not learned again
    finally:
        await settle(second)
        await second.shutdown()


async def test_users_do_not_see_each_others_libraries(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv, ANN)
    assert_invited(await service.taste.recommend(BOB, 5))


# -- feedback ------------------------------------------------------------------------------------
async def test_like_and_dislike_by_number_are_recorded(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    reply = await service.taste.recommend(ANN, 5)
    first, second = reply.tracks[0].track_id, reply.tracks[1].track_id
    liked = await service.taste.feedback(ANN, "1", 1)
    assert "liked" in liked.text
    await service.taste.feedback(ANN, f"spotify:track:{second}", -1)
    uid = await service.users.uid(ANN)
    assert storage.taste.feedback(uid) == {first: 1, second: -1}


async def test_a_disliked_track_is_never_recommended_again(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    reply = await service.taste.recommend(ANN, 5)
    disliked = reply.tracks[0].track_id
    await service.taste.feedback(ANN, "1", -1)
    for _ in range(2):  # the stale model while retraining, then the retrained one
        again = await service.taste.recommend(ANN, 50)
        assert disliked not in {c.track_id for c in again.tracks}
        await _settle(service)


async def test_feedback_changes_the_taste_version_and_retrains(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    await service.taste.recommend(ANN, 5)
    uid = await service.users.uid(ANN)
    before = storage.taste.model_record(uid, "taste")["fingerprint"]
    await service.taste.feedback(ANN, "2", 1)
    await _settle(service)
    await service.taste.recommend(ANN, 5)
    assert storage.taste.model_record(uid, "taste")["fingerprint"] != before


@pytest.mark.parametrize("ref", ["", "abc", "0", "6", "-1", "https://open.spotify.com/album/x"])
async def test_bad_feedback_refs_are_user_errors(
    service: BeatmatchService, library_csv: Path, ref: str
) -> None:
    await _imported(service, library_csv)
    await service.taste.recommend(ANN, 5)
    with pytest.raises(UserFacingError):
        await service.taste.feedback(ANN, ref, 1)


async def test_feedback_by_number_without_a_list_is_a_user_error(service: BeatmatchService) -> None:
    with pytest.raises(BadInput, match="number"):
        await service.taste.feedback(ANN, "1", 1)


# -- cooldown ------------------------------------------------------------------------------------
async def test_cooldown_on_repeated_heavy_commands(
    catalog: CatalogState, tmp_path: Path, library_csv: Path
) -> None:
    app = _app(tmp_path, catalog, cooldown=60.0)
    svc = app.service
    try:
        await _upload(svc, library_csv)
        started = time.monotonic()
        await svc.taste.recommend(ANN, 3)  # the clock starts as it is asked, not answered
        with pytest.raises(CoolingDown) as error:
            await svc.taste.recommend(ANN, 3)
        assert 60 - (time.monotonic() - started) - 1 < error.value.seconds <= 60
        assert "s." in error.value.message
        await svc.workout.profile(ANN)  # light commands are not limited
        assert_invited(await svc.taste.recommend(BOB, 3))  # another user has their own clock
    finally:
        await settle(app)
        await app.shutdown()


# -- forget --------------------------------------------------------------------------------------
async def test_forget_erases_library_model_file_and_profile(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    await _imported(service, library_csv, BOB)
    await service.taste.recommend(ANN, 3)
    await service.taste.recommend(BOB, 3)
    await service.workout.profile(ANN, age="40")
    await service.taste.feedback(ANN, "1", 1)
    uid = await service.users.uid(ANN)
    model_file = Path(storage.taste.model_record(uid, "taste")["path"])
    assert model_file.is_file()
    await _settle(service)

    reply = await service.forget(ANN, "yes")
    assert "erased" in reply.text
    assert not model_file.exists()
    assert storage.users.find_user(ANN.platform, ANN.user_id) is None
    for table in ("library", "feedback", "models", "profiles", "shown_tracks"):
        assert storage.sql.db[table].count_where("user_id = ?", [uid]) == 0, table
    assert_invited(await service.taste.recommend(ANN, 3))
    shown = await service.workout.profile(ANN)
    assert "Age: not set" in shown.text
    # Bob keeps everything.
    assert len((await service.taste.recommend(BOB, 3)).tracks) == 3


async def test_forget_asks_first_says_what_it_would_erase_and_erases_nothing(
    service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    await service.taste.recommend(ANN, 3)
    await service.taste.feedback(ANN, "1", 1)
    uid = await service.users.uid(ANN)
    rows = storage.sql.db["library"].count_where("user_id = ?", [uid])

    asked = await service.forget(ANN)
    assert f"{rows:,} tracks of your library" in asked.text
    assert "1 like or dislike" in asked.text
    assert "Nothing is erased until you confirm" in asked.text and "/forget yes" in asked.text
    if ANN.platform in BUTTON_FRONTS:
        assert [(b.label, b.action, b.track_id) for b in asked.buttons] == [
            ("Yes, erase everything", "forget", ANN.user_id),
            ("Cancel", "keep", ANN.user_id),
        ]
    assert (await service.forget(ANN, "no")).text == "Cancelled: nothing was erased."
    assert storage.sql.db["library"].count_where("user_id = ?", [uid]) == rows
    assert storage.sql.db["feedback"].count_where("user_id = ?", [uid]) == 1

    in_the_console = await service.forget(ChatUser("console", "me"))
    assert in_the_console.buttons == () and "press" not in in_the_console.text

    assert "erased everything" in (await service.forget(ANN, "yes")).text
    assert storage.sql.db["library"].count_where("user_id = ?", [uid]) == 0


async def test_forget_while_training_leaves_nothing_behind(
    app: Beatmatch, service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _upload(service, library_csv)  # training starts in the background
    uid = await service.users.uid(ANN)
    await service.forget(ANN, "yes")
    await asyncio.sleep(0)
    await _settle(service)
    await asyncio.sleep(0.2)
    assert storage.taste.model_record(uid, "taste") is None
    assert list((app.config.data_dir / "models").glob(f"taste-user{uid}.*")) == []
    assert_invited(await service.taste.recommend(ANN, 3))


# -- profile -------------------------------------------------------------------------------------
async def test_profile_shows_defaults_by_name(service: BeatmatchService) -> None:
    reply = await service.workout.profile(ANN)
    assert "Defaults in use for: age, resting_hr" in reply.text
    assert "Resting heart rate: 60 bpm (default)" in reply.text
    assert "Zones" in reply.text


async def test_profile_set_is_saved_and_shown(service: BeatmatchService, storage: Storage) -> None:
    reply = await service.workout.profile(ANN, age="34", resting_hr="58", goal="vigorous")
    assert "(saved)" in reply.title
    assert "Age: 34" in reply.text
    assert "Resting heart rate: 58 bpm" in reply.text
    assert "Maximum heart rate: 184 bpm" in reply.text  # 208 − 0.7 × 34
    assert "Goal zone: 4" in reply.text
    assert "Defaults in use" not in reply.text
    uid = await service.users.uid(ANN)
    assert storage.workouts.profile(uid) == {
        "age": 34,
        "resting_hr": 58,
        "max_hr": None,
        "cadence": None,
        "goal_zone": 4,
    }
    shown = await service.workout.profile(ANN)
    assert "(saved)" not in shown.title and "Age: 34" in shown.text


async def test_profile_field_can_be_cleared(service: BeatmatchService) -> None:
    await service.workout.profile(ANN, age="34", max_hr="190")
    reply = await service.workout.profile(ANN, max_hr="clear")
    assert "Tanaka" in reply.text


@pytest.mark.parametrize(
    "options",
    [
        {"age": "abc"},
        {"age": "5"},
        {"age": "1000"},
        {"resting_hr": "-3"},
        {"goal": "7"},
        {"goal": "hardest"},
        {"weight": "80"},
        {"resting_hr": "110", "max_hr": "125"},
        {"age": 5},  # typed ints (Discord's options) are checked alike
        {"goal": 7},
    ],
)
async def test_bad_profile_values_are_user_errors_and_change_nothing(
    service: BeatmatchService, storage: Storage, options: dict[str, str | int]
) -> None:
    await service.workout.profile(ANN, age="30")
    with pytest.raises(BadInput):
        await service.workout.profile(ANN, **options)
    uid = await service.users.uid(ANN)
    assert storage.workouts.profile(uid)["age"] == 30
    assert storage.workouts.profile(uid)["resting_hr"] is None


# -- genre and similar ---------------------------------------------------------------------------
async def test_similar_to_a_catalog_track(service: BeatmatchService) -> None:
    seed = service.catalog.genres.loc[service.catalog.genres["genre"] == "metal", "track_id"].iloc[
        0
    ]
    reply = await service.lookup.similar(ANN, seed, 6)
    ids = [c.track_id for c in reply.tracks]
    assert len(ids) == 6 and seed not in ids
    labels = [service.catalog.labels(t)[0] for t in ids]
    assert labels == ["metal"] * 6  # the seed's genre first, then the nearest in sound
    assert all(c.reason.startswith("also metal; close in sound") for c in reply.tracks)
    per_artist = Counter(a for c in reply.tracks for a in split_artists(c.artists))
    assert max(per_artist.values()) <= 2


async def test_similar_to_a_library_track_outside_the_catalog(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    outside = [t for t in _library_ids(library_csv) if t not in service.catalog.tracks.index]
    reply = await service.lookup.similar(ANN, f"https://open.spotify.com/track/{outside[0]}?si=x")
    assert len(reply.tracks) == 10


async def test_similar_by_title_and_artist(service: BeatmatchService) -> None:
    row = service.catalog.tracks.iloc[5]
    query = f"{row['name']} - {split_artists(row['artists'])[0]}"
    reply = await service.lookup.similar(ANN, query, 3)
    assert reply.title.startswith(f"Sounds like {row['name']}")


async def test_genre_answers_for_a_catalog_track(app: Beatmatch, service: BeatmatchService) -> None:
    await genre_ready(app)
    genres = service.catalog.genres
    seed = genres.loc[genres["genre"] == "classical", "track_id"].iloc[0]
    reply = await service.lookup.genre(ANN, seed)
    assert "classical" in reply.text
    assert "Classifier's top 3" in reply.text
    assert reply.tracks[0].track_id == seed


async def test_genre_of_a_track_outside_the_catalog_is_the_classifiers_call(
    app: Beatmatch, service: BeatmatchService, library_csv: Path
) -> None:
    await genre_ready(app)
    await _imported(service, library_csv)
    outside = sorted(t for t in _library_ids(library_csv) if t not in service.catalog.tracks.index)
    reply = await service.lookup.genre(ANN, f"spotify:track:{outside[0]}")
    assert "Classifier's top 3" in reply.text
    assert "not labelled in the catalog" in reply.text


async def test_genre_of_an_unknown_id_is_not_found(service: BeatmatchService) -> None:
    with pytest.raises(NotFound, match="4LRPiXqCikLlN15c3yImP7"):
        await service.lookup.genre(ANN, "4LRPiXqCikLlN15c3yImP7")


# -- bad input never escapes as anything but a UserFacingError -----------------------------------
Call = Callable[[BeatmatchService, Path], Awaitable[Reply]]
LONG = "x" * 10_000


def _binary(tmp: Path) -> str:
    path = tmp / "random.bin"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return str(path)


def _typed(service: BeatmatchService, user: ChatUser, text: str) -> Awaitable[Reply]:
    """A command as a user types it: the registry reads its words, then the service answers."""
    return run_command(service, user, parse_command(text))


BAD_CALLS: dict[str, Call] = {
    "recommend -5": lambda s, t: _typed(s, ANN, "/recommend -5"),
    "recommend -5 typed": lambda s, t: s.taste.recommend(ANN, -5),
    "recommend 0": lambda s, t: s.taste.recommend(ANN, 0),
    "recommend 99999": lambda s, t: _typed(s, ANN, "/recommend 99999"),
    "recommend 99999 typed": lambda s, t: s.taste.recommend(ANN, 99999),
    "recommend abc": lambda s, t: _typed(s, ANN, "/recommend abc"),
    "recommend mood": lambda s, t: s.taste.recommend(ANN, 5, mood="grumpy"),
    "recommend bpm word": lambda s, t: _typed(s, ANN, "/recommend 5 bpm:fast"),
    "recommend bpm high": lambda s, t: _typed(s, ANN, "/recommend 5 bpm:500"),
    "recommend bpm high typed": lambda s, t: s.taste.recommend(ANN, 5, bpm=500),
    "genre empty": lambda s, t: s.lookup.genre(ANN, ""),
    "genre long": lambda s, t: s.lookup.genre(ANN, LONG),
    "genre sql": lambda s, t: s.lookup.genre(ANN, "'; DROP TABLE tracks; --"),
    "genre like": lambda s, t: s.lookup.genre(ANN, "%_%"),
    "genre other link": lambda s, t: s.lookup.genre(ANN, "https://example.com/track/1"),
    "genre album": lambda s, t: s.lookup.genre(
        ANN, "https://open.spotify.com/album/4LRPiXqCikLlN15c3yImP7"
    ),
    "genre emoji": lambda s, t: s.lookup.genre(ANN, "🎵🎶🔥"),
    "genre control": lambda s, t: s.lookup.genre(ANN, "\x00\x01\x02"),
    "similar unknown": lambda s, t: s.lookup.similar(ANN, "no such song - nobody"),
    "similar count": lambda s, t: _typed(s, ANN, "/similar Neon Harbor count:abc"),
    "similar count high": lambda s, t: _typed(s, ANN, "/similar Neon Harbor count:500"),
    "similar count high typed": lambda s, t: s.lookup.similar(ANN, "Neon Harbor", 500),
    "import empty": lambda s, t: s.taste.import_library(CON, ""),
    "import missing": lambda s, t: s.taste.import_library(CON, str(t / "missing.csv")),
    "import directory": lambda s, t: s.taste.import_library(CON, str(t)),
    "import binary": lambda s, t: s.taste.import_library(CON, _binary(t)),
    "import long path": lambda s, t: s.taste.import_library(CON, "/" + "a" * 5000),
    "import path from a chat": lambda s, t: s.taste.import_library(ANN, str(t / "liked.csv")),
    "import bytes": lambda s, t: s.taste.import_library(ANN, data=b"\x00\x01" * 100),
    "import empty bytes": lambda s, t: s.taste.import_library(ANN, data=b""),
    "help unknown": lambda s, t: s.help(ANN, "nosuch"),
    # Before, this service had no workout manager; now every app has one, and a chat user with no
    # heart-rate monitor linked is the case where /workout start can't run.
    "workout without a heart monitor": lambda s, t: s.workout.workout(ANN, "start"),
    "like nothing": lambda s, t: s.taste.feedback(ANN, "", 1),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
async def test_bad_input_raises_a_user_facing_error(
    service: BeatmatchService, tmp_path: Path, name: str
) -> None:
    with pytest.raises(UserFacingError) as error:
        await BAD_CALLS[name](service, tmp_path)
    message = error.value.message
    assert message.strip()
    assert len(message) < 600, message
    assert "Traceback" not in message


async def test_import_path_with_a_nul_byte_is_a_user_error(service: BeatmatchService) -> None:
    with pytest.raises(UserFacingError):
        await service.taste.import_library(CON, "/tmp/a\x00b.csv")


async def test_failed_import_keeps_the_previous_library(
    service: BeatmatchService, storage: Storage, library_csv: Path, tmp_path: Path
) -> None:
    await service.taste.import_library(CON, str(library_csv))
    await _settle(service)
    with pytest.raises(UserFacingError):
        await service.taste.import_library(CON, _binary(tmp_path))
    uid = await service.users.uid(CON)
    assert storage.taste.library_size(uid) == 36


async def test_help_names_the_catalog(service: BeatmatchService) -> None:
    reply = await service.help(ANN)
    assert "600 tracks (demo)" in reply.text
    assert "/recommend" in reply.text


async def test_stats_are_json_ready(service: BeatmatchService) -> None:
    stats = service.health()
    assert json.loads(json.dumps(stats)) == {
        "catalog_tracks": 600,
        "demo": True,
        "models_in_memory": 0,
    }


async def test_recommend_right_after_a_reimport_excludes_the_new_library(
    service: BeatmatchService, library_csv: Path, tmp_path: Path
) -> None:
    await _imported(service, library_csv)
    first = await service.taste.recommend(ANN, 10)
    rows = pd.read_csv(library_csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    ids = [card.track_id for card in first.tracks]
    added = catalog_exportify_rows(service.catalog.tracks, ids, added_from=30)
    bigger = write_exportify(tmp_path / "bigger.csv", rows.to_numpy().tolist() + added)
    await _upload(service, bigger)
    again = await service.taste.recommend(ANN, 10)  # by the previous model while it retrains
    now_owned = _library_ids(bigger)
    assert not {c.track_id for c in again.tracks} & now_owned


async def test_workout_picks_never_include_a_disliked_track(
    app: Beatmatch, service: BeatmatchService, library_csv: Path
) -> None:
    pick = app.workouts.picker  # what the workout manager is wired with
    await _imported(service, library_csv)
    await service.taste.recommend(ANN, 3)
    uid = await service.users.uid(ANN)
    (top, _), *_ = pick(uid, Context(), 3, set())
    await service.taste.feedback(ANN, top, -1)
    # Asked again before the retrained model is ready (the workout does not wait for it).
    again = [t for t, _ in pick(uid, Context(), 10, set())]
    assert top not in again


# -- fresh lists beyond /recommend -------------------------------------------------------------
async def test_workout_picks_and_the_digest_move_on_from_tracks_shown_lately(
    app: Beatmatch, service: BeatmatchService, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    uid = await service.users.uid(ANN)
    listed = {c.track_id for c in (await handle_text(service, ANN, "/recommend 10")).tracks}
    picked = {t for t, _ in app.workouts.picker(uid, Context(), 10, set(), None)}
    assert len(picked) == 10 and not picked & listed
    digest = await asyncio.to_thread(app.digest.reply, uid)
    sent = {c.track_id for c in digest.tracks}
    assert len(sent) == 10 and not sent & listed
    # What the digest sent counts as shown: the next /recommend moves on from it too.
    after = {c.track_id for c in (await handle_text(service, ANN, "/recommend 10")).tracks}
    assert len(after) == 10 and not after & (sent | listed)


async def test_tracks_shown_lately_come_back_only_when_nothing_else_is_left(
    app: Beatmatch, service: BeatmatchService, storage: Storage, library_csv: Path
) -> None:
    await _imported(service, library_csv)
    uid = await service.users.uid(ANN)
    tracks = service.catalog.tracks.index
    unshown = set(tracks[:4])
    storage.shown.remember(uid, [t for t in tracks if t not in unshown])
    picked = [t for t, _ in app.workouts.picker(uid, Context(), 10, set(), None)]
    owned = _library_ids(library_csv)
    assert len(picked) == 10
    assert unshown - owned <= set(picked)  # every track not shown lately is among them


async def test_a_workout_moves_on_from_tracks_shown_lately_and_they_count_as_shown(
    catalog: CatalogState, tmp_path: Path, genre_dir: Path, library_csv: Path
) -> None:
    readings = [(float(t), 90.0) for t in range(40)] + [(40.0 + t, 150.0) for t in range(80)]

    async def streams(request: StreamRequest) -> ScriptedHeart:
        return ScriptedHeart(readings)

    app = _app(tmp_path, catalog, genre_dir=genre_dir, heart_streams=streams)
    service = app.service
    told: list[Reply] = []

    async def inbox(uid: int, reply: Reply) -> None:
        told.append(reply)

    app.outbox.connect(inbox)
    try:
        await _imported(service, library_csv)
        uid = await service.users.uid(ANN)
        listed = {c.track_id for c in (await handle_text(service, ANN, "/recommend 10")).tracks}
        await service.workout.workout(ANN, "start")
        for _ in range(3000):  # the first reading's three tracks, then the zone change's three
            if sum(len(r.tracks) for r in told) >= 6:
                break
            await asyncio.sleep(0.01)
        in_workout = [c.track_id for r in told for c in r.tracks]
        assert len(in_workout) == 6 and len(set(in_workout)) == 6  # no repeats within it
        assert not set(in_workout) & listed
        assert set(in_workout) <= storage_shown(app, uid)
        after = {c.track_id for c in (await handle_text(service, ANN, "/recommend 10")).tracks}
        assert not after & set(in_workout)
        await service.workout.workout(ANN, "stop")
    finally:
        await settle(app)
        await app.shutdown()


def storage_shown(app: Beatmatch, uid: int) -> set[str]:
    """What the app remembers as shown to ``uid`` in the last fortnight."""
    return app.storage.shown.since(uid, 14)


@pytest.mark.parametrize("value", [1, -1])
async def test_feedback_on_a_never_seen_track_does_not_break_recommend(
    service: BeatmatchService, storage: Storage, library_csv: Path, value: int
) -> None:
    await _imported(service, library_csv)
    await service.taste.recommend(ANN, 3)
    stranger = "0" * 21 + "Z"
    reply = await service.taste.feedback(ANN, f"https://open.spotify.com/track/{stranger}", value)
    assert stranger in reply.text
    await _settle(service)
    again = await service.taste.recommend(ANN, 5)
    assert len(again.tracks) == 5
    uid = await service.users.uid(ANN)
    assert storage.taste.feedback(uid) == {stranger: value}


async def test_simultaneous_requests_share_one_training_run(
    service: BeatmatchService, library_csv: Path
) -> None:
    await _upload(service, library_csv, ANN)
    await _upload(service, library_csv, BOB)
    replies = await asyncio.gather(
        service.taste.recommend(ANN, 4, fresh="no"),
        service.taste.recommend(ANN, 4, fresh="no"),
        service.taste.recommend(BOB, 4),
        service.lookup.similar(BOB, service.catalog.tracks.index[0], 4),
    )
    assert [len(r.tracks) for r in replies] == [4, 4, 4, 4]
    assert [c.track_id for c in replies[0].tracks] == [c.track_id for c in replies[1].tracks]
    # Bob arrived while Ann's model held the worker: he may have been answered by a first guess,
    # which is never kept; once the queue is done both have exactly one model each.
    await _settle(service)
    assert service.taste.models.cached_count() == 2


# -- the composition root ------------------------------------------------------------------------
async def test_build_without_a_catalog_uses_the_demo_under_the_data_dir(config: Config) -> None:
    app = build(config, show_progress=False)
    try:
        assert app.catalog.is_demo
        assert (config.data_dir / "beatmatch.db").is_file()
        reply = await app.service.help(ANN)
        assert DEMO_NOTE in reply.text
        assert app.service.workout.manager is app.workouts
    finally:
        await app.shutdown()


async def test_build_with_a_catalog_imports_it_once(
    tiny_catalog: CatalogFile, tmp_path: Path
) -> None:
    config = load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data"),
            "BEATMATCH_CATALOG_PATH": str(tiny_catalog.path),
        }
    )
    for _ in range(2):  # the second start finds the catalog already imported
        app = build(config, show_progress=False)
        try:
            assert not app.catalog.is_demo
            assert app.catalog.size == 60
            reply = await app.service.help(ANN)
            assert "Catalog: 60 tracks." in reply.text
            assert "demo" not in reply.text
        finally:
            await app.shutdown()


async def test_only_a_few_users_keep_their_forests_in_memory(
    service: BeatmatchService, library_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.core.taste.models as taste_models

    monkeypatch.setattr(taste_models, "MAX_FULL_MODELS", 1)
    models = service.taste.models
    for user in (ANN, BOB):
        await _upload(service, library_csv, user)
        await (await service.taste.training.schedule(await service.users.uid(user)))
    ann, bob = await service.users.uid(ANN), await service.users.uid(BOB)
    slimmed = models.cached(ann)
    assert slimmed is not None and slimmed.model.ensemble.rf is None  # Bob's came later
    assert models.cached(bob).model.ensemble.rf is not None
    reloaded = models.scoring_model(ann, slimmed)  # from disk, for new search tracks
    assert reloaded.ensemble.rf is not None
    assert models.cached(bob).model.ensemble.rf is None  # Ann is now the recent one
    reply = await service.taste.recommend(ANN, 3)
    assert len(reply.tracks) == 3


async def test_beyond_the_memory_limit_a_model_reloads_from_disk_not_retrains(
    service: BeatmatchService,
    storage: Storage,
    library_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.core.taste.models as taste_models

    monkeypatch.setattr(taste_models, "MAX_CACHED_USERS", 1)
    models = service.taste.models
    await _imported(service, library_csv, ANN)
    before = await service.taste.recommend(ANN, 5)
    ann = await service.users.uid(ANN)
    trained_at = storage.taste.model_record(ann, "taste")["trained_at"]
    await _imported(service, library_csv, BOB)
    await service.taste.recommend(BOB, 3)
    assert models.cached_count() == 1 and models.cached(ann) is None
    after = await service.taste.recommend(ANN, 5, fresh="no")  # the same list again
    await _settle(service)
    assert [c.track_id for c in after.tracks] == [c.track_id for c in before.tracks]
    assert storage.taste.model_record(ann, "taste")["trained_at"] == trained_at


async def test_a_shutdown_mid_training_stops_cleanly_and_training_resumes_on_next_start(
    config: Config, library_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = build(config, show_progress=False)
    await app.service.taste.import_library(CON, str(library_csv))  # training starts, unseen
    with caplog.at_level(logging.WARNING):
        await app.shutdown()  # waits for the fit in progress, saves nothing, closes the database
    assert app.training.running() == []
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not list((config.data_dir / "models").glob("taste-user*"))
    app = build(config, show_progress=False)
    try:
        assert len((await app.service.taste.recommend(CON, 3)).tracks) == 3
    finally:
        await app.shutdown()


def _other_releases(tracks: pd.DataFrame, track_ids: list[str]) -> pd.DataFrame:
    """Copies of ``track_ids`` under new ids: the same song released again (album, single…)."""
    copies = tracks.loc[track_ids].copy()
    copies.index = pd.Index([t[::-1] for t in track_ids], name=tracks.index.name)
    copies["album"] = "Greatest Hits"
    return copies


async def test_another_release_of_a_library_song_is_not_recommended(
    demo: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    genre_dir: Path,
    library_csv: Path,
) -> None:
    tracks, genres = demo
    owned = [t for t in _library_ids(library_csv) if t in tracks.index]
    copies = _other_releases(tracks, owned)
    catalog = CatalogState(tracks=pd.concat([tracks, copies]), genres=genres, is_demo=True)
    app = _app(tmp_path, catalog, genre_dir=genre_dir)
    try:
        await _imported(app.service, library_csv)
        reply = await app.service.taste.recommend(ANN, 50)
        assert len(reply.tracks) == 50
        assert not {c.track_id for c in reply.tracks} & set(copies.index)
    finally:
        await settle(app)
        await app.shutdown()


async def test_a_workout_does_not_suggest_a_song_again_under_another_id(
    demo: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, genre_dir: Path
) -> None:
    tracks, genres = demo
    favourites = list(tracks.sort_values("popularity", ascending=False).index[:5])
    copies = _other_releases(tracks, favourites)
    catalog = CatalogState(tracks=pd.concat([tracks, copies]), genres=genres, is_demo=True)
    app = _app(tmp_path, catalog, genre_dir=genre_dir)
    try:
        pick = app.workouts.picker  # what the workout manager is wired with
        uid = await app.service.users.uid(ANN)
        first = [t for t, _ in await asyncio.to_thread(pick, uid, Context(), 5, set())]
        assert len(first) == 5
        again = await asyncio.to_thread(pick, uid, Context(), 20, set(first))
        names = {str(catalog.tracks.at[t, "name"]) for t in first}
        assert not {str(catalog.tracks.at[t, "name"]) for t, _ in again} & names
    finally:
        await settle(app)
        await app.shutdown()
