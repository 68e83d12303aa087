"""The readiness probes of a running process: the database answers, the catalog is loaded and no
catalog import is replacing it (``beatmatch import-catalog`` in another process: until this one
restarts it serves the previous catalog, and during the swap the database is busy).

Registered on the core's ``Readiness`` by ``bot/app.py``; the fronts report their own connection
state (``bot.chat.telegram.polling``, the Discord bot's gateway events). ``/readyz`` runs them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.catalog import CatalogState
from bot.core.health import Probe, Readiness
from storage.catalog_staging import import_running
from storage.probe import database_answers

#: Seconds the database may stay locked before readiness says it does not answer.
DATABASE_TIMEOUT = 1.0


def database_probe(path: str | Path, timeout: float = DATABASE_TIMEOUT) -> Probe:
    """Read and take the write lock on a fresh connection, in a thread (never on the loop)."""

    async def probe() -> str:
        tables = await asyncio.to_thread(database_answers, path, timeout)
        return f"answers ({tables} tables)"

    return probe


def catalog_probe(catalog: CatalogState, database: str | Path | None = None) -> Probe:
    """The catalog holds tracks (the demo catalog counts: it says so in every reply) and no
    import into ``database`` is running."""

    async def probe() -> str:
        if catalog.size == 0:
            raise RuntimeError("no catalog loaded")
        if database is not None and await asyncio.to_thread(import_running, database):
            raise RuntimeError(
                "a catalog import is running; restart beatmatch once it is done to serve it"
            )
        return f"{catalog.size} tracks" + (" (demo)" if catalog.is_demo else "")

    return probe


def readiness(database: str | Path | None, catalog: CatalogState) -> Readiness:
    """The process's readiness with its probes (no database probe for an in-memory database)."""
    ready = Readiness()
    if database is not None:
        ready.probe("database", database_probe(database))
    ready.probe("catalog", catalog_probe(catalog, database))
    return ready
