"""Turning what a user typed into a track: ids, URIs, open.spotify.com links, "title - artist"."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.core.errors import BadInput
from bot.core.track_refs import (
    MAX_QUERY,
    clean_query,
    looks_like_link,
    parse_track_ref,
    search_frame,
    split_title_artist,
)

ID = "4LRPiXqCikLlN15c3yImP7"


@pytest.mark.parametrize(
    "text",
    [
        ID,
        f"  {ID}  ",
        f"spotify:track:{ID}",
        f"https://open.spotify.com/track/{ID}",
        f"http://open.spotify.com/track/{ID}",
        f"open.spotify.com/track/{ID}",
        f"https://open.spotify.com/track/{ID}?si=1a2b3c4d5e6f7a8b",
        f"https://open.spotify.com/track/{ID}?si=abc&context=spotify%3Aplaylist%3A37i9",
        f"https://open.spotify.com/intl-de/track/{ID}",
        f"https://open.spotify.com/intl-pt-br/track/{ID}?si=x",
        f"https://open.spotify.com/embed/track/{ID}",
        f"https://open.spotify.com/track/{ID}/",
        f"https://open.spotify.com/track/{ID}#t=30",
        f"<https://open.spotify.com/track/{ID}>",  # Discord's "no preview" brackets
    ],
)
def test_track_refs_give_the_id(text: str) -> None:
    assert parse_track_ref(text) == ID


@pytest.mark.parametrize(
    "text",
    [
        "",
        ID[:-1],
        ID + "X",
        f"spotify:album:{ID}",
        f"spotify:playlist:{ID}",
        f"https://open.spotify.com/album/{ID}",
        f"https://open.spotify.com/playlist/{ID}?si=x",
        f"https://open.spotify.com/artist/{ID}",
        f"https://example.com/track/{ID}",
        f"https://open.spotify.com.evil.example/track/{ID}",
        f"https://open.spotify.com/track/{ID}extra",
        "4LRPiXqCikLlN15c3yImP-",
        "As It Was - Harry Styles",
        "'; DROP TABLE tracks; --",
    ],
)
def test_other_text_is_not_a_track_ref(text: str) -> None:
    assert parse_track_ref(text) is None


def test_id_is_returned_with_its_case() -> None:
    assert parse_track_ref(f"spotify:track:{ID.lower()}") == ID.lower()


@pytest.mark.parametrize(
    ("text", "is_link"),
    [
        ("https://example.com/x", True),
        ("HTTP://EXAMPLE.COM", True),
        (f"spotify:album:{ID}", True),
        ("open.spotify.com/album/x", True),
        ("As It Was", False),
        ("spotify is great", False),
    ],
)
def test_looks_like_link(text: str, is_link: bool) -> None:
    assert looks_like_link(text) is is_link


def test_split_title_artist_offers_both_splits_then_the_whole() -> None:
    assert split_title_artist("Jump - Remix - Van Halen") == [
        ("Jump - Remix", "Van Halen"),
        ("Jump", "Remix - Van Halen"),
        ("Jump - Remix - Van Halen", ""),
    ]


def test_split_title_artist_without_a_dash() -> None:
    assert split_title_artist("As It Was") == [("As It Was", "")]


def test_split_title_artist_single_dash_is_offered_once() -> None:
    assert split_title_artist("As It Was - Harry Styles") == [
        ("As It Was", "Harry Styles"),
        ("As It Was - Harry Styles", ""),
    ]


def test_split_title_artist_ignores_hyphens_inside_words_and_squeezes_spaces() -> None:
    assert split_title_artist("Blink-182   song") == [("Blink-182 song", "")]
    assert split_title_artist("  A   -   B ") == [("A", "B"), ("A - B", "")]


def test_split_title_artist_with_empty_sides() -> None:
    assert split_title_artist("- Artist") == [("- Artist", "")]
    assert split_title_artist("Title -") == [("Title -", "")]


def test_clean_query_keeps_ordinary_text_and_strips_control_characters() -> None:
    assert clean_query("  As It Was\x00\x07 ") == "As It Was"
    assert clean_query("Déjà vu — 🎵") == "Déjà vu — 🎵"


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\n\t"])
def test_clean_query_refuses_empty_text_saying_what_to_send(text: str) -> None:
    with pytest.raises(BadInput, match="Spotify link"):
        clean_query(text)


def test_clean_query_limits_length() -> None:
    assert clean_query("a" * MAX_QUERY) == "a" * MAX_QUERY
    with pytest.raises(BadInput) as error:
        clean_query("a" * (MAX_QUERY + 1))
    assert str(MAX_QUERY) in error.value.message
    assert len(error.value.message) < 150


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["Home", "Home Again", "Homeward", "Other"],
            "artists": ["Duo", "Duo", "Solo", "Duo"],
            "popularity": [10.0, 90.0, 50.0, 99.0],
        },
        index=pd.Index(["a", "b", "c", "d"], name="track_id"),
    )


def test_search_frame_puts_exact_titles_first_then_popular() -> None:
    assert list(search_frame(_table(), "home").index) == ["a", "b", "c"]


def test_search_frame_filters_by_artist_and_limits() -> None:
    assert list(search_frame(_table(), "home", "duo").index) == ["a", "b"]
    assert list(search_frame(_table(), "home", limit=1).index) == ["a"]


@pytest.mark.parametrize("query", [".*", "(", "[a-z]", "\\"])
def test_search_frame_treats_regex_characters_as_text(query: str) -> None:
    assert search_frame(_table(), query).empty


def test_search_frame_on_an_empty_table() -> None:
    assert search_frame(_table().iloc[0:0], "home").empty
