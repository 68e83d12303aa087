"""The whole core as ``bot.app.assemble`` wires it, over a test's own database and catalog.

Tests build the app the way the product does, replacing only what a test must control: lighter
taste models (``FAST``), a genre model shared by a module, scripted hearts, a loopback Spotify.
ReccoBeats is off unless a test turns it on (its real address is not reachable from tests).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.app import Beatmatch, assemble
from bot.config import Config, load_config
from bot.core.catalog import CatalogState, demo_state
from bot.core.model_jobs import Job, TrainedFile
from bot.training.execute import WorkerCatalog, execute
from recommender.ensemble import EnsembleSettings
from recommender.taste import TasteSettings
from storage.database import Storage

#: Small forests: the tests check behaviour, not ranking quality.
FAST = TasteSettings(ensemble=EnsembleSettings(rf_trees=30, xgb_rounds=30, n_jobs=1))


class ThreadRunner:
    """A job runner for tests: each job runs in a thread of the test's own process, one at a
    time. The product runs them in worker processes (``bot.training.pool``), which the pool's own
    tests and the end-to-end console tests use; here a fit costs no process start."""

    capacity = 1

    def __init__(self, catalog: CatalogState) -> None:
        self.catalog = WorkerCatalog(catalog.fingerprint, catalog.tracks, catalog.genres)

    async def run(self, job: Job) -> TrainedFile:
        """Do ``job`` in a thread."""
        return await asyncio.to_thread(execute, job, self.catalog)

    async def close(self) -> None:
        """Nothing to stop."""


def rig_config(tmp_path: Path, **env: str) -> Config:
    """The default configuration with its data under ``tmp_path`` and ReccoBeats off;
    ``env`` adds ``BEATMATCH_*`` overrides."""
    return load_config(
        env={
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data"),
            "BEATMATCH_RECCOBEATS_ENABLED": "false",
            **env,
        }
    )


def make_app(
    tmp_path: Path,
    catalog: CatalogState | None = None,
    *,
    storage: Storage | None = None,
    config: Config | None = None,
    cooldown: float = 0.0,
    **parts: Any,
) -> Beatmatch:
    """The assembled core; ``parts`` go to ``assemble`` (``taste_settings`` defaults to FAST,
    ``runner`` to a ``ThreadRunner``)."""
    config = config or rig_config(tmp_path)
    storage = storage or Storage.open(tmp_path / "db" / "beatmatch.db")
    parts.setdefault("taste_settings", FAST)
    parts.setdefault("genre_jobs", 1)
    catalog = catalog or demo_state(600)
    if "runner" not in parts and not config.training.redis_url:
        parts["runner"] = ThreadRunner(catalog)
    return assemble(config, storage, catalog, cooldown=cooldown, **parts)


async def settle(app: Beatmatch) -> None:
    """Let background training and library reads finish, so no thread outlives the test."""
    taste = app.service.taste
    await taste.training.idle()
    if taste.library is not None:
        while running := taste.library.running():
            await asyncio.gather(*running, return_exceptions=True)
        await taste.training.idle()


async def genre_ready(app: Beatmatch) -> None:
    """Have the genre classifier in memory: loaded from its file, or trained by a worker once
    (a module's tests share ``genre_dir``, so the demo catalog's model trains once a module)."""
    await app.service.lookup.genres.prepare()
    assert app.service.lookup.genres.ready
