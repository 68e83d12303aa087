"""Thousands of hostile inputs through the command dispatcher: 0 internal errors and 0 hangs wanted.

    .venv/bin/python bench/fuzz.py [--examples 5000] [--typed 1000] [--seed 0] [--timeout 10]

The same world and inputs as tests/integration/test_dispatch_fuzz.py (tests/fuzz_world.py,
tests/fuzz_inputs.py), at scale: the real app over a temporary directory with the demo catalog,
the fake Spotify and Pulsoid on loopback, no cooldowns. ``--examples`` typed lines go through
``handle_text`` (the console's and Telegram's way in), ``--typed`` calls with typed options through
``run_typed`` (Discord's), from users of every front. Every command and option of the registry,
with unicode, control characters, huge and negative numbers, long words, paths of every kind.

Prints the inputs run, per command; the internal errors (the apology, or an error logged), hangs
(no answer within ``--timeout`` seconds) and unsendable replies, each with the input that caused
it and a shrunk one; the slowest inputs and the total time. Exits 1 if anything went wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.replies import ChatUser  # noqa: E402
from tests.fuzz_inputs import aimed_at, command_lines, typed_calls  # noqa: E402
from tests.fuzz_world import USERS, FuzzWorld, Outcome  # noqa: E402

SHRINK_TRIALS = 80  # at most this many inputs tried to shrink one failure (5 for a hang)
SHOWN_SLOWEST = 5


@dataclass
class Tally:
    """What the run saw."""

    inputs: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # answered with a user error
    failures: dict[str, list[Outcome]] = field(default_factory=dict)  # by signature
    slowest: list[Outcome] = field(default_factory=list)

    def record(self, outcome: Outcome, command: str) -> None:
        """Count one answered input."""
        self.inputs[command] += 1
        if outcome.reply is not None and outcome.reply.error:
            self.refused[command] += 1
        if not outcome.ok:
            self.failures.setdefault(outcome.signature, []).append(outcome)
        self.slowest = sorted([*self.slowest, outcome], key=lambda o: -o.seconds)[:SHOWN_SLOWEST]

    def count(self, problem: str) -> int:
        """How many inputs ended in ``problem``."""
        return sum(len(v) for v in self.failures.values() if v[0].problem == problem)


def fuzz_settings(
    examples: int, rng_seed: int
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Generation only (a failure is recorded, not raised, so every input is run), seeded."""

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        configured = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(rng_seed)(configured)

    return apply


def smaller_lines(text: str) -> Iterator[str]:
    """Candidates a little simpler than ``text``: a word left out, a long word halved, the line
    without its outer whitespace or with single spaces."""
    words = text.split(" ")
    for i in range(len(words) - 1, 0, -1):
        yield " ".join(words[:i] + words[i + 1 :])
    for i, word in enumerate(words):
        if len(word) > 8:
            yield " ".join([*words[:i], word[: len(word) // 2], *words[i + 1 :]])
    if text.strip() != text:
        yield text.strip()
    if " ".join(text.split()) != text.strip():
        yield " ".join(text.split())


async def shrink(
    first: Outcome,
    candidates: Callable[[str], Iterator[str]],
    send: Callable[[str], Awaitable[Outcome]],
) -> str:
    """The simplest input found that still fails the way ``first`` did (greedy)."""
    best = first.sent
    budget = 5 if first.problem == "hang" else SHRINK_TRIALS
    improved = True
    while improved and budget > 0:
        improved = False
        for candidate in candidates(best):
            budget -= 1
            if (await send(candidate)).signature == first.signature:
                best, improved = candidate, True
                break
            if budget <= 0:
                break
    return best


def drive(runner: asyncio.Runner, world: FuzzWorld, args: argparse.Namespace, tally: Tally) -> None:
    """Run the typed lines, then the typed options, recording every outcome."""

    @fuzz_settings(args.examples, args.seed)
    @given(user=st.sampled_from(USERS), text=command_lines())
    def lines(user: ChatUser, text: str) -> None:
        tally.record(runner.run(world.send(user, text)), aimed_at(text))

    @fuzz_settings(args.typed, args.seed)
    @given(user=st.sampled_from(USERS), call=typed_calls("discord"))
    def typed(user: ChatUser, call: tuple[str, dict[str, object]]) -> None:
        name, options = call
        tally.record(runner.run(world.send_typed(user, name, options)), f"{name} (typed)")

    if args.examples:
        lines()
    if args.typed:
        typed()


def report(tally: Tally, shrunk: dict[str, str], seconds: float, args: argparse.Namespace) -> None:
    """Print the figures."""
    total = sum(tally.inputs.values())
    typed = sum(n for c, n in tally.inputs.items() if c.endswith("(typed)"))
    print(f"dispatcher fuzz, seed {args.seed}, timeout {args.timeout:.0f} s per input")
    print(
        f"inputs run:           {total:,} ({total - typed:,} typed lines, {typed:,} typed options)"
    )
    print("per command:               inputs   refused (the user was told what was wrong)")
    for command, count in sorted(tally.inputs.items()):
        print(f"  {command:<24} {count:>6,}   {tally.refused[command]:>6,}")
    print(f"internal errors:      {tally.count('internal error')}")
    print(f"hangs (> {args.timeout:.0f} s):       {tally.count('hang')}")
    print(f"unsendable replies:   {tally.count('unsendable reply')}")
    print("slowest inputs:")
    for outcome in tally.slowest:
        shown = outcome.sent if len(outcome.sent) <= 70 else outcome.sent[:67] + "…"
        print(f"  {outcome.seconds:6.2f} s  {outcome.user.platform:<8} {shown!r}")
    print(f"total time:           {seconds:.0f} s ({seconds / max(total, 1):.2f} s per input)")
    for signature, outcomes in tally.failures.items():
        first = outcomes[0]
        print(
            f"\n{signature}: {len(outcomes)} inputs; the first, from a {first.user.platform} user:"
        )
        print(f"  {first.sent!r}")
        print(f"  shrunk: {shrunk.get(signature, first.sent)!r}")
        for line in first.detail.splitlines()[-12:]:
            print(f"  | {line}")


def main() -> int:
    """Run the fuzz and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=5000, help="typed lines (handle_text)")
    parser.add_argument("--typed", type=int, default=1000, help="typed-option calls (run_typed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a hang")
    args = parser.parse_args()
    # Errors are caught by the world's handler on the root logger (and counted), not printed.
    logging.getLogger().setLevel(logging.ERROR)
    tally = Tally()
    shrunk: dict[str, str] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, asyncio.Runner() as runner:
        world = runner.run(FuzzWorld.open(Path(tmp), timeout=args.timeout))
        try:
            drive(runner, world, args, tally)
            seconds = time.monotonic() - started
            for signature, outcomes in tally.failures.items():
                first = outcomes[0]
                if not first.typed:
                    shrunk[signature] = runner.run(
                        shrink(first, smaller_lines, lambda t, u=first.user: world.send(u, t))
                    )
        finally:
            runner.run(world.close())
    report(tally, shrunk, seconds, args)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
