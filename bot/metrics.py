"""Prometheus metrics: the core's ``Meter`` port on prometheus-client, one registry per app.

Each ``PrometheusMeter`` owns its ``CollectorRegistry`` (several apps in one process — tests —
never share series). ``bot.web`` serves ``render()`` at ``/metrics`` when ``web.metrics`` is on.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

#: Command latency buckets (seconds): a cached answer to a first model's training.
COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
JOB_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class PrometheusMeter:
    """Counters, gauges and histograms named ``beatmatch_*``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.commands = Counter(
            "beatmatch_commands", "Chat commands answered", ["command", "outcome"], registry=r
        )
        self.latency = Histogram(
            "beatmatch_command_seconds",
            "Time to answer a chat command",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.calls = Counter(
            "beatmatch_outside_calls",
            "HTTP calls to outside services",
            ["service", "status"],
            registry=r,
        )
        self.retries = Counter(
            "beatmatch_outside_retries",
            "Calls tried again (429 waits, 5xx, network errors)",
            ["service", "reason"],
            registry=r,
        )
        self.queued = Counter(
            "beatmatch_training_jobs_queued", "Model-work jobs queued", ["kind"], registry=r
        )
        self.waiting = Gauge(
            "beatmatch_training_jobs_waiting", "Model-work jobs waiting now", registry=r
        )
        self.running = Gauge(
            "beatmatch_training_jobs_running", "Model-work jobs running now", registry=r
        )
        self.job_seconds = Histogram(
            "beatmatch_training_job_seconds",
            "Time a model-work job ran",
            ["kind", "outcome"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.digests = Counter(
            "beatmatch_digests_sent", "Weekly digests sent", ["outcome"], registry=r
        )
        self.workouts = Gauge("beatmatch_workouts_live", "Workouts running now", registry=r)

    # -- the Meter port ---------------------------------------------------------------------------
    def command(self, name: str, outcome: str, seconds: float) -> None:
        """One chat command answered."""
        self.commands.labels(name, outcome).inc()
        self.latency.labels(name).observe(seconds)

    def outside_call(self, service: str, status: str) -> None:
        """One HTTP call to an outside service."""
        self.calls.labels(service.lower(), status).inc()

    def retry(self, service: str, reason: str) -> None:
        """A call tried again."""
        self.retries.labels(service.lower(), reason).inc()

    def job_queued(self, kind: str) -> None:
        """A job joined the queue."""
        self.queued.labels(kind).inc()

    def jobs(self, waiting: int, running: int) -> None:
        """Jobs waiting and running now."""
        self.waiting.set(waiting)
        self.running.set(running)

    def job_done(self, kind: str, outcome: str, seconds: float) -> None:
        """A job ended."""
        self.job_seconds.labels(kind, outcome).observe(seconds)

    def digest_sent(self, outcome: str) -> None:
        """A digest delivered or not."""
        self.digests.labels(outcome).inc()

    # -- the rest ---------------------------------------------------------------------------------
    def watch_workouts(self, count: Callable[[], int]) -> None:
        """Read the number of live workouts from ``count`` at every scrape."""
        self.workouts.set_function(lambda: float(count()))

    def render(self) -> bytes:
        """The text exposition format of every series."""
        return generate_latest(self.registry)
