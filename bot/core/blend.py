"""/blend and /privacy: one fair list for several listeners, with their consent.

Who: the members named (console user names, Telegram @handles or platform ids), or, with no names
in a group chat, the members who allowed blends there. Consent first: a member who has not
allowed it (``/privacy blend on``) is never scored — they are asked once, and left out. Each
member's own stored model scores the catalog (never a training inside the command: a member
whose model is not trained yet gets a first guess from their library, or is left out when they
have none). The reply names only which member each track serves and each member's satisfaction;
nobody's library, likes or genres are shown. With ``playlist:yes`` the list is also posted as one
private playlist on the requester's own linked Spotify (never a member's account).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np

from bot.core.cards import track_card
from bot.core.catalog import CatalogState
from bot.core.errors import BadInput, SpotifyNotSetUp, UserFacingError
from bot.core.progress import Notify, silent
from bot.core.replies import Button, ChatUser, Reply
from bot.core.taste.models import TasteModels, TrainedTaste
from bot.core.taste.playlists import Playlists, playlist_choice
from bot.core.taste.service import RecommendSettings, list_asked
from bot.core.taste.training import TasteTraining
from bot.core.users import Users
from recommender.blend import TOP_DECILE, Blend, blend
from recommender.context import Context
from recommender.ranking import allowed
from recommender.tracks import track_row
from storage.blend_store import HANDLE_KEY, BlendStore
from storage.taste_store import TasteStore
from storage.user_store import UserStore

MIN_MEMBERS, MAX_MEMBERS = 2, 12
log = logging.getLogger(__name__)
ASK_TEXT = (
    "{who}: your taste can join this group's blends if you allow it — {how} "
    "(nobody sees your library, likes or genres, only which tracks are for you). "
    "/privacy blend off takes it back at any time."
)
TYPE_IT = "send /privacy blend on"
PRESS_IT = "press “Allow my taste in blends” below, or send /privacy blend on"
#: The consent button's action; its ``track_id`` holds the platform user id of the one member
#: who may press it (the member named, never the requester).
ALLOW = "allow-blend"
ALLOW_LABEL = "Allow my taste in blends"
#: The fronts that render the consent button; elsewhere the ask says to type /privacy blend on.
BUTTON_FRONTS: tuple[str, ...] = ("telegram", "discord")
PLAYLIST_DESCRIPTION = "A beatmatch blend: one fair list for several listeners."
PLAYLIST_AGAIN = "Once that's sorted, ask for the blend again with playlist:yes."


@dataclass(frozen=True)
class Member:
    """A listener of a blend: their internal id and the name the reply calls them."""

    uid: int
    name: str


class BlendService:
    """Fair group lists (/blend) and the consent they need (/privacy)."""

    def __init__(
        self,
        users: Users,
        user_store: UserStore,
        store: BlendStore,
        catalog: CatalogState,
        taste: TasteStore,
        models: TasteModels,
        training: TasteTraining,
        settings: RecommendSettings | None = None,
        playlists: Playlists | None = None,
    ) -> None:
        self.users = users
        self.user_store = user_store
        self.store = store
        self.catalog = catalog
        self.taste = taste
        self.models = models
        self.training = training
        self.settings = settings or RecommendSettings()
        self.playlists = playlists

    # -- /privacy -------------------------------------------------------------------------------
    async def privacy(
        self, user: ChatUser, setting: str = "", state: str = "", *, place: str = ""
    ) -> Reply:
        """``/privacy blend on|off``: allow (or stop) your taste being used in blends; without
        on/off, say whether it is allowed. ``place`` is the group chat it is said in (a front's)."""
        uid = await self.users.uid(user)
        if setting.strip().lower() not in ("", "blend"):
            raise BadInput("Use /privacy blend on or /privacy blend off.")
        answer = state.strip().lower()
        if answer not in ("", "on", "off"):
            raise BadInput("Use /privacy blend on or /privacy blend off.")
        if not answer:
            now = await asyncio.to_thread(self.store.consent, uid)
            said = "allowed" if now else "not allowed"
            return Reply(
                title="Privacy",
                text=f"Your taste in group blends: {said}. Change it with /privacy blend "
                + ("off." if now else "on."),
            )
        await asyncio.to_thread(self.store.set_consent, uid, answer == "on", place)
        if answer == "on":
            text = (
                "Thanks: your taste may now be used in /blend lists that name you"
                + (" or are asked for in this group" if place else "")
                + ". Others see only which tracks are for you, never your library, likes or "
                "genres. /privacy blend off takes it back."
            )
        else:
            text = "Done: your taste is no longer used in anyone's /blend."
        return Reply(title="Privacy", text=text)

    def note_handle(self, uid: int, handle: str) -> None:
        """Remember a user's chat handle ("@name") so that a blend can name them (blocking)."""
        key = "@" + handle.lstrip("@").lower()
        if self.user_store.user_settings(uid).get(HANDLE_KEY) != key:
            self.user_store.update_user_settings(uid, **{HANDLE_KEY: key})

    # -- /blend ---------------------------------------------------------------------------------
    async def blend(
        self,
        user: ChatUser,
        members: str = "",
        count: int | None = None,
        mood: str | None = None,
        bpm: int | None = None,
        *,
        playlist: str | None = None,
        place: str = "",
        named: tuple[ChatUser, ...] = (),
        notify: Notify = silent,
    ) -> Reply:
        """One list for the members named in ``members`` (and ``named``, chat users a front
        resolved itself, e.g. Discord's voice channel), or for the group's opted-in members;
        ``playlist`` ("yes" or a name) also posts it to the requester's linked Spotify."""
        n, wanted_mood, wanted_bpm = list_asked(self.settings, count, mood, bpm)
        wanted_playlist = playlist_choice(playlist)
        requester = await self.users.uid(user)
        if wanted_playlist is not None:  # checked before any work: the link is the requester's
            if self.playlists is None:
                raise SpotifyNotSetUp
            await self.playlists.require_link(requester)
        self.users.cooldown(requester, "recommend")
        found, unknown = await asyncio.to_thread(self._resolve, user, members.split())
        for other in named:
            found.append(Member(await self.users.uid(other), other.display_name or other.user_id))
        if not found and not unknown:
            if not place:
                raise BadInput("Name who the blend is for: /blend NAME NAME … (2 to 12 listeners).")
            ids = await asyncio.to_thread(self.store.members, place)
            found = [Member(uid, await asyncio.to_thread(self._name, uid)) for uid in ids]
        requester_name = user.display_name or user.user_id
        if requester not in {m.uid for m in found}:
            found.insert(0, Member(requester, requester_name))
        found = list({m.uid: m for m in found}.values())
        if len(found) > MAX_MEMBERS:
            raise BadInput(f"A blend is for {MIN_MEMBERS} to {MAX_MEMBERS} listeners.")
        notes: list[str] = [f"I don't know {word} yet." for word in unknown]
        consenting = await asyncio.to_thread(self.store.allowed, [m.uid for m in found])
        scored: list[tuple[Member, TrainedTaste]] = []
        asked: list[tuple[Member, str]] = []  # (member, their id on the requester's platform)
        for member in found:
            if member.uid not in consenting:  # never scored
                first = await asyncio.to_thread(self.store.ask_once, member.uid)
                if member.uid == requester:
                    notes.append("You're not in this blend: /privacy blend on adds your taste.")
                elif first:
                    owner = await asyncio.to_thread(self._platform_id, member.uid, user.platform)
                    button = owner is not None and user.platform in BUTTON_FRONTS
                    how = PRESS_IT if button else TYPE_IT
                    notes.append(ASK_TEXT.format(who=member.name, how=how))
                    if button and owner is not None:
                        asked.append((member, owner))
                else:
                    notes.append(f"{member.name} hasn't allowed blends: left out.")
                continue
            trained, note = await self._taste_of(member)
            if note:
                notes.append(note)
            if trained is not None:
                scored.append((member, trained))
        buttons = tuple(
            Button(ALLOW_LABEL if len(asked) == 1 else f"{ALLOW_LABEL}: {m.name}", ALLOW, owner)
            for m, owner in asked
        )
        if len(scored) < MIN_MEMBERS:
            text = " ".join(
                [
                    f"A blend needs at least {MIN_MEMBERS} listeners who allowed it and have "
                    f"a taste to score; I have {len(scored)}.",
                    *notes,
                ]
            )
            if buttons:  # the ask still needs its button: an answer, not an exception
                return Reply(text=text, error=True, buttons=buttons)
            raise BadInput(text)
        context = Context(mood=wanted_mood, bpm=float(wanted_bpm) if wanted_bpm else None)
        result = await asyncio.to_thread(self._blend, scored, n, context)
        names = [m.name for m, _ in scored]
        cards = tuple(
            track_card(
                p.track_id,
                track_row(self.catalog.tracks, p.track_id),
                "for " + _joined([names[i] for i in p.serves])
                if p.serves
                else "a middle ground for everyone",
            )
            for p in result.picks
        )
        title = f"A blend for {_joined(names)}: {len(cards)} tracks"
        if wanted_mood:
            title += f", mood “{wanted_mood}”"
        if wanted_bpm:
            title += f", around {wanted_bpm} bpm"
        if wanted_playlist is not None and self.playlists is not None:  # a failure is a note
            notes.append(
                await self.playlists.note(
                    requester,
                    [c.track_id for c in cards],
                    wanted_playlist or playlist_name(names),
                    PLAYLIST_DESCRIPTION,
                    PLAYLIST_AGAIN,
                )
            )
        return Reply(
            title=title,
            text="",
            tracks=cards,
            notes=tuple(notes),
            footer=self.catalog.with_note(_footer(names, result)),
            buttons=buttons,
        )

    def _resolve(self, user: ChatUser, words: list[str]) -> tuple[list[Member], list[str]]:
        """The members named by ``words`` on the requester's platform, and the unknown words."""
        found: list[Member] = []
        unknown: list[str] = []
        for word in words:
            uid = None
            if word.startswith("@"):
                uid = self.store.find_handle(user.platform, word)
            if uid is None:
                uid = self.user_store.find_user(user.platform, word.lstrip("@"))
            if uid is None:
                unknown.append(word[:40])
            else:
                found.append(Member(uid, word[:40]))
        return found, unknown

    def _platform_id(self, uid: int, platform: str) -> str | None:
        """The member's user id on ``platform`` (whom a consent button is for), None elsewhere."""
        rows = self.user_store.sql.rows(
            "select platform_user_id from users where id = ? and platform = ?", [uid, platform]
        )
        return str(rows[0]["platform_user_id"]) if rows else None

    def _name(self, uid: int) -> str:
        rows = self.user_store.sql.rows(
            "select display_name, platform_user_id from users where id = ?", [uid]
        )
        handle = self.user_store.user_settings(uid).get(HANDLE_KEY)
        if handle:
            return str(handle)
        return str(rows[0]["display_name"] or rows[0]["platform_user_id"]) if rows else "someone"

    async def _taste_of(self, member: Member) -> tuple[TrainedTaste | None, str]:
        """The member's stored scores; a first guess while their first model trains; None (and
        why) when they have nothing to learn from."""
        trained = self.models.cached(member.uid) or await asyncio.to_thread(
            self.models.load_stored, member.uid
        )
        if trained is not None:
            return trained, ""
        size = await asyncio.to_thread(self.taste.library_size, member.uid)
        if not size:
            return None, f"{member.name} has no library yet (/import): left out."
        try:
            guess = await asyncio.to_thread(self.models.first_guess, member.uid)
        except UserFacingError:  # too few tracks with features: a training would fail the same
            return None, f"{member.name}'s library can't make a taste yet: left out."
        except Exception:
            log.exception("a blend member's first guess failed")
            return None, f"{member.name}'s taste isn't ready yet: left out."
        await self.training.schedule(member.uid)
        return guess, f"{member.name}: a first guess while their taste model trains."

    def _blend(self, members: list[tuple[Member, TrainedTaste]], n: int, context: Context) -> Blend:
        """The fair list over the catalog, without what any member has or rated (blocking)."""
        tracks = self.catalog.tracks
        excluded: set[str] = set()
        for member, trained in members:
            excluded |= set(trained.library["track_id"]) | set(self.taste.feedback(member.uid))
        # Another release of a song a member has is not new to them either.
        songs = self.catalog.songs_of(
            excluded, np.concatenate([t.library_songs for _, t in members])
        )
        keep = allowed(tracks.index, excluded) & ~self.catalog.same_songs(songs)
        scores = np.vstack([np.asarray(t.catalog_scores, dtype=float) for _, t in members])
        return blend(tracks, scores, n, keep=keep, context=context)


def playlist_name(names: list[str]) -> str:
    """The blend playlist's default name: "beatmatch blend — Ann, Bob, Cal" (names shown only)."""
    name = "beatmatch blend — " + ", ".join(names)
    return name if len(name) <= 100 else name[:99] + "…"


def _joined(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _footer(names: list[str], result: Blend) -> str:
    shares = " · ".join(
        f"{name} {share:.0%}" for name, share in zip(names, result.satisfaction, strict=True)
    )
    return (
        f"Satisfaction (share of the list in each member's own top {1 - TOP_DECILE:.0%}): "
        f"{shares}. Built to serve the least-served member first, then everyone."
    )
