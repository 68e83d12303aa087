"""Times in a reply as Discord timestamps: each reader sees them in their own time zone and
language (``<t:UNIX:f>``), with how far away they are (``<t:UNIX:R>``), instead of UTC text."""

from __future__ import annotations

from collections.abc import Iterable

from discord.utils import format_dt

from bot.core.replies import Moment


def timestamp(moment: Moment) -> str:
    """``moment`` as Discord shows it: "<date and time> (<in N days>)" or, for a deadline,
    "until <time> (<in N minutes>)"."""
    if moment.until:
        return f"until {format_dt(moment.at, 'f')} ({format_dt(moment.at, 'R')})"
    return f"{format_dt(moment.at, 'f')} ({format_dt(moment.at, 'R')})"


def local_times(text: str, moments: Iterable[Moment]) -> str:
    """``text`` with every moment's plain rendering replaced by its Discord timestamp."""
    for moment in moments:
        if moment.text:
            text = text.replace(moment.text, timestamp(moment))
    return text
