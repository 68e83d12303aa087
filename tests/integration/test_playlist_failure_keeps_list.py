"""Issue 12, item 13: when ``/recommend … playlist:yes`` can't make the Spotify playlist, the
recommendations are still shown, with the playlist's trouble as a note under them (and /playlist
makes it from the same tracks later)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.replies import Reply
from storage.spotify_cache import PROVIDER
from tests.integration.spotify_env import ANN, SpotifyEnv, spotify_env

PLAYLISTS = "/v1/me/playlists"
NOTE = "Couldn't make the Spotify playlist: "


def failure_note(reply: Reply) -> str:
    """The reply's one note about the playlist that couldn't be made."""
    notes = [n for n in reply.notes if n.startswith(NOTE)]
    assert len(notes) == 1, (reply.text, reply.notes)
    return notes[0]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path, max_backoff=3.0) as e:
        await e.link(ANN)
        yield e


@pytest.mark.parametrize(
    ("status", "times", "said"),
    [
        (403, 1, "Spotify refused that (403)"),
        (500, 1, "Spotify is having trouble (HTTP 500)"),
        (401, 2, "(HTTP 401) even with a fresh token"),  # a 401 a refresh can't fix
        (400, 1, "something went wrong on my side (incident "),  # not one we have words for
    ],
)
async def test_a_failed_playlist_is_a_note_under_the_recommendations(
    env: SpotifyEnv, status: int, times: int, said: str
) -> None:
    env.spotify.fail(times=times, status=status, path=PLAYLISTS)

    reply = await env.say(ANN, "/recommend 12 playlist:yes")

    assert not reply.error, reply.text
    assert len(reply.tracks) == 12
    note = failure_note(reply)
    assert said in note and "/playlist" in note
    assert not any(n.startswith("Spotify playlist:") for n in reply.notes)
    assert env.vault.load(await env.uid(ANN), PROVIDER) is not None  # nothing here unlinks

    later = await env.say(ANN, "/playlist Later")  # the promise in the note holds
    assert not later.error, later.text
    created = env.spotify.catalog.playlists[later.text.rsplit("/", 1)[1]]
    assert [t for t, _ in created.items] == [c.track_id for c in reply.tracks]


async def test_a_long_retry_after_on_the_playlist_keeps_the_list(env: SpotifyEnv) -> None:
    env.spotify.throttle(times=1, retry_after=3600, path=PLAYLISTS)

    reply = await env.say(ANN, "/recommend 12 playlist:yes")

    assert not reply.error and len(reply.tracks) == 12
    note = failure_note(reply)
    assert "Spotify is busy" in note and "about 60 minutes" in note
