"""Exportify's "Genres" (Spotify artist genres) as genre evidence beyond the catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.genre.spotify_genres import (
    SpotifyGenreMap,
    artist_genre_cells,
    split_genres,
    with_artist_genres,
)
from storage.exportify import parse_exportify

CLASSES = ["hardcore", "hip-hop", "german", "sad", "hardstyle"]
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _labels(*pairs: tuple[str, float]) -> np.ndarray:
    row = np.zeros(len(CLASSES))
    for genre, weight in pairs:
        row[CLASSES.index(genre)] = weight
    return row


def _taught() -> SpotifyGenreMap:
    """A map learned from library tracks whose artists the catalog labels."""
    cells = [
        "east coast hip hop,hip hop",  # an artist the catalog calls hardcore and hip-hop
        "hip hop,rap",
        "trap,rap",
        "hardcore punk,punk",
        "german hip hop",
    ]
    y = np.vstack(
        [
            _labels(("hardcore", 1), ("hip-hop", 3)),
            _labels(("hip-hop", 1)),
            _labels(("hip-hop", 1)),
            _labels(("hardcore", 1)),
            _labels(("german", 1), ("hip-hop", 1)),
        ]
    )
    return SpotifyGenreMap.fit(cells, y, CLASSES)


def test_an_unseen_rapper_with_spotify_rap_genres_is_named_hip_hop() -> None:
    # The audio model alone calls this rapper "sad" (the Tay-K) at 66 %.
    audio = np.array([[0.05, 0.15, 0.04, 0.66, 0.10]])
    evidence = _taught().evidence(["trap,southern hip hop"])  # a genre it never saw: words
    mixed = with_artist_genres(audio, evidence)
    assert CLASSES[int(np.argmax(audio))] == "sad"
    assert CLASSES[int(np.argmax(mixed))] == "hip-hop"
    assert mixed.sum() == pytest.approx(1.0)


def test_german_rap_is_german_hip_hop_not_hardstyle() -> None:
    # Erzin "Kanacke" with ReccoBeats-only features: hardstyle 29 %, german 22 % (the rest spread)
    audio = np.array([[0.05, 0.05, 0.22, 0.10, 0.29]])
    mixed = with_artist_genres(audio, _taught().evidence(["german hip hop"]))
    top2 = {CLASSES[j] for j in np.argsort(-mixed[0])[:2]}
    assert top2 == {"german", "hip-hop"}


def test_catalog_genre_names_inside_spotify_genres_count_when_nothing_taught_them() -> None:
    empty = SpotifyGenreMap.fit([], np.zeros((0, len(CLASSES))), CLASSES)
    evidence = empty.evidence(["melodic hardstyle"])
    assert CLASSES[int(np.argmax(evidence[0]))] == "hardstyle"


def test_without_genres_the_audio_answer_stands() -> None:
    audio = np.array([[0.1, 0.2, 0.3, 0.3, 0.1], [0.5, 0.1, 0.1, 0.2, 0.1]])
    evidence = _taught().evidence(["", "polka"])  # nothing it can read
    assert not evidence.any()
    np.testing.assert_allclose(with_artist_genres(audio, evidence), audio)


def test_an_artist_keeps_its_genres_on_tracks_whose_cell_is_empty() -> None:
    cells = artist_genre_cells([["tay-k"], ["tay-k"], ["erzin"]], ["", "trap,rap", ""])
    assert cells == {"tay-k": "rap,trap"}
    assert split_genres(" Trap , rap,") == ["trap", "rap"]


def test_exportify_keeps_the_genres_column() -> None:
    header = "Track URI,Track Name,Artist Name(s),Genres\n"
    rows = (
        'spotify:track:34m26K64fX2OtUVov3z1Ej,Everywhere I Go,Tay-K,""\n'
        'spotify:track:5xY8fJV3LjN0YzjbTQf2J4,4 RÄDER,TIEFBASSKOMMANDO,"miami bass,german hip hop"\n'
    )
    library = parse_exportify((header + rows).encode())
    assert library.genres == {
        "34m26K64fX2OtUVov3z1Ej": "",
        "5xY8fJV3LjN0YzjbTQf2J4": "miami bass,german hip hop",
    }


@pytest.mark.shared_data
def test_the_shared_export_carries_genres_for_384_tracks() -> None:
    source = SHARED / "exportify_user_a.csv"
    if not source.exists():
        pytest.skip(f"{source} is absent")
    library = parse_exportify(source.read_bytes())
    assert sum(bool(g) for g in library.genres.values()) == 384


CLUB = ["club", "hip-hop", "pop", "k-pop", "metal"]


def _row(*pairs: tuple[str, float]) -> np.ndarray:
    row = np.zeros(len(CLUB))
    for genre, weight in pairs:
        row[CLUB.index(genre)] = weight
    return row


def test_a_generic_word_like_rap_means_hip_hop_not_what_a_library_happened_to_teach() -> None:
    # The catalog calls many of a listener's pop-rap artists "club": the word "rap" learned club,
    # and Tay-K ("cloud rap", never seen whole) came out club 77 %.
    cells = ["pop rap", "pop rap,dance pop", "melodic rap", "pop rap"]
    y = np.vstack([_row(("club", 1))] * 3 + [_row(("club", 1), ("pop", 1))])
    mapping = SpotifyGenreMap.fit(cells, y, CLUB)
    evidence = mapping.evidence(["cloud rap"])[0]
    assert CLUB[int(np.argmax(evidence))] == "hip-hop", dict(
        zip(CLUB, evidence.round(2), strict=True)
    )


def test_a_genre_learned_whole_weighs_more_than_one_guessed_from_its_words() -> None:
    # "dark trap" is known whole (metal, one track); "emo" never occurs whole, only as a word
    # of three club-labelled genres: the whole-genre match must lead.
    cells = ["dark trap", "emo club", "emo dance", "emo party"]
    y = np.vstack([_row(("metal", 1))] + [_row(("club", 1))] * 3)
    mapping = SpotifyGenreMap.fit(cells, y, CLUB)
    evidence = mapping.evidence(["dark trap,emo"])[0]
    assert CLUB[int(np.argmax(evidence))] == "metal", dict(
        zip(CLUB, evidence.round(2), strict=True)
    )


def test_the_longest_catalog_name_inside_a_spotify_genre_wins() -> None:
    empty = SpotifyGenreMap.fit([], np.zeros((0, len(CLUB))), CLUB)
    evidence = empty.evidence(["k-pop"])[0]
    assert evidence[CLUB.index("k-pop")] > 3 * evidence[CLUB.index("pop")]
