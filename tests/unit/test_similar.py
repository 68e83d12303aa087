"""/similar's ranking: nearest in sound within the seed's genre distribution, not one label."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.similar import genre_affinity, seed_distribution, similar_tracks
from recommender.tracks import normalise_tracks

#: (danceability, energy, valence, acousticness, speechiness, instrumentalness, tempo, loudness)
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
RAP = (0.8, 0.65, 0.5, 0.1, 0.35, 0.0, 92.0, -6.0)
#: Hardcore punk and filmi ballads a little nearer the seed in sound than most rap is.
NEAR = {
    "hardcore": (0.78, 0.68, 0.5, 0.1, 0.33, 0.0, 92.0, -5.8),
    "bollywood": (0.8, 0.62, 0.52, 0.12, 0.33, 0.0, 92.0, -6.0),
}


def _catalog(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """120 rap tracks scattered around RAP, 60 each of hardcore and bollywood tightly around the
    seed's tempo: by sound alone, /similar of a rap seed would list them first."""
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for genre, count, centre, spread in (
        ("hip-hop", 120, RAP, 0.15),
        ("hardcore", 60, NEAR["hardcore"], 0.01),
        ("bollywood", 60, NEAR["bollywood"], 0.01),
    ):
        for i in range(count):
            values = np.asarray(centre) * (1 + rng.normal(0, spread, len(centre)))
            track_id = f"{genre}-{i}"
            records.append(
                {
                    "track_id": track_id,
                    "name": f"{genre} song {i}",
                    "artists": f"{genre} artist {i}",
                    **dict(zip(COLUMNS, values, strict=True)),
                }
            )
            labels.append({"track_id": track_id, "genre": genre})
    frame = pd.DataFrame.from_records(records).set_index("track_id")
    tracks = normalise_tracks(frame.assign(key=5.0, mode=1.0, time_signature=4.0))
    return tracks, pd.DataFrame.from_records(labels)


def _seed() -> pd.DataFrame:
    frame = pd.DataFrame([dict(zip(COLUMNS, RAP, strict=True)) | {"name": "Ether"}], index=["s"])
    return normalise_tracks(frame.assign(artists="Nas", key=5.0, mode=1.0, time_signature=4.0))


def test_a_hip_hop_seed_stays_in_hip_hop() -> None:
    """Classified 55 % hip-hop, 30 % hardcore: its sound-alikes are rap, not hardcore punk."""
    tracks, labels = _catalog()
    distribution = {"hip-hop": 0.55, "hardcore": 0.30, "bollywood": 0.08, "pop": 0.07}
    picks = similar_tracks(tracks, labels, _seed(), distribution, 10)
    assert len(picks) == 10
    assert sum(p.startswith("hip-hop") for p in picks) >= 9


def test_sound_still_orders_within_the_genre() -> None:
    tracks, labels = _catalog()
    picks = similar_tracks(tracks, labels, _seed(), {"hip-hop": 1.0}, 5)
    rap = tracks[tracks.index.str.startswith("hip-hop")]
    from recommender.explain import sound_matrix

    distance = ((sound_matrix(rap) - sound_matrix(_seed())[0]) ** 2).sum(axis=1)
    assert set(picks) == set(rap.index[np.argsort(distance)[:5]])


def test_without_a_distribution_sound_alone_decides() -> None:
    tracks, labels = _catalog()
    picks = similar_tracks(tracks, labels, _seed(), {}, 10)
    assert sum(not p.startswith("hip-hop") for p in picks) >= 5


def test_affinity_is_relative_to_the_seeds_main_genre() -> None:
    labels = pd.DataFrame({"track_id": ["a", "b", "b", "c"], "genre": ["rap", "pop", "rap", "x"]})
    affinity = genre_affinity(pd.Index(["a", "b", "c", "d"]), labels, {"rap": 0.6, "pop": 0.3})
    np.testing.assert_allclose(affinity, [1.0, 1.0, 0.0, 0.0])


def test_catalog_labels_make_an_even_distribution() -> None:
    assert seed_distribution(["pop", "dance"]) == {"pop": 0.5, "dance": 0.5}
    assert seed_distribution([], [("pop", 0.6), ("k-pop", 0.2)]) == {"pop": 0.6, "k-pop": 0.2}
    assert seed_distribution([]) == {}
