"""The bulk lane: imports and first guesses run a few at a time, beside the quick reads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from bot.core.offload import BULK_THREADS, bulk


async def test_a_full_bulk_lane_leaves_quick_reads_free_and_runs_a_few_at_once() -> None:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2))
    release = threading.Event()
    running, most = 0, 0
    guard = threading.Lock()

    def heavy() -> str:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        release.wait(10)
        with guard:
            running -= 1
        return threading.current_thread().name

    burst = [asyncio.ensure_future(bulk(heavy)) for _ in range(8)]
    try:
        await asyncio.sleep(0.2)
        # Eight imports at once: a warm listener's read still runs at once.
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "read"), timeout=2) == "read"
        assert running == BULK_THREADS
    finally:
        release.set()
    names = await asyncio.gather(*burst)
    assert most == BULK_THREADS
    assert all(name.startswith("bulk") for name in names)
