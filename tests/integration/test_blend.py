"""/blend and /privacy through the core as the app wires it: console users named by their local
names, consent first, one fair list naming only whom each track serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from bot.app import Beatmatch
from bot.core.cards import track_card
from bot.core.catalog import CatalogState
from bot.core.dispatch import handle_text
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from recommender.demo_catalog import demo_catalog
from tests.conftest import catalog_exportify_rows, write_exportify
from tests.rig import make_app, settle

YOU = ChatUser("console", "you", "you")
ALICE = ChatUser("console", "alice")
BOB = ChatUser("console", "bob")
CAROL = ChatUser("console", "carol")


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    return demo_catalog(size=600)


@pytest.fixture
async def app(demo: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> AsyncIterator[Beatmatch]:
    tracks, genres = demo
    app = make_app(tmp_path, CatalogState(tracks=tracks, genres=genres, is_demo=True))
    yield app
    await settle(app)
    await app.shutdown()


async def _library(
    service: BeatmatchService, tmp_path: Path, user: ChatUser, genre: str, demo: tuple
) -> set[str]:
    """Import 30 tracks of one demo genre as ``user``'s library; their ids."""
    tracks, genres = demo
    ids = genres.loc[genres["genre"] == genre, "track_id"].tolist()[:30]
    path = write_exportify(tmp_path / f"{user.user_id}.csv", catalog_exportify_rows(tracks, ids))
    await service.taste.import_library(user, str(path))
    await service.taste.training.idle()
    return set(ids)


async def _say(service: BeatmatchService, user: ChatUser, text: str) -> Reply:
    return await handle_text(service, user, text)


async def test_console_blend_of_two_local_users_serves_both_and_shows_no_library(
    app: Beatmatch, tmp_path: Path, demo: tuple
) -> None:
    service = app.service
    owned = await _library(service, tmp_path, ALICE, "acoustic", demo)
    owned |= await _library(service, tmp_path, BOB, "metal", demo)
    for user in (ALICE, BOB):
        allowed = await _say(service, user, "/privacy blend on")
        assert "may now be used" in allowed.text
    reply = await _say(service, YOU, "/blend alice bob 8")
    assert not reply.error, reply.text
    assert reply.title.startswith("A blend for alice and bob: 8 tracks")
    assert len(reply.tracks) == 8
    assert not {c.track_id for c in reply.tracks} & owned  # new to both
    for card in reply.tracks:
        assert card.reason.startswith("for ") and {"alice", "bob"} & set(card.reason.split())
    served = " ".join(c.reason for c in reply.tracks)
    assert "alice" in served and "bob" in served  # each member gets tracks of their own
    assert "Satisfaction" in reply.footer and "alice" in reply.footer and "bob" in reply.footer
    assert "You're not in this blend" in reply.plain_text()  # you never allowed it
    text = reply.plain_text()
    tracks = service.catalog.tracks
    titles = {track_card(t, tracks.loc[t]).title for t in owned}
    assert not [t for t in owned if t in text] and not [t for t in titles if t in text]
    assert "genre" not in text.lower() and "librar" not in text.lower()  # nobody's data shown


async def test_a_member_who_has_not_consented_is_asked_once_and_never_scored(
    app: Beatmatch, tmp_path: Path, demo: tuple
) -> None:
    service = app.service
    await _library(service, tmp_path, ALICE, "acoustic", demo)
    await _library(service, tmp_path, BOB, "metal", demo)
    await _library(service, tmp_path, CAROL, "jazz", demo)
    for user in (ALICE, CAROL):
        await _say(service, user, "/privacy blend on")
    scored: list[int] = []
    real_cached = service.blend.models.cached

    def watched(uid: int) -> object:
        scored.append(uid)
        return real_cached(uid)

    service.blend.models.cached = watched  # type: ignore[method-assign]
    bob = await service.users.uid(BOB)
    first = await _say(service, CAROL, "/blend alice bob")
    assert not first.error, first.text
    assert "A blend for carol and alice" in first.title
    assert "bob: your taste can join this group's blends if you allow it" in first.plain_text()
    # The console has no consent button: told what to type instead, and given no button.
    assert "allow it — send /privacy blend on" in first.plain_text() and not first.buttons
    assert "bob" not in " ".join(c.reason for c in first.tracks) + first.footer
    second = await _say(service, CAROL, "/blend alice bob")
    assert "bob hasn't allowed blends: left out." in second.plain_text()
    assert "if you allow it" not in second.plain_text()  # asked once
    assert bob not in scored
    # Allowed, then taken back: bob is never scored again.
    await _say(service, BOB, "/privacy blend on")
    assert "bob" in (await _say(service, CAROL, "/blend alice bob")).footer
    await _say(service, BOB, "/privacy blend off")
    scored.clear()
    third = await _say(service, CAROL, "/blend alice bob")
    assert bob not in scored and "bob" not in third.footer


async def test_a_blend_needs_two_consenting_listeners_and_forget_erases_consent(
    app: Beatmatch, tmp_path: Path, demo: tuple
) -> None:
    service = app.service
    await _library(service, tmp_path, ALICE, "acoustic", demo)
    await _say(service, ALICE, "/privacy blend on")
    alone = await _say(service, ALICE, "/blend")
    assert alone.error and "Name who the blend is for" in alone.text
    counted = await _say(service, ALICE, "/blend 5")  # a count, not a listener called "5"
    assert counted.error and "Name who the blend is for" in counted.text
    assert "I don't know 5" not in counted.text
    unknown = await _say(service, ALICE, "/blend zed")
    assert unknown.error and "at least 2 listeners" in unknown.text
    assert "I don't know zed yet." in unknown.text
    uid = await service.users.uid(ALICE)
    assert app.storage.blend.consent(uid) is True
    await _say(service, ALICE, "/forget yes")
    uid = await service.users.uid(ALICE)
    assert app.storage.blend.consent(uid) is None
    shown = await _say(service, ALICE, "/privacy")
    assert "not allowed" in shown.text


async def test_a_member_whose_library_is_too_small_is_left_out_without_a_doomed_training(
    app: Beatmatch, tmp_path: Path, demo: tuple
) -> None:
    service = app.service
    await _library(service, tmp_path, ALICE, "acoustic", demo)
    tracks, genres = demo
    few = genres.loc[genres["genre"] == "metal", "track_id"].tolist()[:3]
    path = write_exportify(tmp_path / "carol.csv", catalog_exportify_rows(tracks, few))
    await service.taste.import_library(CAROL, str(path))
    await service.taste.training.idle()
    for user in (ALICE, CAROL):
        await _say(service, user, "/privacy blend on")
    for _ in range(2):
        reply = await _say(service, YOU, "/blend alice carol 5")
        assert "carol's library can't make a taste yet: left out." in reply.plain_text()
        assert service.taste.training.running() == []  # no training queued that must fail
