"""One key per song: the issue's owned-song variants collapse, different songs don't."""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.candidates import cap_per_artist, song_hashes
from recommender.song_key import song_key, title_key


@pytest.mark.parametrize(
    ("owned", "offered"),
    [
        (
            ("pushin P (feat. Young Thug)", "Gunna;Future;Young Thug"),
            ("Pushin P", "Gunna;Future;Young Thug"),
        ),
        (
            ("Roll in Peace (feat. XXXTENTACION)", "Kodak Black;XXXTENTACION"),
            ("Roll in Peace", "Kodak Black;XXXTENTACION"),
        ),
        (
            ("ROCKSTAR (feat. Roddy Ricch)", "DaBaby;Roddy Ricch"),
            ("ROCKSTAR", "DaBaby;Roddy Ricch"),
        ),
        (("No More ?'s", "Eazy-E"), ("No More ?'s", "Eazy-E;Ice Cube")),
        (
            ("Why Do You Lie To Me (feat. Lil Baby)", "Topic;A7S;Lil Baby"),
            ("Why Do You Lie To Me", "Topic;A7S;Lil Baby"),
        ),
        (("Wonderwall - Remastered 2014", "Oasis"), ("Wonderwall", "Oasis")),
        (("Hey Jude [Remastered 2009]", "The Beatles"), ("Hey Jude - Mono", "The Beatles")),
        (("Blinding Lights - Radio Edit", "The Weeknd"), ("Blinding Lights", "the weeknd")),
        (
            ("Señorita", "Shawn Mendes;Camila Cabello"),
            ("Senorita (with Camila Cabello)", "Shawn Mendes"),
        ),
        (
            ("Jump Around - Live", "House Of Pain"),
            ("Jump Around (Live at Glastonbury)", "House of Pain"),
        ),
        (("Mood feat. iann dior", "24kGoldn;iann dior"), ("Mood", "24kGoldn")),
        (("HUMBLE.", "Kendrick Lamar"), ("HUMBLE. - SKRILLEX REMIX", "Kendrick Lamar")),
        (("Sicko Mode", "Travis Scott"), ("Sicko Mode (Skrillex Remix)", "Travis Scott")),
    ],
)
def test_releases_of_one_song_share_a_key(owned: tuple[str, str], offered: tuple[str, str]) -> None:
    assert song_key(*owned) == song_key(*offered)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("Intro", "The xx"), ("Intro", "M83")),  # same title, different artists
        (("Hurt", "Nine Inch Nails"), ("Hurt", "Johnny Cash")),  # a cover is its own song
        (("Stay", "Rihanna;Mikky Ekko"), ("Stay", "The Kid LAROI;Justin Bieber")),
        (("Pushin P", "Gunna;Future;Young Thug"), ("Pushin", "Gunna")),  # another title
    ],
)
def test_different_songs_keep_different_keys(one: tuple[str, str], other: tuple[str, str]) -> None:
    assert song_key(*one) != song_key(*other)


def test_titles_fold_case_accents_and_punctuation() -> None:
    assert title_key("No More ?'s") == "no more s"
    assert title_key("  BEYONCÉ’s  Song!! ") == "beyonce s song"
    assert title_key("?") == "?"  # all punctuation: still a title of its own
    assert title_key("(feat. Someone)") == "feat someone"  # all noise: kept rather than emptied
    assert song_key("", "Alpha") == song_key(None, "Alpha") == ""


def test_a_list_never_holds_one_song_twice() -> None:
    tracks = pd.DataFrame(
        {
            "name": [
                "Why Do You Lie To Me",
                "Why Do You Lie To Me (feat. Lil Baby)",
                "Intro",
                "Intro",
            ],
            "artists": ["Topic;A7S;Lil Baby", "Topic;A7S;Lil Baby", "The xx", "M83"],
        },
        index=["w1", "w2", "i1", "i2"],
    )
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["w1", "i1", "i2"]
    hashes = song_hashes(tracks)
    assert hashes[0] == hashes[1] and hashes[2] != hashes[3]
