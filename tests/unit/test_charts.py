"""The end-of-workout chart: a chat-sized PNG of HR over zone bands with track markers."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from bot.core.workout.chart import DPI, FIGSIZE_IN, ZONE_COLOURS, short_label, workout_chart_png
from recommender.heart import HeartProfile

PROFILE = HeartProfile(resting_hr=60, max_hr=180)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _workout() -> tuple[list[tuple[float, float]], list[tuple[float, str]]]:
    """Ten minutes of HR climbing from zone 2 to zone 4 and back, with four suggestions."""
    t = np.arange(0, 600, 1.0)
    hr = 100 + 50 * np.sin(np.pi * t / 600)
    samples = [(1000.0 + a, float(b)) for a, b in zip(t, hr, strict=True)]
    titles = ["Warm Up Song", "A Very Long Track Title (feat. Somebody) - Remix", "Sprint", "Cool"]
    suggestions = [(1000.0 + 150 * k, title) for k, title in enumerate(titles)]
    return samples, suggestions


def test_chart_is_a_png_of_chat_size(tmp_path: Path) -> None:
    samples, suggestions = _workout()
    path = workout_chart_png(samples, PROFILE, suggestions, tmp_path / "w.png")
    assert path == tmp_path / "w.png"
    assert _png_size(path) == (round(FIGSIZE_IN[0] * DPI), round(FIGSIZE_IN[1] * DPI))


def test_chart_shades_the_profile_zones(tmp_path: Path) -> None:
    import matplotlib.image

    samples, suggestions = _workout()
    image = matplotlib.image.imread(
        workout_chart_png(samples, PROFILE, suggestions, tmp_path / "z.png")
    )
    colours = np.unique(np.round(image[..., :3] * 255).astype(int).reshape(-1, 3), axis=0)
    for hex_colour in ZONE_COLOURS.values():
        # Each band is its zone colour at 35 % over white.
        rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
        band = np.round(0.35 * rgb + 0.65 * 255)
        assert (np.abs(colours - band).max(axis=1) <= 2).any(), hex_colour


def test_chart_without_samples_still_renders(tmp_path: Path) -> None:
    path = workout_chart_png([], HeartProfile(), [], tmp_path / "nested" / "empty.png")
    assert path.exists() and _png_size(path)[0] > 0


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("Sprint", "Sprint"),
        ("Exactly eighteen c", "Exactly eighteen c"),
        ("A Very Long Track Title (feat. Somebody)", "A Very Long Track…"),
        ("  spaced   out\ttitle ", "spaced out title"),
    ],
)
def test_short_label_cuts_long_titles(title: str, label: str) -> None:
    assert short_label(title) == label
    assert len(short_label(title)) <= 18
