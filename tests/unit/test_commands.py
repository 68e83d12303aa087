"""Typed commands: names, aliases, @botname, options, number parsing and the help text."""

from __future__ import annotations

import pytest

from bot.core.commands import (
    ALIASES,
    CHATS,
    COMMAND_NAMES,
    COMMANDS,
    MAX_COMMAND_CHARS,
    help_text,
    parse_command,
    parse_int,
)
from bot.core.errors import BadInput, UserFacingError


def test_plain_command() -> None:
    parsed = parse_command("/recommend")
    assert (parsed.name, parsed.words, dict(parsed.options)) == ("recommend", (), {})


def test_words_and_known_options_are_split() -> None:
    parsed = parse_command("/recommend 5 mood:energetic bpm:128")
    assert parsed.words == ("5",)
    assert dict(parsed.options) == {"mood": "energetic", "bpm": "128"}


def test_option_names_are_case_insensitive_values_kept() -> None:
    parsed = parse_command("/recommend MOOD:Calm")
    assert dict(parsed.options) == {"mood": "Calm"}


def test_unknown_options_stay_words() -> None:
    parsed = parse_command("/genre https://open.spotify.com/track/abc time:3")
    assert dict(parsed.options) == {}
    assert parsed.rest == "https://open.spotify.com/track/abc time:3"


def test_a_spotify_uri_is_a_word_not_an_option() -> None:
    parsed = parse_command("/genre spotify:track:4LRPiXqCikLlN15c3yImP7")
    assert parsed.words == ("spotify:track:4LRPiXqCikLlN15c3yImP7",)


def test_command_name_is_case_insensitive_and_spaces_are_trimmed() -> None:
    parsed = parse_command("   /ReCoMmEnD   3  ")
    assert (parsed.name, parsed.words) == ("recommend", ("3",))


def test_rest_joins_words_with_single_spaces() -> None:
    assert parse_command("/genre  As   It Was -  Harry Styles").rest == "As It Was - Harry Styles"


@pytest.mark.parametrize(("alias", "name"), sorted(ALIASES.items()))
def test_aliases(alias: str, name: str) -> None:
    assert parse_command(f"/{alias}").name == name


def test_every_alias_points_to_a_command() -> None:
    assert set(ALIASES.values()) <= set(COMMAND_NAMES)


@pytest.mark.parametrize("text", ["/recommend@beatmatch_bot 5", "/recommend@BeatMatchBot 5"])
def test_telegram_botname_suffix_is_dropped(text: str) -> None:
    parsed = parse_command(text)
    assert (parsed.name, parsed.words) == ("recommend", ("5",))


def test_alias_with_botname() -> None:
    assert parse_command("/start@beatmatch_bot").name == "start"


@pytest.mark.parametrize("text", ["recommend 5", "hello", "!recommend", " "])
def test_text_without_a_slash_is_refused_with_a_hint(text: str) -> None:
    with pytest.raises(BadInput, match="/help"):
        parse_command(text)


def test_unknown_command_is_named_briefly() -> None:
    with pytest.raises(BadInput) as error:
        parse_command("/dance now")
    assert "/dance" in error.value.message
    assert "/help" in error.value.message
    with pytest.raises(BadInput) as long_error:
        parse_command("/" + "x" * 500)
    assert len(long_error.value.message) < 120


def test_overlong_message_is_refused_without_echoing_it() -> None:
    with pytest.raises(BadInput) as error:
        parse_command("/genre " + "a" * (MAX_COMMAND_CHARS + 10))
    assert len(error.value.message) < 200


def test_lone_slash_is_an_unknown_command() -> None:
    with pytest.raises(BadInput):
        parse_command("/")


def test_bad_input_is_a_user_facing_error() -> None:
    assert issubclass(BadInput, UserFacingError)


# -- parse_int -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "value"), [("5", 5), (" 12 ", 12), ("1", 1), ("50", 50)])
def test_parse_int_accepts_whole_numbers_in_range(text: str, value: int) -> None:
    assert parse_int(text, "The count", 1, 50) == value


@pytest.mark.parametrize("text", ["abc", "2.5", "", "5 tracks", "½"])
def test_parse_int_rejects_non_numbers_naming_what_and_range(text: str) -> None:
    with pytest.raises(BadInput) as error:
        parse_int(text, "The count", 1, 50)
    message = error.value.message
    assert "The count" in message
    assert "1" in message and "50" in message


@pytest.mark.parametrize("text", ["0", "-5", "51", "99999"])
def test_parse_int_rejects_out_of_range_numbers_saying_the_range(text: str) -> None:
    with pytest.raises(BadInput) as error:
        parse_int(text, "The count", 1, 50)
    assert "from 1 to 50" in error.value.message
    assert text in error.value.message


def test_parse_int_shortens_a_long_bad_value() -> None:
    with pytest.raises(BadInput) as error:
        parse_int("z" * 1000, "bpm", 40, 220)
    assert len(error.value.message) < 120


def test_parse_int_of_a_huge_number_is_a_short_message() -> None:
    with pytest.raises(BadInput) as error:
        parse_int("9" * 300, "The count", 1, 50)
    assert len(error.value.message) < 200


# -- help ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("front", CHATS)
def test_help_lists_every_chat_command_with_usage_and_summary(front: str) -> None:
    text = help_text(front=front)
    for spec in COMMANDS:
        if spec.console_only:
            assert spec.usage not in text
        elif front in spec.fronts:
            assert spec.usage_for(front) in text
            assert spec.summary in text


def test_console_help_also_lists_console_commands() -> None:
    text = help_text(front="console")
    for spec in COMMANDS:
        assert spec.usage in text
        assert spec.summary in text


@pytest.mark.parametrize("topic", ["recommend", "/recommend", "rec", "RECOMMEND"])
def test_help_on_one_command(topic: str) -> None:
    spec = COMMAND_NAMES["recommend"]
    assert help_text(topic) == f"{spec.usage}\n{spec.summary}"


def test_help_on_an_unknown_command() -> None:
    with pytest.raises(BadInput, match="/nosuch"):
        help_text("nosuch")


def test_every_command_has_a_usage_starting_with_its_name() -> None:
    for spec in COMMANDS:
        assert spec.usage.startswith(f"/{spec.name}")
        assert spec.summary.strip()
