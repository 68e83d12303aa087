"""Shared chat rendering: every track shown with name, artists and link; replies cut into pieces
that respect a front's limits without splitting a track."""

from __future__ import annotations

import pytest

from bot.chat.render import PLAIN, reply_pieces, shorten, split_text, track_block
from bot.chat.telegram.render import HTML, keyboard, messages, parse_feedback
from bot.core.replies import Button, Reply, TrackCard


def _cards(n: int, reason: str = "close in sound") -> tuple[TrackCard, ...]:
    return tuple(TrackCard(f"{i:022d}", f"Song {i}", "Ann;Bo", reason=reason) for i in range(n))


def test_a_track_block_has_name_artists_link_and_reason() -> None:
    block = track_block(3, _cards(1)[0])
    assert block.splitlines() == [
        "3. Song 0 — Ann, Bo",
        "https://open.spotify.com/track/0000000000000000000000",
        "why: close in sound",
    ]


def test_user_derived_text_is_escaped_for_telegram_html() -> None:
    card = TrackCard("a" * 22, "<b>Loud</b> & proud", "R&B <Crew>")
    block = track_block(1, card, HTML)
    assert "&lt;b&gt;Loud&lt;/b&gt; &amp; proud" in block and "R&amp;B &lt;Crew&gt;" in block


@pytest.mark.parametrize(("limit", "per_piece"), [(4000, 25), (700, 25), (4000, 4)])
def test_pieces_keep_every_track_whole_and_in_order(limit: int, per_piece: int) -> None:
    cards = _cards(30, reason="x" * 80)
    reply = Reply(title="Thirty", text="Intro line", tracks=cards, footer="footer", notes=("n",))
    pieces = reply_pieces(reply, PLAIN, limit=limit, tracks_per_piece=per_piece)
    assert all(len(p.text) <= limit for p in pieces)
    assert all(len(p.tracks) <= per_piece for p in pieces)
    assert [c for p in pieces for _, c in p.tracks] == list(cards)
    for piece in pieces:
        for number, card in piece.tracks:
            assert track_block(number, card) in piece.text
    assert pieces[0].text.startswith("Thirty\nIntro line")
    assert pieces[-1].text.endswith("n\nfooter")


def test_a_huge_text_is_split_at_line_ends() -> None:
    text = "\n".join(f"line {i} " + "y" * 50 for i in range(200))
    chunks = split_text(text, 1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert "\n".join(chunks) == text


def test_shorten_marks_a_cut() -> None:
    assert shorten("abcdef", 4) == "abc…" and shorten("abc", 4) == "abc"


def test_telegram_messages_carry_the_buttons_of_their_tracks() -> None:
    cards = _cards(25)
    buttons = tuple(
        Button(label, action, c.track_id)
        for c in cards
        for label, action in (("👍", "like"), ("👎", "dislike"))
    )
    out = messages(Reply(title="t", text="", tracks=cards, buttons=buttons))
    assert len(out) == 2  # 20 tracks a message
    first = out[0].keyboard
    assert first is not None
    labels = [b.text for row in first.inline_keyboard for b in row]
    assert labels[:4] == ["👍 1", "👎 1", "👍 2", "👎 2"]
    data = [b.callback_data for row in first.inline_keyboard for b in row]
    assert all(isinstance(d, str) and len(d.encode()) <= 64 for d in data)
    assert parse_feedback(str(data[1])) == ("dislike", cards[0].track_id)


def test_an_error_is_marked_and_has_no_keyboard() -> None:
    [out] = messages(Reply(text="Nope.", error=True))
    assert out.text == "⚠️ Nope." and out.keyboard is None
    assert keyboard([]) is None
