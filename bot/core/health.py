"""Readiness: what must work for the bot to be worth sending traffic to, each part a named check.

Checks come in two kinds. A *probe* is asked when readiness is asked (the database answers, the
catalog is loaded): an async callable that returns a short detail or raises. A *front status* is
reported by the part itself as it changes (the Discord gateway is ready or disconnected, Telegram
polling gets updates or fails): ``Readiness.front(name)`` hands out one ``FrontStatus`` per
configured front, down until it says it is up. Nothing here knows a chat library; ``bot.web``
serves the result at ``/readyz`` and ``bot/app.py`` / ``bot/runner.py`` register what exists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: A probe returns a short detail ("42 tables") or raises with the reason.
Probe = Callable[[], Awaitable[str]]
PROBE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    """One check's outcome, as /readyz shows it."""

    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, object]:
        """The check in the /readyz body."""
        return {"ok": self.ok, "detail": self.detail}


class FrontStatus:
    """The connection state one front reports: down (with why) until ``up``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ok = False
        self.detail = "starting"
        self.since = time.monotonic()

    def up(self, detail: str) -> None:
        """The front is connected (``detail``: how, e.g. "gateway ready")."""
        self._set(True, detail)

    def down(self, detail: str) -> None:
        """The front is not connected (``detail``: why, e.g. "gateway disconnected")."""
        self._set(False, detail)

    def _set(self, ok: bool, detail: str) -> None:
        if ok != self.ok:
            self.since = time.monotonic()
        self.ok, self.detail = ok, detail

    def check(self) -> Check:
        """The state as a check."""
        return Check(self.name, self.ok, self.detail)


class Readiness:
    """Every check of one process; ``await check_all()`` runs the probes and reads the fronts."""

    def __init__(self, timeout: float = PROBE_TIMEOUT) -> None:
        self.timeout = timeout
        self._probes: dict[str, Probe] = {}
        self._fronts: dict[str, FrontStatus] = {}

    def probe(self, name: str, probe: Probe) -> None:
        """Ask ``probe`` at every readiness check, under ``name``."""
        self._probes[name] = probe

    def front(self, name: str) -> FrontStatus:
        """The status a configured front reports under ``name`` (the same object on every call)."""
        return self._fronts.setdefault(name, FrontStatus(name))

    async def check_all(self) -> list[Check]:
        """Every check, probes run together, each bounded by ``timeout``."""
        names = list(self._probes)
        outcomes = await asyncio.gather(*(self._run(name) for name in names))
        fronts = [status.check() for status in self._fronts.values()]
        return [*outcomes, *fronts]

    async def _run(self, name: str) -> Check:
        try:
            detail = await asyncio.wait_for(self._probes[name](), self.timeout)
        except TimeoutError:
            return Check(name, False, f"no answer within {self.timeout:g} s")
        except Exception as error:
            return Check(name, False, str(error) or type(error).__name__)
        return Check(name, True, detail)
