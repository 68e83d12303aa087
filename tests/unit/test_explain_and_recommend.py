"""Why-lines for picks, and ranking.select(): context, diversity, order and coherence."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from recommender.context import CONTEXT_FLOOR, Context
from recommender.explain import nearest_library_tracks, reasons, sound_matrix
from recommender.features import TasteProfile, track_artist_keys
from recommender.ranking import (
    Selection,
    combined_scores,
    percentile_ranks,
    select,
)
from recommender.tracks import normalise_tracks

NAN = float("nan")
SOUNDS = {
    # name: (danceability, energy, valence, acousticness, speechiness, instrumentalness, tempo, loudness)
    "club": (0.9, 0.9, 0.8, 0.05, 0.05, 0.0, 128.0, -4.0),
    "ballad": (0.3, 0.2, 0.2, 0.9, 0.03, 0.0, 72.0, -14.0),
    "ambient": (0.2, 0.1, 0.1, 0.8, 0.02, 0.95, 90.0, -25.0),
    "rap": (0.8, 0.6, 0.5, 0.1, 0.45, 0.0, 95.0, -6.0),
}
COLUMNS = (
    "danceability",
    "energy",
    "valence",
    "acousticness",
    "speechiness",
    "instrumentalness",
    "tempo",
    "loudness",
)


def _table(rows: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    """Track table from {track_id: (name, artists, sound)}, the sound picked from SOUNDS."""
    records = []
    for track_id, (name, artists, sound) in rows.items():
        values = dict(zip(COLUMNS, SOUNDS[sound], strict=True))
        records.append({"track_id": track_id, "name": name, "artists": artists, **values})
    frame = pd.DataFrame.from_records(records).set_index("track_id")
    return normalise_tracks(frame.assign(key=5.0, mode=1.0, time_signature=4.0))


LIBRARY = _table(
    {
        "l1": ("Warm Up", "Alpha", "club"),
        "l2": ("Night Drive", "Alpha;Beta", "rap"),
        "l3": ("Quiet Room", "Gamma", "ballad"),
        "l4": ("Deep Field", "Delta", "ambient"),
    }
)
PROFILE = TasteProfile.from_library(LIBRARY)


def _random_candidates(n: int, n_artists: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "name": [f"Song {i}" for i in range(n)],
            "artists": [f"Artist {i % n_artists}" for i in range(n)],
            "danceability": rng.uniform(0, 1, n),
            "energy": rng.uniform(0, 1, n),
            "valence": rng.uniform(0, 1, n),
            "acousticness": rng.uniform(0, 1, n),
            "speechiness": rng.uniform(0, 0.5, n),
            "instrumentalness": rng.uniform(0, 1, n),
            "tempo": rng.uniform(60, 190, n),
            "loudness": rng.uniform(-30, -2, n),
            "key": rng.integers(0, 12, n).astype(float),
            "mode": rng.integers(0, 2, n).astype(float),
            "time_signature": 4.0,
        },
        index=pd.Index([f"c{i:04d}" for i in range(n)], name="track_id"),
    )
    return normalise_tracks(frame)


CANDIDATES = _random_candidates(400, 80, seed=0)
TASTE = np.random.default_rng(1).uniform(0, 1, len(CANDIDATES))


def _per_artist(ids: list[str], tracks: pd.DataFrame) -> Counter[str]:
    counts: Counter[str] = Counter()
    for track_id in ids:
        counts.update(track_artist_keys(tracks.at[track_id, "artists"]))
    return counts


# ---------------------------------------------------------------- reasons: library artists


@pytest.mark.parametrize(
    ("artists", "reason"),
    [
        ("Alpha", "Alpha is on 2 tracks you like"),
        ("ALPHA", "ALPHA is on 2 tracks you like"),  # named as the candidate spells it
        ("Gamma", "Gamma is on 1 track you like"),
        ("Nobody;beta", "beta is on 1 track you like"),
        ("Gamma;Alpha", "Alpha is on 2 tracks you like"),  # the artist on most tracks
    ],
)
def test_reason_names_a_library_artist_and_how_many_tracks(artists: str, reason: str) -> None:
    picks = _table({"c": ("New One", artists, "ballad")})
    assert reasons(picks, LIBRARY, PROFILE, Context()) == [reason]


@pytest.mark.parametrize(
    ("sound", "name", "artist"),
    [
        ("club", "Warm Up", "Alpha"),
        ("rap", "Night Drive", "Alpha"),  # the first artist of the library track
        ("ballad", "Quiet Room", "Gamma"),
        ("ambient", "Deep Field", "Delta"),
    ],
)
def test_reason_names_the_library_track_it_sounds_like(sound: str, name: str, artist: str) -> None:
    picks = _table({"c": ("Stranger Song", "Stranger", sound)})
    expected = f"sounds like “{name}” by {artist} from your library"
    assert reasons(picks, LIBRARY, PROFILE, Context()) == [expected]


def test_without_a_library_the_reason_is_generic() -> None:
    picks = _table({"c": ("Stranger Song", "Stranger", "club")})
    [reason] = reasons(picks, LIBRARY.iloc[0:0], None, Context())
    assert reason == "popular and close to the middle of the catalog"


def test_without_a_profile_the_nearest_track_is_named() -> None:
    picks = _table({"c": ("Another", "Alpha", "ballad")})
    [reason] = reasons(picks, LIBRARY, None, Context())
    assert reason.startswith("sounds like “Quiet Room”")


def test_one_reason_per_pick_in_order() -> None:
    picks = _table(
        {
            "a": ("One", "Stranger", "ambient"),
            "b": ("Two", "Alpha", "club"),
            "c": ("Three", "Stranger 2", "club"),
        }
    )
    out = reasons(picks, LIBRARY, PROFILE, Context())
    assert out == [
        "sounds like “Deep Field” by Delta from your library",
        "Alpha is on 2 tracks you like",
        "sounds like “Warm Up” by Alpha from your library",
    ]


def test_reasons_for_no_picks() -> None:
    assert reasons(LIBRARY.iloc[0:0], LIBRARY, PROFILE, Context()) == []


# ---------------------------------------------------------------- reasons: the moment


def _reason(context: Context, **overrides: float) -> str:
    picks = _table({"c": ("X", "Alpha", "club")})
    for column, value in overrides.items():
        picks[column] = value
    [reason] = reasons(picks, LIBRARY, PROFILE, context)
    return reason


def test_reason_mentions_the_wanted_bpm_as_heard() -> None:
    assert _reason(Context(bpm=140), tempo=70.0).endswith("; 140 bpm for your 140")


def test_reason_mentions_the_mood_and_its_main_feature() -> None:
    reason = _reason(Context(mood="energetic"), energy=0.9)
    assert "fits “energetic” (energy 0.90)" in reason


def test_reason_mentions_the_mood_without_an_unknown_value() -> None:
    reason = _reason(Context(mood="calm"), energy=NAN)
    assert reason.endswith("; fits “calm”")


def test_reason_mentions_the_heart_rate_band_and_label() -> None:
    context = Context(tempo_band=(125, 135), energy=0.8, label="your heart rate 142 bpm (vigorous)")
    reason = _reason(context, tempo=65.0)
    assert reason.endswith("; 130 bpm in the 125–135 target for your heart rate 142 bpm (vigorous)")


def test_reason_mentions_the_energy_target_without_a_band() -> None:
    assert _reason(Context(energy=0.8), energy=0.75).endswith("; energy 0.75 for the target")


def test_reason_skips_bpm_when_the_tempo_is_unknown() -> None:
    assert "bpm" not in _reason(Context(bpm=128), tempo=NAN)


def test_empty_context_adds_nothing() -> None:
    assert _reason(Context()) == "Alpha is on 2 tracks you like"


# ---------------------------------------------------------------- sound matrix and nearest tracks


def test_sound_matrix_shape_and_no_nan() -> None:
    tracks = LIBRARY.copy()
    tracks.loc["l1", "energy"] = NAN
    tracks.loc["l2", "tempo"] = NAN
    matrix = sound_matrix(tracks)
    assert matrix.shape == (4, 8)
    assert not np.isnan(matrix).any()


def test_nearest_library_track_of_each_candidate() -> None:
    picks = _table(
        {
            "a": ("A", "X", "ambient"),
            "b": ("B", "X", "club"),
            "c": ("C", "X", "ballad"),
        }
    )
    assert nearest_library_tracks(picks, LIBRARY) == ["l4", "l1", "l3"]


def test_nearest_library_tracks_without_a_library() -> None:
    picks = _table({"a": ("A", "X", "ambient"), "b": ("B", "X", "club")})
    assert nearest_library_tracks(picks, LIBRARY.iloc[0:0]) == [None, None]


# ---------------------------------------------------------------- percentile ranks and scores


@pytest.mark.parametrize("seed", range(3))
def test_percentile_ranks_properties(seed: int) -> None:
    scores = np.random.default_rng(seed).normal(size=50)
    ranks = percentile_ranks(scores)
    assert ranks.shape == scores.shape
    assert ((ranks > 0) & (ranks <= 1)).all()
    assert ranks[np.argmax(scores)] == 1.0
    assert ranks[np.argmin(scores)] == pytest.approx(1 / 50)
    np.testing.assert_array_equal(np.argsort(ranks), np.argsort(scores))
    assert sorted(ranks) == pytest.approx(np.arange(1, 51) / 50)


def test_percentile_ranks_of_nothing() -> None:
    assert percentile_ranks(np.array([])).shape == (0,)


def test_percentile_ranks_ignore_the_scale() -> None:
    scores = np.array([0.1, 0.9, 0.5])
    np.testing.assert_array_equal(percentile_ranks(scores), percentile_ranks(scores * 1000 - 7))


def test_combined_scores_keep_taste_order_when_context_is_empty() -> None:
    combined = combined_scores(CANDIDATES, TASTE, Context())
    np.testing.assert_array_equal(np.argsort(combined), np.argsort(TASTE))
    np.testing.assert_array_equal(combined, percentile_ranks(TASTE))


@pytest.mark.parametrize("context", [Context(mood="calm"), Context(bpm=128), Context(energy=0.9)])
def test_a_context_scores_in_zero_one_and_keeps_a_floor_of_taste(context: Context) -> None:
    pct = percentile_ranks(TASTE)
    combined = combined_scores(CANDIDATES, TASTE, context)
    assert ((combined >= 0) & (combined <= 1)).all()
    assert (combined >= 0.5 * CONTEXT_FLOOR * pct - 1e-12).all()


@pytest.mark.parametrize("context", [Context(mood="energetic"), Context(bpm=128)])
def test_a_mood_never_trades_taste_for_fit(context: Context) -> None:
    """An all-rap library asking for energy gets its best-liked energetic rap, not the club
    tracks its taste model rates poorly however well they fit the mood."""
    n = 2000
    rng = np.random.default_rng(7)
    liked = np.arange(n) < 400  # what the taste model rates well: rap
    rap, club = SOUNDS["rap"], SOUNDS["club"]
    tracks = pd.DataFrame(
        {column: np.where(liked, rap[j], club[j]) for j, column in enumerate(COLUMNS)}
        | {
            "name": [f"song {i}" for i in range(n)],
            "artists": [f"{'rapper' if liked[i] else 'dj'} {i % 300}" for i in range(n)],
            "energy": np.where(liked, rng.uniform(0.55, 0.8, n), 0.9),
            "tempo": np.where(liked, rng.uniform(85, 100, n), 130.0),
        },
        index=pd.Index([f"t{i:04d}" for i in range(n)], name="track_id"),
    )
    tracks = normalise_tracks(tracks.assign(key=5.0, mode=1.0, time_signature=4.0))
    taste = np.where(liked, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.55, n))
    picks = select(tracks, taste, 10, library=LIBRARY, profile=None, context=context).picks
    assert all(p.track_id in set(tracks.index[liked]) for p in picks)
    # … and among the liked ones, the mood still chooses: the most energetic of them come first.
    energy = tracks.loc[[p.track_id for p in picks], "energy"]
    assert energy.mean() > tracks.loc[liked, "energy"].mean()


def test_a_context_lifts_fitting_tracks() -> None:
    tracks = CANDIDATES.iloc[:2].copy()
    tracks["tempo"] = [128.0, 100.0]
    combined = combined_scores(tracks, np.array([0.5, 0.5001]), Context(bpm=128))
    assert combined[0] > combined[1]


# ---------------------------------------------------------------- select


@pytest.mark.parametrize("n", [1, 3, 10, 25])
def test_select_returns_n_picks(n: int) -> None:
    selection = select(CANDIDATES, TASTE, n, library=LIBRARY, profile=PROFILE)
    assert isinstance(selection, Selection)
    assert len(selection.picks) == n
    ids = [p.track_id for p in selection.picks]
    assert len(set(ids)) == n
    assert set(ids) <= set(CANDIDATES.index)


def test_select_picks_nothing_from_outside_the_candidates() -> None:
    library_like = CANDIDATES.iloc[:50]  # the caller excluded these
    candidates = CANDIDATES.iloc[50:]
    selection = select(candidates, TASTE[50:], 20, library=library_like, profile=None)
    assert not {p.track_id for p in selection.picks} & set(library_like.index)


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_select_keeps_the_per_artist_cap(cap: int) -> None:
    candidates = _random_candidates(300, 6, seed=2)  # 6 artists only
    taste = np.random.default_rng(3).uniform(size=300)
    selection = select(candidates, taste, 30, library=LIBRARY, profile=PROFILE, max_per_artist=cap)
    counts = _per_artist([p.track_id for p in selection.picks], candidates)
    assert max(counts.values()) <= cap
    assert len(selection.picks) == 6 * cap


def test_select_takes_the_best_tracks_when_artists_do_not_collide() -> None:
    candidates = _random_candidates(100, 100, seed=4)
    taste = np.random.default_rng(5).uniform(size=100)
    selection = select(candidates, taste, 10, library=LIBRARY, profile=PROFILE)
    best = set(candidates.index[np.argsort(-taste)[:10]])
    assert {p.track_id for p in selection.picks} == best


def test_pick_scores_are_the_combined_scores() -> None:
    context = Context(mood="party")
    selection = select(CANDIDATES, TASTE, 8, library=LIBRARY, profile=PROFILE, context=context)
    combined = pd.Series(combined_scores(CANDIDATES, TASTE, context), index=CANDIDATES.index)
    for pick in selection.picks:
        assert pick.score == pytest.approx(combined[pick.track_id])
        assert pick.reason


def test_a_context_changes_what_is_picked() -> None:
    plain = select(CANDIDATES, TASTE, 10, library=LIBRARY, profile=PROFILE)
    calm = select(
        CANDIDATES, TASTE, 10, library=LIBRARY, profile=PROFILE, context=Context(mood="calm")
    )
    energy = CANDIDATES["energy"]
    assert (
        energy[[p.track_id for p in calm.picks]].mean()
        < energy[[p.track_id for p in plain.picks]].mean()
    )


@pytest.mark.parametrize(("n", "reported"), [(1, False), (2, False), (3, True), (12, True)])
def test_coherence_is_reported_for_three_picks_or_more(n: int, reported: bool) -> None:
    selection = select(CANDIDATES, TASTE, n, library=LIBRARY, profile=PROFILE)
    if reported:
        assert isinstance(selection.coherence, float)
        assert selection.coherence <= 1.0
    else:
        assert selection.coherence is None


def test_picks_are_ordered_for_smooth_transitions() -> None:
    from recommender.sequencing import order_playlist

    selection = select(CANDIDATES, TASTE, 12, library=LIBRARY, profile=PROFILE)
    ids = [p.track_id for p in selection.picks]
    assert ids == order_playlist(CANDIDATES.loc[ids])


def test_select_is_deterministic() -> None:
    a = select(CANDIDATES, TASTE, 10, library=LIBRARY, profile=PROFILE, seed=3)
    b = select(CANDIDATES, TASTE, 10, library=LIBRARY, profile=PROFILE, seed=3)
    assert a == b


@pytest.mark.parametrize("n", [0, -1])
def test_select_nothing(n: int) -> None:
    assert select(CANDIDATES, TASTE, n, library=LIBRARY, profile=PROFILE) == Selection([], None)


def test_select_from_no_candidates() -> None:
    selection = select(CANDIDATES.iloc[0:0], np.zeros(0), 5, library=LIBRARY, profile=PROFILE)
    assert selection == Selection([], None)


def test_select_more_than_there_are() -> None:
    candidates = _random_candidates(7, 7, seed=6)
    selection = select(candidates, np.arange(7.0), 20, library=LIBRARY, profile=PROFILE)
    assert sorted(p.track_id for p in selection.picks) == sorted(candidates.index)


def test_select_looks_past_a_shortlist_full_of_one_artist() -> None:
    # The 400 best-liked tracks are all by two favourite artists; 100 others are by distinct ones.
    candidates = _random_candidates(500, 500, seed=7)
    candidates.loc[candidates.index[:400], "artists"] = ["Fav A", "Fav B"] * 200
    taste = np.r_[np.linspace(1.0, 0.6, 400), np.linspace(0.5, 0.0, 100)]
    selection = select(candidates, taste, 10, library=LIBRARY, profile=PROFILE)
    assert len(selection.picks) == 10


# ---------------------------------------------------------------- reasons: varied and true


def _club_library(size: int = 10) -> pd.DataFrame:
    """``size`` club tracks by Alpha, released 2018–2020."""
    library = _table({f"k{i}": (f"Club {i}", "Alpha", "club") for i in range(size)})
    return library.assign(release_year=[2018.0 + i % 3 for i in range(size)])


def test_a_list_by_one_kept_artist_gives_varied_true_reasons() -> None:
    library = _club_library()
    profile = TasteProfile.from_library(library)
    picks = _table({f"p{i}": (f"New {i}", "Alpha", "club") for i in range(4)})
    picks = picks.assign(release_year=2019.0)
    out = reasons(picks, library, profile, Context())
    assert out[0] == "Alpha is on 10 tracks you like"  # the strongest reason comes first
    assert len(set(out)) >= 3  # not the same sentence for every track
    tempo = float(picks["tempo"].iloc[0])
    for line in out:
        assert line in {
            "Alpha is on 10 tracks you like",
            "sounds like “Club 0” by Alpha from your library",
            "from 2019, the era most of your library is from (2018–2020)",
            f"{tempo:.0f} bpm, the tempo your library moves at most",
        } or line.endswith("like most of what you save"), line


def test_an_era_is_only_claimed_when_the_track_is_from_it() -> None:
    library = _club_library()
    picks = _table({f"p{i}": (f"New {i}", "Zeta", "ambient") for i in range(3)})
    out = reasons(picks.assign(release_year=1975.0), library, None, Context())
    assert not any("era" in line for line in out)
    assert not any("bpm, the tempo" in line for line in out)  # an ambient tempo is not club's
