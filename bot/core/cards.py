"""The one way a track becomes a card in a reply, with its 👍/👎 buttons."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bot.core.replies import Button, TrackCard


def track_card(track_id: str, row: pd.Series | None, reason: str = "") -> TrackCard:
    """A card for ``track_id`` from its track-table row (None when the track is unknown)."""
    if row is None:
        return TrackCard(
            track_id=track_id, name=f"Spotify track {track_id}", artists="", reason=reason
        )
    tempo = row.get("tempo")
    energy = row.get("energy")
    return TrackCard(
        track_id=track_id,
        # A track known only by its features (ReccoBeats, no Spotify link) has no name.
        name=str(row.get("name") or "") or f"Spotify track {track_id}",
        artists=str(row.get("artists") or ""),
        reason=reason,
        tempo=float(tempo) if pd.notna(tempo) else None,
        energy=float(energy) if pd.notna(energy) else None,
    )


def feedback_buttons(cards: Iterable[TrackCard]) -> tuple[Button, ...]:
    """A 👍 and a 👎 for each card, in card order."""
    return tuple(
        button
        for card in cards
        for button in (Button("👍", "like", card.track_id), Button("👎", "dislike", card.track_id))
    )
