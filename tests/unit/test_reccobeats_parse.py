"""Reading ReccoBeats' answers: the Spotify id comes from ``href``, odd values are left out."""

from __future__ import annotations

import pytest

from bot.sources.backoff import MalformedResponse
from bot.sources.reccobeats import parse_details, parse_features

A, B = "4LRPiXqCikLlN15c3yImP7", "00aqkszH1FdUiJJWvX6iEl"


def _entry(spotify_id: str, **fields: object) -> dict[str, object]:
    return {
        "id": "8212bab8-5911-48a0-b177-24923ef2329a",
        "href": f"https://open.spotify.com/track/{spotify_id}",
        **fields,
    }


def test_details_are_popularity_and_duration_of_the_asked_tracks() -> None:
    body = {
        "content": [
            _entry(A, trackTitle="Wicked Games", durationMs=325305, popularity=69, isrc="X"),
            _entry(B, durationMs=200000, popularity=0),
            _entry("1" * 22, durationMs=1, popularity=1),  # not asked
        ]
    }
    assert parse_details(body, [A, B]) == {
        A: {"popularity": 69.0, "duration_ms": 325305.0},
        B: {"popularity": 0.0, "duration_ms": 200000.0},
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"popularity": 101, "durationMs": 0},
        {"popularity": True, "durationMs": "200000"},
        {"popularity": -1, "durationMs": float("nan")},
        {"popularity": None},
        {},
    ],
)
def test_details_outside_their_range_or_not_numbers_are_left_out(fields: dict[str, object]) -> None:
    assert parse_details({"content": [_entry(A, **fields)]}, [A]) == {}


def test_a_feature_that_is_not_a_number_is_left_out() -> None:
    body = {"content": [_entry(A, energy=0.5, tempo="fast", valence=True)]}
    assert parse_features(body, [A]) == {A: {"energy": 0.5}}


@pytest.mark.parametrize("body", [[], {"content": None}, "content", None])
def test_an_answer_without_content_is_malformed(body: object) -> None:
    with pytest.raises(MalformedResponse):
        parse_details(body, [A])
