"""Whatever anyone types, the bot answers in time with a message meant for them — never a hang,
never the "something went wrong on my side" apology, never an error in the log.

A property-based fuzz of the dispatcher (hypothesis) over the real app (``tests.fuzz_world``):
every command and option of the registry (``tests.fuzz_inputs``), through the way the console and
Telegram come in (typed lines) and the way Discord does (typed options). A fixed, derandomized
number of examples here; ``bench/fuzz.py`` runs thousands. Each input a run once broke is kept
below as an ``@example``, so it is tried first, every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.replies import ChatUser
from tests.fuzz_inputs import command_lines, typed_calls
from tests.fuzz_world import CONSOLE, USERS, FuzzWorld, Outcome

ANN, BOB = USERS[1], USERS[2]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.Runner, FuzzWorld]]:
    """The world, in an event loop of its own that lives as long as the module's tests."""
    runner = asyncio.Runner()
    world = runner.run(FuzzWorld.open(tmp_path_factory.mktemp("fuzz")))
    try:
        yield runner, world
    finally:
        runner.run(world.close())
        runner.close()


def verdict(outcome: Outcome) -> str:
    """What went wrong, for the assertion message."""
    return (
        f"{outcome.problem} after {outcome.seconds:.1f} s for {outcome.user.platform} user "
        f"typing {outcome.sent!r}:\n{outcome.detail}"
    )


@FUZZ
@given(user=st.sampled_from(USERS), text=command_lines())
@example(user=CONSOLE, text="http://[::1:8888/callback?code=a&state=b")  # found by the fuzz
@example(user=ANN, text="/H@\u202eyo \udfffT\u200d")  # found by the fuzz
@example(user=CONSOLE, text="/import /tmp/" + "a" * 300 + ".csv")  # a file name over NAME_MAX
@example(user=CONSOLE, text="/import {fifo}")  # reading a named pipe would wait forever
def test_every_typed_line_gets_a_prompt_answer_meant_for_the_user(
    fuzz: tuple[asyncio.Runner, FuzzWorld], user: ChatUser, text: str
) -> None:
    runner, world = fuzz
    outcome = runner.run(world.send(user, text))
    assert outcome.ok, verdict(outcome)


@settings(FUZZ, max_examples=50)
@given(user=st.sampled_from(USERS), call=typed_calls("discord"))
def test_every_typed_option_gets_a_prompt_answer_meant_for_the_user(
    fuzz: tuple[asyncio.Runner, FuzzWorld], user: ChatUser, call: tuple[str, dict[str, object]]
) -> None:
    runner, world = fuzz
    name, options = call
    outcome = runner.run(world.send_typed(user, name, options))
    assert outcome.ok, verdict(outcome)


# -- what the fuzz found, kept as plain tests of what the user reads ------------------------------
@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("http://[::1:8888/callback?code=a&state=b", "Commands start with a slash"),
        ("http://[/callback?state=b", "Commands start with a slash"),
        (
            "/link spotify http://[::1:8888/callback?code=a&state=b",
            "isn't the address your browser landed on",
        ),
    ],
)
def test_an_address_with_a_broken_host_is_answered_not_apologised_for(
    fuzz: tuple[asyncio.Runner, FuzzWorld], text: str, told: str
) -> None:
    """An unclosed "[" made the URL parser raise: the user got the apology."""
    runner, world = fuzz
    outcome = runner.run(world.send(ANN, text))
    assert outcome.ok, verdict(outcome)
    assert outcome.reply is not None and outcome.reply.error
    assert told in outcome.reply.text


@pytest.mark.parametrize(
    "text", ["/recommend mood:\udc80\udcff", "/\udc80", "/help \ud800", "/profile age:\udfff"]
)
def test_undecodable_input_is_echoed_as_a_replacement_character(
    fuzz: tuple[asyncio.Runner, FuzzWorld], text: str
) -> None:
    """A console reads undecodable bytes as lone surrogates; an answer that quoted them could not
    be printed or sent (UnicodeEncodeError in the console, a 400 from Telegram)."""
    runner, world = fuzz
    outcome = runner.run(world.send(CONSOLE, text))
    assert outcome.ok, verdict(outcome)
    assert outcome.reply is not None and outcome.reply.error
    assert "\ufffd" in outcome.reply.text
