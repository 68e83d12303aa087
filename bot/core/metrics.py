"""The metrics port: what the core and the adapters count, without a metrics library.

``bot.metrics.PrometheusMeter`` implements it with prometheus-client (one registry per app,
served at ``/metrics`` when ``web.metrics`` is on); ``NoMeter`` counts nothing and is the default,
so a part built without a meter (tests, the CLI) needs no wiring.
"""

from __future__ import annotations

from typing import Protocol

#: How a command ended: answered, refused with a message of ours (bad input, not linked, busy…),
#: or failed with an incident.
OK, REFUSED, FAILED = "ok", "refused", "failed"


class Meter(Protocol):
    """Counts and timings the operator can watch."""

    def command(self, name: str, outcome: str, seconds: float) -> None:
        """One chat command answered (``outcome``: OK, REFUSED or FAILED)."""
        ...

    def outside_call(self, service: str, status: str) -> None:
        """One HTTP call to an outside service ("spotify", "reccobeats", "pulsoid") and its
        status ("200", "429", "error"…)."""
        ...

    def retry(self, service: str, reason: str) -> None:
        """A call to ``service`` is tried again (``reason``: "429", "5xx", "network")."""
        ...

    def job_queued(self, kind: str) -> None:
        """A model-work job of ``kind`` ("taste", "genre"…) joined the queue."""
        ...

    def jobs(self, waiting: int, running: int) -> None:
        """How many model-work jobs wait and run now."""
        ...

    def job_done(self, kind: str, outcome: str, seconds: float) -> None:
        """A job of ``kind`` ended after ``seconds`` of running (``outcome``: OK or FAILED)."""
        ...

    def digest_sent(self, outcome: str) -> None:
        """One weekly digest delivered (OK) or not (FAILED)."""
        ...


class NoMeter:
    """A meter that keeps nothing."""

    def command(self, name: str, outcome: str, seconds: float) -> None:
        """Nothing kept."""

    def outside_call(self, service: str, status: str) -> None:
        """Nothing kept."""

    def retry(self, service: str, reason: str) -> None:
        """Nothing kept."""

    def job_queued(self, kind: str) -> None:
        """Nothing kept."""

    def jobs(self, waiting: int, running: int) -> None:
        """Nothing kept."""

    def job_done(self, kind: str, outcome: str, seconds: float) -> None:
        """Nothing kept."""

    def digest_sent(self, outcome: str) -> None:
        """Nothing kept."""


NO_METER: Meter = NoMeter()
