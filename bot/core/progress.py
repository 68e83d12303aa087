"""Progress lines during long commands: the callback type every slow service method accepts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

#: Sends one progress line ("Reading your library…") to the user who is waiting.
Notify = Callable[[str], Awaitable[None]]


async def silent(_: str) -> None:
    """A Notify that says nothing (the default when no one is waiting)."""
    return None
