"""Loopback fakes of the outside services (Spotify, ReccoBeats, Pulsoid), on real aiohttp servers."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 at a free port in the running loop: (runner, base URL)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = getattr(site, "_server", None)
    port = int(server.sockets[0].getsockname()[1]) if server is not None else 0
    return runner, f"http://127.0.0.1:{port}"
