"""A Reply as Telegram messages: HTML text in pieces of ≤ 4096 characters, each with the
like/dislike inline keyboard of the tracks it shows (and /forget's Yes/Cancel pair, or /blend's
consent button, under the last one); charts go out as photos. Every button keeps all it needs in
its callback data, so buttons keep working after a restart."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.render import Markup, Piece, reply_pieces
from bot.core.blend import ALLOW
from bot.core.forgetting import CANCEL, CONFIRM
from bot.core.replies import Button, Reply

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
TRACKS_PER_MESSAGE = 20
TRACKS_PER_ROW = 2
HTML = Markup(
    lambda text: html.escape(text, quote=False),
    lambda text: f"<b>{text}</b>",
    lambda text: f"<i>{text}</i>",
)
FEEDBACK = re.compile(r"^fb:(?P<action>like|dislike):(?P<track>[A-Za-z0-9]{22})$")
#: /forget's buttons: "fg:yes:<owner>" / "fg:no:<owner>", the owner a Telegram user id.
FORGET = re.compile(r"^fg:(?P<answer>yes|no):(?P<owner>\d{1,20})$")
FORGET_PATTERN = r"^fg:"
FORGET_ANSWERS = {CONFIRM: "yes", CANCEL: "no"}
#: /blend's consent button: "pv:on:<owner>", the owner the Telegram user id of the member named.
PRIVACY = re.compile(r"^pv:on:(?P<owner>\d{1,20})$")
PRIVACY_PATTERN = r"^pv:"


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send: HTML text and an optional inline keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def feedback_data(action: str, track_id: str) -> str:
    """The callback data of a feedback button (≤ 64 bytes: "fb:dislike:" + a 22-char id)."""
    return f"fb:{action}:{track_id}"


def parse_feedback(data: str | None) -> tuple[str, str] | None:
    """(action, track id) from a feedback button's callback data, None if it is not one."""
    match = FEEDBACK.match(data or "")
    return (match["action"], match["track"]) if match else None


def forget_data(answer: str, owner: str) -> str:
    """The callback data of a /forget button: "yes" or "no", and the only user who may press it
    (≤ 64 bytes: "fg:yes:" + a Telegram user id)."""
    return f"fg:{answer}:{owner}"


def parse_forget(data: str | None) -> tuple[str, str] | None:
    """(answer, owner's user id) from a /forget button's callback data, None if it is not one."""
    match = FORGET.match(data or "")
    return (match["answer"], match["owner"]) if match else None


def privacy_data(owner: str) -> str:
    """The callback data of the consent button: only ``owner`` (a Telegram user id) may press it."""
    return f"pv:on:{owner}"


def parse_privacy(data: str | None) -> str | None:
    """The owner's user id from a consent button's callback data, None if it is not one."""
    match = PRIVACY.match(data or "")
    return match["owner"] if match else None


def callback_data(button: Button) -> str:
    """What pressing ``button`` sends back: a /forget answer, a blend consent or a track's
    feedback."""
    if button.action == ALLOW:
        return privacy_data(button.track_id)
    answer = FORGET_ANSWERS.get(button.action)
    if answer is not None:
        return forget_data(answer, button.track_id)
    return feedback_data(button.action, button.track_id)


def keyboard(
    buttons: list[tuple[int | None, Button]], per_row: int = TRACKS_PER_ROW
) -> InlineKeyboardMarkup | None:
    """The inline keyboard for (track number, button) pairs: one track's buttons side by side."""
    if not buttons:
        return None
    groups: dict[int | None, list[InlineKeyboardButton]] = {}
    for number, button in buttons:
        label = f"{button.label} {number}" if number is not None else button.label
        groups.setdefault(number, []).append(
            InlineKeyboardButton(label, callback_data=callback_data(button))
        )
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for index, group in enumerate(groups.values()):
        if index and index % per_row == 0:
            rows.append(row)
            row = []
        row.extend(group)
    rows.append(row)
    return InlineKeyboardMarkup(rows)


def _buttons_for(piece: Piece, reply: Reply, last: bool) -> list[tuple[int | None, Button]]:
    numbers = {card.track_id: number for number, card in piece.tracks}
    shown = {card.track_id for card in reply.tracks}
    out: list[tuple[int | None, Button]] = []
    for button in reply.buttons:
        if button.track_id in numbers:
            out.append((numbers[button.track_id], button))
        elif last and button.track_id not in shown:
            out.append((None, button))
    return out


def messages(reply: Reply) -> list[Outgoing]:
    """The messages that carry ``reply`` (charts are sent separately, as photos)."""
    pieces = reply_pieces(reply, HTML, limit=MESSAGE_LIMIT - 8, tracks_per_piece=TRACKS_PER_MESSAGE)
    out = []
    for index, piece in enumerate(pieces):
        markup = keyboard(_buttons_for(piece, reply, index == len(pieces) - 1))
        if not piece.text and markup is None:
            continue  # e.g. a reply that is only a chart
        text = piece.text or "…"
        out.append(Outgoing("⚠️ " + text if reply.error and index == 0 else text, markup))
    return out
