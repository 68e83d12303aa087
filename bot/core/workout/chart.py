"""The end-of-workout chart: heart rate over time on shaded zone bands, with the tracks suggested.

Rendered with matplotlib's Agg backend into a PNG sized for a chat message (10 × 4.5 in, 110 dpi).
matplotlib is imported inside the function so that importing ``bot.core`` stays cheap. The PNG
carries its headline (``Title``) and the tracks it marks (``Description``, one "m:ss title" a
line) as text chunks, so what the chart says can be read back without looking at it.
"""

from __future__ import annotations

from pathlib import Path

from recommender.heart import DEFAULT_AGE, DEFAULT_RESTING_HR, ZONE_NAMES, HeartProfile

FIGSIZE_IN = (10.0, 4.5)
DPI = 110
LABEL_CHARS = 18
#: Light to hot, so the bands read as effort without a legend.
ZONE_COLOURS: dict[int, str] = {
    1: "#9ecae1",
    2: "#a1d99b",
    3: "#fdd49e",
    4: "#fc8d59",
    5: "#d7301f",
}


def short_label(title: str, limit: int = LABEL_CHARS) -> str:
    """``title`` cut to ``limit`` characters with an ellipsis, so markers don't collide."""
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def workout_chart_png(
    samples: list[tuple[float, float]],
    profile: HeartProfile,
    suggestions: list[tuple[float, str]],
    path: Path,
    average_and_peak: tuple[float, float] | None = None,
) -> Path:
    """Draw HR against minutes over zone bands with suggestion markers; write a PNG to ``path``.

    ``average_and_peak``: the headline's bpm figures (the workout summary's, so chart and text
    agree); by default they are worked out from ``samples``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # A bare Figure (not pyplot) keeps no global state, so charts can render in worker threads.
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI)
    ax = fig.add_subplot()
    starts = [t for t, _ in samples] + [t for t, _ in suggestions]
    t0 = min(starts) if starts else 0.0
    minutes = [(t - t0) / 60.0 for t, _ in samples]
    rates = [hr for _, hr in samples]

    bounds = profile.zone_bounds()
    low = min([*rates, bounds[0][2]]) - 8.0
    high = max([*rates, bounds[-1][1]]) + 8.0
    for zone, lo, hi in bounds:
        # Zone 1 has no floor and zone 5 no ceiling worth drawing: stretch them to the axes.
        lo = low if zone == 1 else lo
        hi = high if zone == 5 else hi
        ax.axhspan(lo, hi, color=ZONE_COLOURS[zone], alpha=0.35, linewidth=0)
        ax.text(
            1.005,
            (max(lo, low) + min(hi, high)) / 2.0,
            f"Z{zone} {ZONE_NAMES[zone]}",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=8,
            color="#333333",
        )

    if samples:
        ax.plot(minutes, rates, color="#b30000", linewidth=1.4, label="heart rate")
    else:
        ax.text(0.5, 0.5, "no heart-rate data", transform=ax.transAxes, ha="center", va="center")

    span = max([*minutes, *((t - t0) / 60.0 for t, _ in suggestions), 1.0])
    last_label = float("-inf")
    for t, title in sorted(suggestions, key=_time):
        x = (t - t0) / 60.0
        ax.axvline(x, color="#444444", linewidth=0.8, linestyle=":", alpha=0.8)
        # Labels closer than 1/45 of the width would overprint; the marker alone still shows.
        if x - last_label < span / 45.0:
            continue
        last_label = x
        ax.text(
            x,
            0.98,
            short_label(title),
            transform=ax.get_xaxis_transform(),
            rotation=90,
            va="top",
            ha="left",
            fontsize=7.5,
            color="#222222",
            zorder=5,
            # A pale box keeps the title legible where the HR line runs through it.
            bbox={
                "boxstyle": "square,pad=0.15",
                "facecolor": "white",
                "alpha": 0.7,
                "linewidth": 0,
            },
        )

    ax.set_xlim(0.0, span)
    ax.set_ylim(low, high)
    ax.set_xlabel("minutes")
    ax.set_ylabel("heart rate (bpm)")
    ax.grid(axis="x", alpha=0.25)
    if average_and_peak is None and rates:
        average_and_peak = (sum(rates) / len(rates), max(rates))
    title = _title(average_and_peak, profile)
    ax.set_title(title, fontsize=10, loc="left")
    fig.subplots_adjust(left=0.07, right=0.86, top=0.91, bottom=0.12)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    marks = "\n".join(
        f"{int(t - t0) // 60}:{int(t - t0) % 60:02d} {title}"
        for t, title in sorted(suggestions, key=_time)
    )
    fig.savefig(path, format="png", metadata={"Title": title, "Description": marks})
    return path


def _title(average_and_peak: tuple[float, float] | None, profile: HeartProfile) -> str:
    """Headline: average and peak HR, and which defaults the zones assume."""
    parts = ["Workout"]
    if average_and_peak is not None:
        average, peak = average_and_peak
        parts.append(f"avg {average:.0f} bpm, max {peak:.0f} bpm")
    defaults = profile.defaults_in_use()
    if defaults:
        names = {"age": f"age {DEFAULT_AGE}", "resting_hr": f"resting HR {DEFAULT_RESTING_HR}"}
        parts.append("zones assume " + " and ".join(names.get(d, d) for d in defaults))
    return " — ".join(parts)


def _time(mark: tuple[float, str]) -> float:
    """A marker's time: tracks shown together keep the order they were shown in."""
    return mark[0]
