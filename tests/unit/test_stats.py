"""/stats numbers and picture: the taste's features against the catalog, genre shares, the text,
and the PNG."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.app import Beatmatch
from bot.core.errors import NotFound
from bot.core.insight.stats import (
    FeatureLine,
    TasteStats,
    describe_stats,
    distinctive,
    feature_profile,
    genre_shares,
)
from bot.core.insight.stats_chart import taste_chart_png
from bot.core.replies import ChatUser
from tests.integration.telegram_rig import make_core
from tests.rig import settle

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ANN = ChatUser("telegram", "1001", "Ann")


def _tracks(energy: list[float], acoustic: list[float] | None = None) -> pd.DataFrame:
    n = len(energy)
    frame = pd.DataFrame(
        {
            "energy": energy,
            "acousticness": acoustic if acoustic is not None else [0.5] * n,
            "tempo": [120.0] * n,
        },
        index=[f"t{i}" for i in range(n)],
    )
    frame["danceability"] = np.nan  # unknown for every track: left out, not drawn as 0
    return frame


def test_the_users_median_is_placed_among_the_catalogs_values() -> None:
    catalog = _tracks([i / 100 for i in range(101)])
    mine = _tracks([0.85, 0.9, 0.95])
    energy = next(f for f in feature_profile(mine, catalog) if f.column == "energy")
    assert energy.user == pytest.approx(0.9)
    assert (energy.catalog_q1, energy.catalog_median, energy.catalog_q3) == pytest.approx(
        (0.25, 0.5, 0.75)
    )
    assert energy.percentile == pytest.approx(90.1, abs=0.5)


def test_features_nobody_knows_are_left_out() -> None:
    columns = {f.column for f in feature_profile(_tracks([0.5]), _tracks([0.1, 0.9]))}
    assert "danceability" not in columns and "valence" not in columns
    assert {"energy", "acousticness", "tempo"} <= columns


def test_genre_shares_split_multi_label_tracks_and_use_predictions_for_the_rest() -> None:
    labels = {"a": ["rock"], "b": ["rock", "metal"], "c": []}
    shares = genre_shares(["a", "b", "c", "d"], lambda t: labels.get(t, []), {"c": "jazz"})
    assert dict(shares) == pytest.approx({"rock": 1.5 / 3, "metal": 0.5 / 3, "jazz": 1 / 3})
    assert shares[0][0] == "rock"


def test_genre_shares_of_nothing_known_are_empty() -> None:
    assert genre_shares(["x"], lambda _: [], {}) == ()


def _line(column: str, percentile: float) -> FeatureLine:
    return FeatureLine(column, column, 0.0, 1.0, 0.5, 0.25, 0.5, 0.75, percentile)


def test_distinctive_names_the_features_furthest_from_the_middle() -> None:
    lines = [_line("energy", 92.0), _line("valence", 12.0), _line("liveness", 55.0)]
    assert distinctive(lines) == [
        "energy above 92% of the catalog",
        "valence below 88% of the catalog",
    ]


def _stats(**changes: object) -> TasteStats:
    base: dict[str, object] = {
        "tracks": 36,
        "sources": {"exportify": 36},
        "likes": 2,
        "dislikes": 1,
        "features": (_line("energy", 92.0), _line("acousticness", 20.0)),
        "genres": (("acoustic", 0.6), ("folk", 0.3), ("jazz", 0.1)),
        "classified": 12,
    }
    base.update(changes)
    return TasteStats(**base)  # type: ignore[arg-type]


def test_the_text_gives_counts_genres_and_what_stands_out() -> None:
    text = describe_stats(_stats())
    assert (
        "Taste from 36 tracks: 36 in your library (exportify 36), and the ones you liked." in text
    )
    assert "Feedback: 2 liked, 1 disliked." in text
    assert "Top genres: acoustic 60%, folk 30%, jazz 10%." in text
    assert "12 tracks had no catalog genre" in text
    assert "energy above 92% of the catalog" in text


def test_the_text_says_when_no_features_are_known() -> None:
    text = describe_stats(_stats(features=(), genres=(), classified=0, likes=0))
    assert "no catalog genre" not in text and "Top genres" not in text
    assert "None of your tracks has known audio features yet." in text


@pytest.mark.parametrize("empty", [False, True])
def test_the_picture_is_a_png(tmp_path: Path, empty: bool) -> None:
    stats = _stats(features=(), genres=()) if empty else _stats()
    path = taste_chart_png(stats, tmp_path / "charts" / "stats.png")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


# -- the /stats command over a real core -----------------------------------------------------------
@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Beatmatch]:
    core = make_core(tmp_path, tmp_path / "genre")
    yield core
    await settle(core)
    await core.shutdown()


async def test_stats_before_any_taste_says_how_to_start(app: Beatmatch) -> None:
    with pytest.raises(NotFound, match="/import"):
        await app.service.insight.stats(ANN)


async def test_stats_of_likes_alone_and_forget_deletes_the_picture(app: Beatmatch) -> None:
    service = app.service
    liked = [str(t) for t in service.catalog.tracks.index[:3]]
    for track_id in liked:
        await service.taste.feedback(ANN, track_id, 1)
    reply = await service.insight.stats(ANN)
    await settle(app)
    assert "Taste from 3 tracks: the ones you liked." in reply.text
    assert "Feedback: 3 liked, 0 disliked." in reply.text
    [chart] = reply.charts
    assert chart.path.read_bytes().startswith(PNG_MAGIC)
    # Catalog tracks carry labels: no classifier is needed (and none was ready here).
    assert not service.lookup.genres.ready and "classifier" not in reply.text
    await service.forget(ANN, "yes")
    assert not chart.path.exists()
