"""Two kinds of error: UserFacingError (its message is shown to the user) and everything else (a bug:
logged with its traceback, the user sees a short apology with an incident id)."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message is written for the person who typed the command."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(UserFacingError):
    """The command's arguments are wrong; the message says how to write them."""


class NotFound(UserFacingError):
    """The track, file or account asked for does not exist."""


class CoolingDown(UserFacingError):
    """The user sent the same heavy command again too soon."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Easy there — try again in {max(1, round(seconds))} s.")
        self.seconds = seconds


class ServiceBusy(UserFacingError):
    """An outside service (Spotify, ReccoBeats, Pulsoid) asked us to slow down or is down."""


class PlayerUnavailable(UserFacingError):
    """The listener's player can't take tracks now (no active device, no Premium, no scope):
    a workout says so once and stops queuing."""


class NeedsLink(UserFacingError):
    """The command needs a linked account the user has not linked (or must link again)."""


class SpotifyNotSetUp(UserFacingError):
    """The operator configured no Spotify app, so nothing Spotify can be done here."""

    def __init__(self) -> None:
        super().__init__(
            "Spotify isn't set up on this bot (the operator sets spotify.client_id). "
            "You can still /import an Exportify CSV."
        )


class Restarting(UserFacingError):
    """The bot is stopping: work that was waiting won't be done now."""

    def __init__(self) -> None:
        super().__init__("I'm restarting; ask again in a minute.")


class Withdrawn(UserFacingError):
    """Work that was asked for was called off (the user's data was erased meanwhile)."""

    def __init__(self) -> None:
        super().__init__("That was called off: your data has just been erased.")
