"""The incident id a user is shown is the one in the operator's JSON log line: a playlist Spotify
refuses with an error we have no words for (a bug of ours) is a note with an incident id under the
recommendations, and ``logging.format = "json"`` puts that id in the line's ``incident`` field,
with the traceback on the same line."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

from bot.log_format import formatter
from tests.integration.spotify_env import ANN, spotify_env


async def test_a_failed_playlist_logs_the_incident_the_user_saw(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("bot.core.taste.playlists")
    async with spotify_env(tmp_path) as env:
        await env.link(ANN)
        env.spotify.fail(times=1, status=400, path="/v1/me/playlists")
        logger.addHandler(handler)
        try:
            reply = await env.say(ANN, "/recommend 5 playlist:yes")
        finally:
            logger.removeHandler(handler)
    note = next(n for n in reply.notes if "incident" in n)
    shown = re.search(r"incident ([0-9a-f]{6})", note)
    assert shown is not None, note
    (line,) = stream.getvalue().splitlines()  # one line, traceback included
    record = json.loads(line)
    assert record["incident"] == shown.group(1)
    assert record["level"] == "ERROR"
    assert record["message"] == f"incident {shown.group(1)} while posting a playlist for user 1"
    assert "SpotifyException" in record["exc_info"]
