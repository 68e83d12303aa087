"""The /forget confirmation: what would be erased, said in numbers, and the two buttons that
settle it. Nothing is erased until the listener confirms (a button, or ``/forget yes``)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.replies import Button, Reply

#: Button actions; a forget button's ``track_id`` holds the chat user id allowed to press it.
CONFIRM, CANCEL = "forget", "keep"
YES_WORDS = frozenset({"yes", "y", "confirm"})
NO_WORDS = frozenset({"no", "n", "cancel"})
#: Fronts that show the confirmation as buttons (Telegram: "fg:yes|no:<owner>" callback data;
#: Discord: a persistent DynamicItem pair); every other front is told to type /forget yes, and no
#: button is offered that would not work.
BUTTON_FRONTS: frozenset[str] = frozenset({"telegram", "discord"})


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def preview_text(counts: Mapping[str, int], buttons: bool = False) -> str:
    """What ``/forget yes`` would erase, from the user's row counts per table."""
    items = [
        _count(counts.get("library", 0), "track of your library", "tracks of your library"),
        _count(counts.get("feedback", 0), "like or dislike", "likes and dislikes"),
        _count(counts.get("workouts", 0), "workout", "workouts")
        + f" (with {_count(counts.get('hr_samples', 0), 'heart-rate reading', 'heart-rate readings')}"
        " and their charts)",
        _count(counts.get("linked_accounts", 0), "linked account", "linked accounts")
        + " (Pulsoid access is revoked)",
        "your heart profile, your settings, your taste model and the list of tracks "
        "I showed you lately",
    ]
    return (
        "This erases everything I store about you: "
        + "; ".join(items)
        + ".\nNothing is erased until you confirm: "
        + ("press “Yes, erase everything” below, or " if buttons else "")
        + "send /forget yes."
    )


def confirmation(counts: Mapping[str, int], owner: str, buttons: bool) -> Reply:
    """The question /forget asks; with ``buttons``, its Yes/Cancel pair for chat user ``owner``
    only (a front without buttons, the console, is told to type /forget yes)."""
    pair = (Button("Yes, erase everything", CONFIRM, owner), Button("Cancel", CANCEL, owner))
    return Reply(
        title="Erase everything?",
        text=preview_text(counts, buttons),
        buttons=pair if buttons else (),
    )


def cancelled() -> Reply:
    """The answer to Cancel (or /forget no)."""
    return Reply(title="Forget", text="Cancelled: nothing was erased.")
