"""Blocking HTTP with manners: timeouts, retries on 5xx, and Retry-After honoured but capped.

spotipy's own urllib3 retry sleeps whatever Retry-After says (hours, after a quota hit). Here a
wait longer than the policy allows becomes ``ServiceBusy`` at once, so the user hears "Spotify is
busy" instead of a bot that hangs. Nothing here logs a query string, header or body.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from bot.core.errors import ServiceBusy, UserFacingError
from bot.core.metrics import NO_METER, Meter

log = logging.getLogger(__name__)
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


class MalformedResponse(UserFacingError):
    """A service answered with something that is not the JSON it promised."""

    def __init__(self, service: str) -> None:
        super().__init__(
            f"{service} sent an answer I couldn't read (malformed JSON). "
            "Try again in a moment; if it keeps happening, tell the bot's operator."
        )
        self.service = service


@dataclass(frozen=True)
class RetryPolicy:
    """How patient one call is: per-request timeout, total wait budget, retries on 5xx."""

    timeout: float = 10.0
    max_wait: float = 30.0
    server_retries: int = 3
    first_delay: float = 0.25


class RateGate:
    """When a service last said "come back in N seconds"; shared by every caller of one app."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Nobody calls before ``seconds`` from now."""
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def remaining(self) -> float:
        """Seconds left before calls may go out again (0 when open)."""
        with self._lock:
            return max(0.0, self._until - self._clock())


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return default
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def busy_message(service: str, seconds: float) -> str:
    """ "Spotify is busy; try again in about N minutes." """
    if seconds < 1.5:
        wait = "a second"
    elif seconds < 90:
        wait = f"{round(seconds)} seconds"
    elif seconds < 5400:
        wait = f"{round(seconds / 60)} minutes"
    else:
        wait = f"{round(seconds / 3600)} hours"
    return f"{service} is busy right now (it asked me to wait); try again in about {wait}."


def error_reason(response: requests.Response) -> str:
    """The ``reason`` of an error body (``error.reason`` or top-level), or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    reason = error.get("reason") if isinstance(error, dict) else None
    return str(reason or body.get("reason") or "")


class PoliteSession:
    """A requests session for one service, with the retry policy and rate gate applied."""

    def __init__(
        self,
        service: str,
        policy: RetryPolicy,
        gate: RateGate | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        meter: Meter = NO_METER,
    ) -> None:
        self.service = service
        self.meter = meter  # each call's status, each retry
        self.policy = policy
        self.gate = gate or RateGate()
        self.session = session or new_session()
        self.sleep = sleep

    def request(
        self, method: str, url: str, *, retry_unsafe: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send with backoff; 429 beyond the budget → ServiceBusy. Non-GET calls are retried on 5xx
        and timeouts only when ``retry_unsafe`` (a repeated POST could act twice)."""
        deadline = time.monotonic() + self.policy.max_wait
        retryable = retry_unsafe or method.upper() in ("GET", "HEAD", "PUT", "DELETE")
        attempt = 0
        path = urlsplit(url).path
        while True:
            self._wait(self.gate.remaining(), deadline)
            try:
                response = self.session.request(method, url, timeout=self.policy.timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as error:
                self.meter.outside_call(self.service, "network")
                delay = self._delay(attempt + 1)
                if (
                    retryable
                    and attempt < self.policy.server_retries
                    and self._fits(delay, deadline)
                ):
                    attempt += 1
                    self.meter.retry(self.service, "network")
                    self.sleep(delay)
                    continue
                log.warning("%s %s %s failed: %s", self.service, method, path, type(error).__name__)
                raise ServiceBusy(
                    f"{self.service} didn't answer in time. Try again in a moment."
                ) from None
            status = response.status_code
            self.meter.outside_call(self.service, str(status))
            if status == 429:
                seconds = retry_after_seconds(response.headers.get("Retry-After"))
                self.gate.hold(seconds)
                if error_reason(response) == QUOTA_EXCEEDED:
                    log.error(
                        "%s quota exceeded (QUOTA_EXCEEDED) on %s %s: the app's request quota "
                        "is used up; calls pause for %.0f s. Check the app in the developer "
                        "dashboard.",
                        self.service,
                        method,
                        path,
                        seconds,
                    )
                    raise ServiceBusy(busy_message(self.service, seconds))
                log.info("%s asked to wait %.1f s (%s %s)", self.service, seconds, method, path)
                self._wait(seconds, deadline)
                self.meter.retry(self.service, "429")
                continue
            delay = self._delay(attempt + 1)
            if (
                status >= 500
                and retryable
                and attempt < self.policy.server_retries
                and self._fits(delay, deadline)
            ):
                attempt += 1
                log.info("%s answered %s on %s %s; retrying", self.service, status, method, path)
                self.meter.retry(self.service, "5xx")
                self.sleep(delay)
                continue
            return response

    def _delay(self, attempt: int) -> float:
        return self.policy.first_delay * (2 ** (attempt - 1))

    @staticmethod
    def _fits(seconds: float, deadline: float) -> bool:
        return time.monotonic() + seconds <= deadline

    def _wait(self, seconds: float, deadline: float) -> None:
        """Sleep out a Retry-After, or say "busy" at once when it would overrun the budget."""
        if seconds <= 0:
            return
        if not self._fits(seconds, deadline):
            raise ServiceBusy(busy_message(self.service, seconds))
        self.sleep(seconds)


def new_session(pool_size: int = 16) -> requests.Session:
    """A requests session of our own: no urllib3 retries (we do them), a pool for our threads."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
