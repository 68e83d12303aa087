"""Blocking work off the event loop, in two lanes.

Short reads (a user's settings, a library's ids, a fingerprint) go through the loop's default
executor (``asyncio.to_thread``). Bulk work — parsing and storing an import, a first guess over
the whole catalog, preparing a training job and taking a trained model in — goes through
:func:`bulk`, a lane of its own with few threads: a burst of imports then waits in its own queue
instead of filling every thread in front of a warm listener's /recommend, and at most
``BULK_THREADS`` of them compete with that /recommend for the interpreter at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: Bulk calls running at once (the rest wait their turn in the lane's queue).
BULK_THREADS = 2

_executor: ThreadPoolExecutor | None = None
_guard = threading.Lock()


async def bulk(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in the bulk lane (context variables carried, as ``asyncio.to_thread``)."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_lane(), functools.partial(context.run, call, *args))


def _lane() -> ThreadPoolExecutor:
    global _executor
    with _guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(BULK_THREADS, thread_name_prefix="bulk")
        return _executor
