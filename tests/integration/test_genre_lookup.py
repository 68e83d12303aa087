"""/genre and /similar of any Spotify track: outside the catalog and the library, the name comes
from the user's Spotify (when linked) and the features from ReccoBeats (no account needed), both
through the real clients against the fakes; "title - artist" falls back to Spotify search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.spotify_env import ANN, BOB, SpotifyEnv, quick_retries, spotify_env
from tests.rig import genre_ready

LINK = "https://open.spotify.com/track/"


@pytest.fixture
async def env(tmp_path: Path, genre_dir: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path, genre_dir=genre_dir) as e:
        await genre_ready(e.app)
        yield e


def _calls(env: SpotifyEnv) -> tuple[int, int]:
    return len(env.spotify.calls()), len(env.recco.requests)


async def test_a_linked_user_gets_the_genre_of_a_track_known_only_to_spotify(
    env: SpotifyEnv,
) -> None:
    await env.link(ANN)
    track = env.world.search_only[0]
    assert track not in env.catalog.tracks.index and track not in env.world.library_ids
    reply = await env.say(ANN, f"/genre {LINK}{track}")
    assert not reply.error, reply.text
    assert reply.title == "Genre of Search Song 0 — Search Artist 0"
    assert "Classifier's top 3:" in reply.text and "this is the classifier's call" in reply.text
    assert any(p == f"/v1/tracks/{track}" for _, p, _ in env.spotify.calls())
    assert track in env.recco.asked
    before = _calls(env)
    again = await env.say(ANN, f"/genre spotify:track:{track}")
    assert again.text == reply.text
    assert _calls(env) == before  # stored: no second call anywhere


async def test_without_a_spotify_link_reccobeats_alone_answers(env: SpotifyEnv) -> None:
    track = env.world.search_only[1]
    reply = await env.say(BOB, f"/genre {track}")
    assert not reply.error, reply.text
    assert reply.title == f"Genre of Spotify track {track} — unknown artist"
    assert "Classifier's top 3:" in reply.text
    assert not env.spotify.calls("/v1/tracks")  # nobody's Spotify was used
    similar = await env.say(BOB, f"/similar {track} 3")
    assert len(similar.tracks) == 3 and track not in {c.track_id for c in similar.tracks}


async def test_a_track_nobody_knows_says_who_was_asked(env: SpotifyEnv) -> None:
    await env.link(ANN)
    nobody = "0" * 22
    reply = await env.say(ANN, f"/genre {nobody}")
    assert reply.error and "neither Spotify nor ReccoBeats knows it" in reply.text
    reply = await env.say(BOB, f"/genre {'1' * 22}")
    assert reply.error and "ReccoBeats has no audio features for it" in reply.text
    env.recco.fail(times=1000)
    reply = await env.say(BOB, f"/genre {env.world.search_only[2]}")
    assert reply.error and "ReccoBeats couldn't be reached" in reply.text
    assert "Sorry" not in reply.text


async def test_title_and_artist_are_searched_on_spotify_when_nothing_here_has_them(
    env: SpotifyEnv,
) -> None:
    reply = await env.say(BOB, "/genre Search Song 3 - Search Artist 3")
    assert reply.error and "/link spotify to search it" in reply.text
    await env.link(ANN)
    reply = await env.say(ANN, "/genre Search Song 3 - Search Artist 3")
    assert not reply.error, reply.text
    assert reply.title == "Genre of Search Song 3 — Search Artist 3"
    searched = [q["q"] for _, p, q in env.spotify.calls("/v1/search")]
    assert 'track:"Search Song 3" artist:"Search Artist 3"' in searched
    wrong = await env.say(ANN, "/genre Search Song 3 - Nobody At All")
    assert wrong.error and "No track matches" in wrong.text


def _stored(env: SpotifyEnv, track: str) -> dict[str, float]:
    row = env.storage.tracks.get_tracks([track]).loc[track]
    return {"popularity": row["popularity"], "duration_ms": row["duration_ms"]}


async def test_reccobeats_gives_the_popularity_and_length_spotify_no_longer_gives(
    env: SpotifyEnv,
) -> None:
    """Popularity tells genres apart the best after the sound (bench/quality_genre.py); Spotify
    dropped it, ReccoBeats' /track has it."""
    await env.link(ANN)
    track = env.world.search_only[4]
    reply = await env.say(ANN, f"/genre {LINK}{track}")
    assert not reply.error, reply.text
    assert [track] in env.recco.track_requests
    details = env.recco.details[track]
    assert _stored(env, track) == {
        "popularity": pytest.approx(details["popularity"]),
        "duration_ms": pytest.approx(details["durationMs"]),
    }


async def test_when_reccobeats_track_details_fail_the_features_still_answer(
    env: SpotifyEnv,
) -> None:
    first, second = env.world.search_only[5:7]
    env.recco.fail_tracks(times=1000)  # /track down: every retry fails
    quick_retries(env)
    for track in (first, second):
        reply = await env.say(BOB, f"/genre {track}")
        assert not reply.error and "Classifier's top 3:" in reply.text, reply.text
    assert _stored(env, first)["popularity"] != _stored(env, first)["popularity"]  # NaN: unknown
    assert [r for r in env.recco.track_requests if second in r] == []  # paused after failing


async def test_a_reccobeats_without_track_details_is_asked_for_them_once(env: SpotifyEnv) -> None:
    first, second = env.world.search_only[7:9]
    env.recco.tracks_endpoint = False  # 404 for the path
    for track in (first, second):
        reply = await env.say(BOB, f"/genre {track}")
        assert not reply.error and "Classifier's top 3:" in reply.text, reply.text
    assert env.recco.track_requests == [[first]]
