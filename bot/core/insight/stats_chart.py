"""The /stats picture: the taste's sound against the catalog, its top genres, and feedback counts.

Rendered with matplotlib's Agg backend on a bare Figure (no pyplot state, so it is safe in worker
threads) into a PNG sized for a chat message. matplotlib is imported inside the function so that
importing ``bot.core`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.insight.stats import TasteStats

FIGSIZE_IN = (11.0, 5.5)
DPI = 100
USER_COLOUR = "#1db954"  # Spotify green: the listener
CATALOG_COLOUR = "#9e9e9e"
GENRE_COLOUR = "#3f7fbf"
FEEDBACK_COLOURS = ("#6a51a3", "#2ca25f", "#de2d26")


def _scaled(value: float, low: float, high: float) -> float:
    """``value`` placed on a 0–1 axis between ``low`` and ``high`` (clipped)."""
    return min(1.0, max(0.0, (value - low) / (high - low)))


def taste_chart_png(stats: TasteStats, path: Path) -> Path:
    """Draw the three panels of /stats and write a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI)
    grid = fig.add_gridspec(2, 2, width_ratios=(1.35, 1.0), height_ratios=(1.6, 1.0))
    sound = fig.add_subplot(grid[:, 0])
    genres = fig.add_subplot(grid[0, 1])
    feedback = fig.add_subplot(grid[1, 1])

    lines = list(reversed(stats.features))  # first feature on top
    for y, line in enumerate(lines):
        q1 = _scaled(line.catalog_q1, line.low, line.high)
        q3 = _scaled(line.catalog_q3, line.low, line.high)
        mid = _scaled(line.catalog_median, line.low, line.high)
        sound.barh(y, q3 - q1, left=q1, height=0.5, color=CATALOG_COLOUR, alpha=0.45)
        sound.plot([mid, mid], [y - 0.25, y + 0.25], color="#616161", linewidth=1.5)
        sound.plot(_scaled(line.user, line.low, line.high), y, "o", color=USER_COLOUR, ms=9)
        sound.text(1.05, y, f"{line.percentile:.0f}%", va="center", fontsize=8, color="#333333")
    if lines:
        sound.text(1.05, len(lines) - 0.45, "percentile", fontsize=7, color="#616161")
    sound.set_yticks(range(len(lines)), [line.label for line in lines], fontsize=9)
    sound.set_xlim(-0.03, 1.03)  # room for a dot at either end
    sound.set_ylim(-0.7, max(len(lines), 1) - 0.3)
    sound.set_xlabel("low  →  high")
    sound.set_xticks([])
    sound.set_title(
        "Your sound (dot) against the catalog (middle half, median)", fontsize=10, loc="left"
    )
    if not lines:
        sound.text(0.5, 0.5, "no audio features known yet", ha="center", va="center")

    names = [name for name, _ in reversed(stats.genres)]
    shares = [share * 100.0 for _, share in reversed(stats.genres)]
    if names:
        genres.barh(range(len(names)), shares, color=GENRE_COLOUR)
        genres.set_yticks(range(len(names)), names, fontsize=9)
        genres.set_xlabel("% of your tracks")
    else:
        genres.text(0.5, 0.5, "no genres known yet", ha="center", va="center")
        genres.set_yticks([])
    genres.set_title("Top genres", fontsize=10, loc="left")

    labels = ("tracks", "liked", "disliked")
    counts = (stats.tracks, stats.likes, stats.dislikes)
    bars = feedback.bar(labels, counts, color=FEEDBACK_COLOURS)
    feedback.bar_label(bars, fontsize=9)
    feedback.set_ylim(0, max(counts) * 1.25 + 1)
    feedback.set_title("Library and feedback", fontsize=10, loc="left")

    fig.suptitle(f"Your taste — {stats.tracks} tracks", fontsize=12, x=0.01, ha="left")
    fig.subplots_adjust(left=0.15, right=0.97, top=0.88, bottom=0.1, wspace=0.45, hspace=0.55)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
