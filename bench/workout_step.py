"""Cost of one heart-rate sample: 1,000 workout sessions × 60 samples through ``add_sample``.

Prints the mean and p95 time per call and the share of one core that 1,000 sessions at 1 Hz would
use (budget: ≤ 50 %). Heart rates are generated up front so only the state machine is timed.
Run: ``.venv/bin/python bench/workout_step.py [--sessions N] [--samples M]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bot.core.workout.session import WorkoutSession
from recommender.heart import HeartProfile

BUDGET_SHARE = 0.5


def synthetic_rates(sessions: int, samples: int, seed: int = 0) -> np.ndarray:
    """Random-walk heart rates crossing zone boundaries, shape (samples, sessions)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(70.0, 160.0, sessions)
    walk = np.cumsum(rng.normal(0.0, 2.0, (samples, sessions)), axis=0)
    return np.clip(start + walk + rng.normal(0.0, 1.5, (samples, sessions)), 40.0, 200.0)


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()

    profile = HeartProfile(age=35, resting_hr=58)
    sessions = [
        WorkoutSession(profile, goal_zone=3 if k % 2 else None, cadence=None, started_at=0.0)
        for k in range(args.sessions)
    ]
    rates = synthetic_rates(args.sessions, args.samples).tolist()
    costs = np.empty(args.sessions * args.samples)
    decision = np.empty_like(costs)
    events = 0
    i = 0
    clock = time.perf_counter_ns
    # Interleave sessions second by second, as the live process sees them.
    for step in range(args.samples):
        t = float(step + 1)
        row = rates[step]
        for session, hr in zip(sessions, row, strict=True):
            begin = clock()
            found = session.add_sample(t, hr)
            middle = clock()
            session.target()  # the decision the sample feeds; cached until the zone changes
            decision[i] = clock() - begin
            costs[i] = middle - begin
            events += len(found)
            i += 1

    mean_us = costs.mean() / 1000.0
    p95_us = float(np.percentile(costs, 95)) / 1000.0
    share = costs.mean() * 1e-9 * args.sessions  # seconds of CPU per second of wall time at 1 Hz
    print(f"sessions={args.sessions} samples/session={args.samples} events={events}")
    print(f"add_sample: mean {mean_us:.2f} µs, p95 {p95_us:.2f} µs per sample")
    print(
        f"add_sample + target(): mean {decision.mean() / 1000.0:.2f} µs, "
        f"p95 {float(np.percentile(decision, 95)) / 1000.0:.2f} µs"
    )
    print(
        f"{args.sessions} sessions at 1 Hz: {share:.2%} of one core "
        f"(budget {BUDGET_SHARE:.0%}, ratio {share / BUDGET_SHARE:.4f})"
    )


if __name__ == "__main__":
    main()
