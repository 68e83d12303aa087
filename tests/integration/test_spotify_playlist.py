"""Recommendations from a linked Spotify: random search candidates mixed with the catalog (minus the
library), and playlists created with ``POST /me/playlists`` and filled 100 items at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from storage.spotify_cache import PROVIDER
from tests.integration.spotify_env import ANN, BOB, SpotifyEnv, spotify_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SpotifyEnv]:
    async with spotify_env(tmp_path) as e:
        await e.link(ANN)
        yield e


def playlist_posts(env: SpotifyEnv) -> list[tuple[str, str, dict[str, str]]]:
    return [c for c in env.spotify.calls("/v1/playlists/") if c[0] == "POST"]


async def test_recommend_with_playlist_posts_the_smooth_order(env: SpotifyEnv) -> None:
    reply = await env.say(ANN, "/recommend 8 playlist:yes")
    assert not reply.error, reply.text
    link = next(n for n in reply.notes if n.startswith("Spotify playlist:"))
    playlist_id = link.rsplit("/", 1)[1]
    assert link.endswith(f"https://open.spotify.com/playlist/{playlist_id}")
    created = env.spotify.catalog.playlists[playlist_id]
    assert created.owner_id == "ann.spotify" and not created.public
    assert [t for t, _ in created.items] == [c.track_id for c in reply.tracks]
    assert any(c[:2] == ("POST", "/v1/me/playlists") for c in env.spotify.calls())
    assert [p[1] for p in playlist_posts(env)] == [f"/v1/playlists/{playlist_id}/items"]


async def test_the_link_grants_private_playlists_only_and_they_are_still_made(
    env: SpotifyEnv,
) -> None:
    granted = (env.vault.scopes(await env.uid(ANN), PROVIDER) or "").split()
    assert "playlist-modify-private" in granted
    assert "playlist-modify-public" not in granted  # never asked for: nothing public is made
    reply = await env.say(ANN, "/recommend 8 playlist:yes")
    assert not reply.error, reply.text
    link = next(n for n in reply.notes if n.startswith("Spotify playlist:"))
    created = env.spotify.catalog.playlists[link.rsplit("/", 1)[1]]
    assert not created.public and len(created.items) == 8


async def test_long_playlists_are_filled_100_items_at_a_time_in_order(env: SpotifyEnv) -> None:
    ids = list(env.catalog.tracks.index[:230])
    url = await env.service.taste.playlists.post(await env.uid(ANN), ids, "Evening")
    created = env.spotify.catalog.playlists[url.rsplit("/", 1)[1]]
    assert created.name == "Evening"
    assert [t for t, _ in created.items] == ids
    assert len(playlist_posts(env)) == 3  # 100 + 100 + 30


async def test_playlist_command_posts_the_last_recommendations(env: SpotifyEnv) -> None:
    shown = await env.say(ANN, "/recommend 5")
    assert not any(n.startswith("Spotify playlist") for n in shown.notes)
    reply = await env.say(ANN, "/playlist Gym")
    assert "open.spotify.com/playlist/" in reply.text
    playlist_id = reply.text.rsplit("/", 1)[1]
    created = env.spotify.catalog.playlists[playlist_id]
    assert created.name == "Gym"
    assert [t for t, _ in created.items] == [c.track_id for c in shown.tracks]


async def test_playlist_without_a_link_asks_for_one(env: SpotifyEnv) -> None:
    reply = await env.say(BOB, "/recommend 5 playlist:yes")
    assert reply.error and "/link spotify" in reply.text
    assert "/link spotify" in (await env.say(BOB, "/playlist")).text


async def test_search_candidates_mix_in_minus_the_library(env: SpotifyEnv) -> None:
    taste = env.service.taste
    taste.settings = replace(taste.settings, max_count=50)
    reply = await env.say(ANN, "/recommend 50")
    searches = env.spotify.calls("/v1/search")
    assert searches and all(
        int(q["limit"]) <= 10 and 0 <= int(q["offset"]) <= 1000 for _, _, q in searches
    )
    assert {q["q"][:1] in "%abcdefghijklmnopqrstuvwxyz0123456789" for _, _, q in searches} == {True}
    picked = {c.track_id for c in reply.tracks}
    assert not picked & env.world.library_ids
    stored = env.storage.tracks.feature_sources(env.world.search_only)
    assert set(stored.values()) <= {"reccobeats"}  # search tracks got features from the chain


async def test_spotify_search_trouble_falls_back_to_the_catalog(env: SpotifyEnv) -> None:
    env.spotify.throttle(times=50, retry_after=3600)
    reply = await env.say(ANN, "/recommend 5")
    assert not reply.error and len(reply.tracks) == 5
    assert any("Spotify search skipped" in n for n in reply.notes)
