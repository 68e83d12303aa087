"""Candidate pools: exclusion, merging, negative sampling and the per-artist diversity cap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.candidates import (
    MAX_PER_ARTIST,
    NO_SONG,
    cap_per_artist,
    exclude,
    merge_pools,
    sample_negatives,
    song_hashes,
)


def _pool(ids: list[str], tag: str = "", artists: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [f"{tag}{t}" for t in ids],
            "artists": artists or [f"Artist {t}" for t in ids],
        },
        index=pd.Index(ids, name="track_id"),
    )


def _ranked(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """A track table from (track_id, name, artists) rows, in rank order."""
    return pd.DataFrame(
        [(n, a) for _, n, a in rows],
        columns=["name", "artists"],
        index=pd.Index([t for t, _, _ in rows], name="track_id"),
    )


# ---------------------------------------------------------------- exclude


@pytest.mark.parametrize(
    ("drop", "left"),
    [
        ([], ["a", "b", "c", "d"]),
        (["b"], ["a", "c", "d"]),
        (["a", "d"], ["b", "c"]),
        (["x", "y"], ["a", "b", "c", "d"]),  # unknown ids are fine
        (["c", "x"], ["a", "b", "d"]),
        ({"a", "b", "c", "d"}, []),
    ],
)
def test_exclude_drops_the_given_ids(drop: list[str], left: list[str]) -> None:
    assert list(exclude(_pool(["a", "b", "c", "d"]), drop).index) == left


def test_exclude_accepts_any_iterable() -> None:
    pool = _pool(["a", "b", "c"])
    assert list(exclude(pool, (t for t in ["a"])).index) == ["b", "c"]
    assert list(exclude(pool, pd.Index(["c"])).index) == ["a", "b"]


def test_exclude_does_not_modify_the_pool() -> None:
    pool = _pool(["a", "b"])
    exclude(pool, ["a"])
    assert list(pool.index) == ["a", "b"]


# ---------------------------------------------------------------- merge_pools


def test_merge_pools_keeps_each_track_once_and_the_first_row_wins() -> None:
    catalog = _pool(["a", "b", "c"], tag="catalog ")
    search = _pool(["c", "d", "a"], tag="search ")
    merged = merge_pools(catalog, search)
    assert list(merged.index) == ["a", "b", "c", "d"]
    assert merged.loc["a", "name"] == "catalog a"
    assert merged.loc["c", "name"] == "catalog c"
    assert merged.loc["d", "name"] == "search d"


def test_merge_pools_order_decides_who_wins() -> None:
    merged = merge_pools(_pool(["a"], tag="second "), _pool(["a"], tag="first "))
    assert merged.loc["a", "name"] == "second a"


def test_merge_pools_skips_empty_and_missing_pools() -> None:
    empty = _pool([])
    merged = merge_pools(empty, None, _pool(["a", "b"]), empty)  # type: ignore[arg-type]
    assert list(merged.index) == ["a", "b"]


def test_merge_pools_of_empty_pools_is_empty_with_columns() -> None:
    merged = merge_pools(_pool([]), _pool([]))
    assert merged.empty
    assert list(merged.columns) == ["name", "artists"]


def test_merge_pools_of_nothing_is_an_empty_frame() -> None:
    assert merge_pools().empty


# ---------------------------------------------------------------- sample_negatives

POOL = _pool([f"t{i:03d}" for i in range(200)])


@pytest.mark.parametrize("n", [0, 1, 10, 199])
def test_sample_negatives_draws_n_distinct_tracks(n: int) -> None:
    sample = sample_negatives(POOL, n, np.random.default_rng(0))
    assert len(sample) == n
    assert sample.index.is_unique
    assert set(sample.index) <= set(POOL.index)


@pytest.mark.parametrize("n", [200, 201, 10_000])
def test_sample_negatives_takes_everything_from_a_small_pool(n: int) -> None:
    assert list(sample_negatives(POOL, n, np.random.default_rng(0)).index) == list(POOL.index)


def test_sample_negatives_is_deterministic_for_a_seed() -> None:
    a = sample_negatives(POOL, 30, np.random.default_rng(42))
    b = sample_negatives(POOL, 30, np.random.default_rng(42))
    c = sample_negatives(POOL, 30, np.random.default_rng(43))
    assert list(a.index) == list(b.index)
    assert list(a.index) != list(c.index)


def test_sample_negatives_keeps_pool_order() -> None:
    sample = sample_negatives(POOL, 50, np.random.default_rng(1))
    assert list(sample.index) == sorted(sample.index)


def test_sample_negatives_is_uniform() -> None:
    counts = pd.Series(0, index=POOL.index)
    rng = np.random.default_rng(3)
    for _ in range(400):
        counts[sample_negatives(POOL, 20, rng).index] += 1
    # Each track is drawn with probability 0.1: 40 times expected, sd ≈ 6.
    assert counts.between(10, 75).all()
    assert counts.mean() == pytest.approx(40.0)


# ---------------------------------------------------------------- cap_per_artist


def test_at_most_two_tracks_per_artist() -> None:
    tracks = _ranked(*[(f"a{i}", f"song {i}", "Alpha") for i in range(5)], ("b0", "x", "Beta"))
    assert MAX_PER_ARTIST == 2
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["a0", "a1", "b0"]


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_cap_is_honoured(cap: int) -> None:
    tracks = _ranked(*[(f"a{i}", f"song {i}", "Alpha") for i in range(5)])
    assert len(cap_per_artist(list(tracks.index), tracks, 10, cap=cap)) == cap


def test_artists_are_matched_case_and_space_insensitively() -> None:
    tracks = _ranked(("1", "a", "Alpha"), ("2", "b", " ALPHA "), ("3", "c", "alpha"))
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["1", "2"]


def test_a_feat_track_counts_for_both_artists() -> None:
    tracks = _ranked(
        ("a1", "one", "Alpha"),
        ("ab", "duet", "Alpha;Beta"),
        ("b1", "two", "Beta"),
        ("a2", "three", "Alpha"),  # Alpha is full: a1 and the duet
        ("b2", "four", "Beta"),  # Beta is full: the duet and b1
        ("c1", "five", "Gamma"),
    )
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["a1", "ab", "b1", "c1"]


def test_a_feat_track_is_skipped_when_one_of_its_artists_is_full() -> None:
    tracks = _ranked(
        ("a1", "one", "Alpha"),
        ("a2", "two", "Alpha"),
        ("ab", "duet", "Alpha;Beta"),
        ("b1", "three", "Beta"),
    )
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["a1", "a2", "b1"]


@pytest.mark.parametrize(
    ("second_name", "second_artists", "kept"),
    [
        ("Summer Song", "Alpha", False),  # album and single version
        ("summer  song", "alpha", False),  # case and spaces do not make it new
        ("Summer Song", "Beta", True),  # a cover by someone else
        ("Summer Song (Remix)", "Alpha", False),  # a remix of the same song
        ("Summer Song", "Gamma", True),  # different artists
        ("Summer Song (feat. Beta)", "Alpha;Beta", False),  # the single with its guest
    ],
)
def test_same_title_and_artists_are_deduplicated(
    second_name: str, second_artists: str, kept: bool
) -> None:
    tracks = _ranked(("v1", "Summer Song", "Alpha"), ("v2", second_name, second_artists))
    expected = ["v1", "v2"] if kept else ["v1"]
    assert cap_per_artist(list(tracks.index), tracks, 10) == expected


def test_same_title_and_artists_in_another_order_are_deduplicated() -> None:
    tracks = _ranked(("v1", "Duet", "Alpha;Beta"), ("v2", "Duet", "Beta;Alpha"))
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["v1"]


def test_untitled_tracks_are_not_deduplicated() -> None:
    tracks = _ranked(("u1", "", "Alpha"), ("u2", "", "Alpha"))
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["u1", "u2"]


def test_a_duplicate_does_not_use_up_the_cap() -> None:
    tracks = _ranked(("v1", "Hit", "Alpha"), ("v2", "Hit", "Alpha"), ("a2", "Other", "Alpha"))
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["v1", "a2"]


def test_rank_order_is_kept() -> None:
    tracks = _ranked(*[(f"t{i}", f"song {i}", f"Artist {i % 4}") for i in range(12)])
    ranked = list(reversed(tracks.index))
    chosen = cap_per_artist(ranked, tracks, 100)
    assert chosen == [t for t in ranked if t in chosen]
    assert chosen == ranked[:8]


@pytest.mark.parametrize("n", [1, 3, 5])
def test_stops_at_n(n: int) -> None:
    tracks = _ranked(*[(f"t{i}", f"song {i}", f"Artist {i}") for i in range(10)])
    assert cap_per_artist(list(tracks.index), tracks, n) == [f"t{i}" for i in range(n)]


def test_fewer_than_n_when_the_cap_runs_out() -> None:
    tracks = _ranked(*[(f"t{i}", f"song {i}", "Alpha") for i in range(10)])
    assert len(cap_per_artist(list(tracks.index), tracks, 5)) == 2


def test_tracks_without_artists_are_not_capped() -> None:
    tracks = _ranked(*[(f"t{i}", f"song {i}", "") for i in range(4)])
    assert cap_per_artist(list(tracks.index), tracks, 10) == ["t0", "t1", "t2", "t3"]


def test_only_ranked_ids_are_considered() -> None:
    tracks = _ranked(*[(f"t{i}", f"song {i}", f"Artist {i}") for i in range(6)])
    assert cap_per_artist(["t4", "t1"], tracks, 10) == ["t4", "t1"]


def test_nothing_ranked_gives_nothing() -> None:
    assert cap_per_artist([], _ranked(("t", "s", "A")), 5) == []


def test_asking_for_none_gives_none() -> None:
    tracks = _ranked(("t0", "song", "Alpha"), ("t1", "song 2", "Beta"))
    assert cap_per_artist(list(tracks.index), tracks, 0) == []


def test_song_hashes_join_releases_of_one_song_and_nothing_else() -> None:
    tracks = pd.DataFrame(
        {
            "name": ["N95", "n95 ", "N95", "N95", "", None],
            "artists": [
                "Kendrick Lamar",
                "kendrick  lamar",
                "Someone Else",
                "Kendrick Lamar;SZA",
                "A",
                "A",
            ],
        }
    )
    h = song_hashes(tracks)
    assert h[0] == h[1]  # case and spacing don't make another song
    assert len({h[0], h[2]}) == 2  # another artist does
    assert h[3] == h[0]  # a guest artist doesn't (the primary artist names the song)
    assert h[4] == h[5] == NO_SONG  # an untitled row matches no song
    assert (song_hashes(tracks, chunk=2) == h).all()  # keyed in chunks, the same hashes
