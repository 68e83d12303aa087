"""A listener with no library and no link starts in the real console: /recommend invites them,
/start takes the songs and artists they love and offers a short list to rate, and /recommend then
answers with a first guess from those seeds and ratings; /forget erases the seeds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.database import DATABASE_FILE
from tests.conftest import tiny_catalog_rows, write_catalog
from tests.e2e.test_console import Session, assert_clean, numbered_tracks, run_console

SEEDS = "Metal Artist 1, metal artist 2, Metal Song 3 - Metal Artist 3"


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> Session:
    tmp = tmp_path_factory.mktemp("cold")
    path = write_catalog(tmp / "tiny.csv", tiny_catalog_rows())
    return run_console(
        tmp,
        [
            "/recommend",
            "/start Metal Artist 1, Nobody At All",
            "/start Metal Artist 1, Nobody At All, Nor Anyone",
            f"/start {SEEDS}",
            "/like 1",
            "/dislike 2",
            "/recommend 5",
            "/help start",
            "/forget yes",
            "/recommend",
            "/quit",
        ],
        BEATMATCH_CATALOG_PATH=str(path),
    )


def test_a_new_listener_is_invited_to_name_what_they_love(cold: Session) -> None:
    assert_clean(cold)
    invite = cold.reply_to("/recommend")
    assert "3–5 songs or artists" in invite and "/start" in invite and "/import" in invite
    assert not numbered_tracks(invite)


def test_too_few_or_unknown_seeds_are_explained(cold: Session) -> None:
    assert "Name 3 to 5 songs or artists" in cold.reply_to("/start Metal Artist 1, Nobody At All")
    unknown = cold.reply_to("/start Metal Artist 1, Nobody At All, Nor Anyone")
    assert "couldn't find “Nobody At All”, “Nor Anyone”" in unknown


def test_start_offers_a_short_list_to_rate_from_the_seeds(cold: Session) -> None:
    reply = cold.reply_to(f"/start {SEEDS}")
    assert "Got it: Metal Artist 1, Metal Artist 2, “Metal Song 3” by Metal Artist 3." in reply
    assert "from your library" not in reply  # they have none
    tracks = numbered_tracks(reply)
    assert len(tracks) == 8
    metal = [t for t in tracks if "Metal" in t[0]]
    # One a performer: the metal artists not exhausted by the seeds, then what sounds like them.
    assert len(metal) >= 3, tracks
    assert not any("Acoustic" in t[0] or "Ambient" in t[0] for t in tracks[:3]), tracks
    liked = cold.reply_to("/like 1")
    # No library: the rating feeds the first guess at once, no training is queued for nothing.
    assert "Noted: you liked" in liked and "Your first guess takes it into account now" in liked
    assert "/import" in liked


def test_recommend_then_answers_with_a_labelled_first_guess(cold: Session) -> None:
    reply = cold.reply_to("/recommend 5")
    tracks = numbered_tracks(reply)
    assert len(tracks) == 5
    assert sum("Metal" in t[0] for t in tracks) >= 3, tracks
    assert "first guess from the 3 songs and artists you named" in reply
    start = cold.reply_to(f"/start {SEEDS}")
    rated = [t[0].split(". ", 1)[1] for t in numbered_tracks(start)[:2]]
    assert not any(r in t[0] for r in rated for t in tracks)  # what was rated is not offered


def test_help_explains_start_and_forget_erases_the_seeds(cold: Session) -> None:
    assert "3–5 songs or artists" in cold.reply_to("/help start")
    assert "Done: I erased" in cold.reply_to("/forget yes")
    assert "3–5 songs or artists" in cold.blocks()[-2][1]  # invited again after /forget
    db = sqlite3.connect(Path(cold.data_dir) / DATABASE_FILE)
    assert db.execute("select count(*) from seeds").fetchone() == (0,)


DEMO_SEEDS = (
    "Hollow Avenue - Doctor Tundra (Pop 19), Faded Static - Little Cobalt (Rock 11), "
    "Golden Heart - DJ Sable (Hip-Hop 2)"
)


def test_in_the_demo_songs_named_are_found_in_the_demo_catalog(tmp_path: Path) -> None:
    """With no catalog imported, /start searches the demo catalog the console recommends from."""
    demo = run_console(tmp_path, [f"/start {DEMO_SEEDS}", "/quit"])
    assert_clean(demo)
    reply = demo.reply_to(f"/start {DEMO_SEEDS}")
    assert (
        "Got it: “Hollow Avenue” by Doctor Tundra (Pop 19), “Faded Static” by Little Cobalt"
        in reply
    )
    assert len(numbered_tracks(reply)) == 8
