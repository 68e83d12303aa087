"""Music commands: /recommend, /genre and /similar (with catalog autocomplete), /playlist, /import."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.interactions import command, describe, follow_limits, limits, respond
from bot.core.commands import COMMAND_NAMES, MOOD_NAMES
from bot.core.progress import Notify
from bot.core.replies import ChatUser, Reply
from bot.core.service import BeatmatchService
from bot.core.track_refs import parse_track_ref
from bot.core.upload_limits import MAX_UPLOAD_BYTES, upload_too_large

if TYPE_CHECKING:
    from bot.chat.discord.bot import BeatmatchBot

AUTOCOMPLETE_CHOICES = 25
Track = app_commands.Range[str, 1, 200]
_COUNT, _BPM, _SIMILAR = (
    limits("recommend", "count"),
    limits("recommend", "bpm"),
    limits("similar", "count"),
)


class MusicCog(commands.Cog, name="music"):
    """Recommendations, genres and similar tracks."""

    def __init__(self, bot: BeatmatchBot) -> None:
        self.bot = bot
        follow_limits(self.recommend, "count", bot.limits)  # up to recommend.max_count

    async def track_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Up to 25 tracks whose title and artists match what is typed so far (any case, accents
        and punctuation), exact titles first, same-named tracks told apart by album and year."""
        text = current.strip()
        if len(text) < 2 or parse_track_ref(text) is not None:
            return []
        found = await self.bot.service.lookup.suggest(text, AUTOCOMPLETE_CHOICES)
        return [app_commands.Choice(name=s.label, value=s.track_id) for s in found]

    @app_commands.command(name="recommend", description=COMMAND_NAMES["recommend"].summary)
    @app_commands.describe(**describe("recommend"))
    @app_commands.choices(
        mood=[app_commands.Choice(name=m, value=m) for m in MOOD_NAMES],
        fresh=[app_commands.Choice(name=f, value=f) for f in ("yes", "no")],
    )
    async def recommend(
        self,
        interaction: discord.Interaction,
        count: app_commands.Range[int, _COUNT[0], _COUNT[1]] | None = None,
        mood: str | None = None,
        bpm: app_commands.Range[int, _BPM[0], _BPM[1]] | None = None,
        playlist: app_commands.Range[str, 1, 100] | None = None,
        fresh: str | None = None,
    ) -> None:
        """Tracks you don't have yet that fit your taste — and the moment."""
        options = {"count": count, "mood": mood, "bpm": bpm, "playlist": playlist, "fresh": fresh}
        await respond(interaction, command("recommend", **options))

    @app_commands.command(name="genre", description=COMMAND_NAMES["genre"].summary)
    @app_commands.describe(**describe("genre"))
    async def genre(self, interaction: discord.Interaction, track: Track) -> None:
        """Name the genre of a track: the catalog's labels and the classifier's top 3."""
        await respond(interaction, command("genre", track=track))

    @genre.autocomplete("track")
    async def genre_track(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Catalog suggestions for /genre."""
        return await self.track_autocomplete(interaction, current)

    @app_commands.command(name="similar", description=COMMAND_NAMES["similar"].summary)
    @app_commands.describe(**describe("similar"))
    async def similar(
        self,
        interaction: discord.Interaction,
        track: Track,
        count: app_commands.Range[int, _SIMILAR[0], _SIMILAR[1]] | None = None,
    ) -> None:
        """Tracks that sound like a given one."""
        await respond(interaction, command("similar", track=track, count=count))

    @similar.autocomplete("track")
    async def similar_track(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Catalog suggestions for /similar."""
        return await self.track_autocomplete(interaction, current)

    @app_commands.command(name="playlist", description=COMMAND_NAMES["playlist"].summary)
    @app_commands.describe(**describe("playlist"))
    async def playlist(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        """Your last recommendations as a private Spotify playlist (needs /link spotify)."""
        await respond(interaction, command("playlist", name=name))

    @app_commands.command(name="import", description=COMMAND_NAMES["import"].summary)
    @app_commands.describe(file=COMMAND_NAMES["import"].option("file").summary)
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Learn your taste from an Exportify CSV."""

        async def call(service: BeatmatchService, user: ChatUser, notify: Notify) -> Reply:
            if not file.filename.lower().endswith(".csv"):
                return Reply(text="That isn't a CSV file: attach the Exportify export.", error=True)
            if file.size > MAX_UPLOAD_BYTES:
                return Reply(text=upload_too_large(file.size, file.filename), error=True)
            data = await file.read()
            return await service.taste.import_library(
                user, data=data, filename=file.filename, notify=notify
            )

        await respond(interaction, call, ephemeral=True)
