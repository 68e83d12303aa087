"""Issue 16, item 1: ``/blend … playlist:yes`` also posts the blend as one private playlist on the
requester's own linked Spotify (the fake one), in the blend's order; without a link the requester
is told how to link, and a Spotify failure leaves the list shown with a note."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import ChatUser
from tests.conftest import catalog_exportify_rows, write_exportify
from tests.integration.spotify_env import ANN, BOB, SpotifyEnv, spotify_env

ALICE = ChatUser("telegram", "alice", "alice")
CAROL = ChatUser("telegram", "carol", "carol")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    """Ann linked to the fake Spotify; alice and carol (on Ann's platform) with an imported
    library of one genre each, both allowing blends."""
    async with spotify_env(tmp_path, max_backoff=3.0) as e:
        await e.link(ANN)
        tracks, genres = e.catalog.tracks, e.catalog.genres
        for user, genre in ((ALICE, "acoustic"), (CAROL, "metal")):
            ids = genres.loc[genres["genre"] == genre, "track_id"].tolist()[:30]
            path = write_exportify(
                tmp_path / f"{user.user_id}.csv", catalog_exportify_rows(tracks, ids)
            )
            await e.service.taste.import_library(user, data=path.read_bytes())
            await e.service.taste.training.idle()
            assert "may now be used" in (await e.say(user, "/privacy blend on")).text
        yield e


def posted_playlists(env: SpotifyEnv) -> list[tuple[str, str, dict[str, str]]]:
    return [c for c in env.spotify.calls("/v1/me/playlists") if c[0] == "POST"]


async def test_a_linked_requesters_blend_becomes_one_private_playlist_in_order(
    env: SpotifyEnv,
) -> None:
    reply = await env.say(ANN, "/blend alice carol 8 playlist:yes")
    assert not reply.error, reply.text
    assert len(reply.tracks) == 8
    links = [n for n in reply.notes if n.startswith("Spotify playlist:")]
    assert len(links) == 1, reply.notes
    assert len(posted_playlists(env)) == 1  # one playlist, not one per member
    created = env.spotify.catalog.playlists[links[0].rsplit("/", 1)[1]]
    assert created.owner_id == "ann.spotify" and not created.public
    assert created.name == "beatmatch blend — alice, carol"  # names shown, nothing else
    assert [t for t, _ in created.items] == [c.track_id for c in reply.tracks]


async def test_a_blend_playlist_can_be_named(env: SpotifyEnv) -> None:
    reply = await env.say(ANN, "/blend alice carol 5 playlist:Friday")
    link = next(n for n in reply.notes if n.startswith("Spotify playlist:"))
    assert env.spotify.catalog.playlists[link.rsplit("/", 1)[1]].name == "Friday"


async def test_without_playlist_no_playlist_is_made(env: SpotifyEnv) -> None:
    reply = await env.say(ANN, "/blend alice carol 5")
    assert not reply.error and len(reply.tracks) == 5
    assert not any("playlist" in n.lower() for n in reply.notes)
    assert not posted_playlists(env)


async def test_a_requester_without_a_link_is_told_to_link_like_recommend(env: SpotifyEnv) -> None:
    blend = await env.say(BOB, "/blend alice carol playlist:yes")
    recommend = await env.say(BOB, "/recommend 5 playlist:yes")
    assert blend.error and "/link spotify" in blend.text
    assert blend.text == recommend.text
    assert not posted_playlists(env)


async def test_a_failed_playlist_keeps_the_blend_with_a_note(env: SpotifyEnv) -> None:
    env.spotify.fail(times=1, status=500, path="/v1/me/playlists")
    reply = await env.say(ANN, "/blend alice carol 6 playlist:yes")
    assert not reply.error, reply.text
    assert len(reply.tracks) == 6
    notes = [n for n in reply.notes if n.startswith("Couldn't make the Spotify playlist: ")]
    assert len(notes) == 1, reply.notes
    assert "Spotify is having trouble (HTTP 500)" in notes[0]
    assert "playlist:yes" in notes[0]  # how to try again (not /playlist: that is /recommend's)
