"""Text rendering shared by the chat fronts: a Reply cut into message-sized pieces.

Every track is shown the same way everywhere — its name, its artists and its
``https://open.spotify.com/track/<id>`` link, then why it is there — only the markup differs
(Telegram HTML, Discord markdown). A piece never splits a track, and holds at most as many
tracks as the front can put feedback buttons under one message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.replies import Reply, TrackCard


@dataclass(frozen=True)
class Markup:
    """How a front escapes user-derived text and marks bold and italic."""

    escape: Callable[[str], str]
    bold: Callable[[str], str]
    italic: Callable[[str], str]


def _same(text: str) -> str:
    return text


PLAIN = Markup(_same, _same, _same)


@dataclass(frozen=True)
class Piece:
    """One message's worth of a reply: its text and the numbered tracks it shows."""

    text: str
    tracks: tuple[tuple[int, TrackCard], ...] = ()


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def track_block(number: int, card: TrackCard, markup: Markup = PLAIN) -> str:
    """One track: "N. Name — Artists", its open.spotify.com link, and why it is there."""
    name = markup.bold(markup.escape(card.name or "Untitled"))
    lines = [f"{number}. {name} — {markup.escape(card.artists_text)}", card.url]
    if card.reason:
        lines.append(markup.italic(markup.escape(f"why: {card.reason}")))
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in chunks of at most ``limit`` characters, cut at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def reply_pieces(
    reply: Reply,
    markup: Markup = PLAIN,
    *,
    limit: int = 4000,
    tracks_per_piece: int = 25,
    title: bool = True,
    footer: bool = True,
    first: int = 1,
) -> list[Piece]:
    """The reply's title, text, tracks, notes and footer packed into pieces of ≤ ``limit``; the
    tracks are numbered from ``first`` (a later page of a long list goes on counting)."""
    head: list[str] = []
    if title and reply.title:
        head.append(markup.bold(markup.escape(reply.title)))
    if reply.text:
        head.append(markup.escape(reply.text))
    tail = [markup.escape(note) for note in reply.notes]
    if footer and reply.footer:
        tail.append(markup.italic(markup.escape(reply.footer)))

    pieces: list[Piece] = []
    text = ""
    tracks: list[tuple[int, TrackCard]] = []

    def flush() -> None:
        nonlocal text, tracks
        if text or tracks:
            pieces.append(Piece(text, tuple(tracks)))
        text, tracks = "", []

    def add(block: str, card: tuple[int, TrackCard] | None = None) -> None:
        nonlocal text
        joined = f"{text}\n\n{block}" if text else block
        full = card is not None and len(tracks) >= tracks_per_piece
        if len(joined) > limit or full:
            flush()
            joined = block
        text = joined
        if card is not None:
            tracks.append(card)

    for chunk in split_text("\n".join(head), limit) if head else []:
        add(chunk)
    for number, card in enumerate(reply.tracks, start=first):
        add(track_block(number, card, markup), (number, card))
    for chunk in split_text("\n".join(tail), limit) if tail else []:
        add(chunk)
    flush()
    return pieces or [Piece("")]
