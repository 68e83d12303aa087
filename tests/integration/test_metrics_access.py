"""/metrics is served to this host only unless ``web.metrics_public``: the web app listens on every
address (0.0.0.0, as in Docker) and the real aiohttp client asks it twice — through loopback
(answered) and through this machine's own non-loopback address (refused with 403), then, with
``web.metrics_public = true``, through that address again (answered)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest

from bot.core.catalog import demo_state
from bot.web import bound_port, start_web
from tests.rig import make_app, rig_config, settle


def own_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, which a socket can reach (None if
    the machine has none): the host name's address, else the first of ``hostname -I``."""
    candidates: list[str] = []
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        listed = subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, timeout=5, check=False
        )
        candidates += listed.stdout.split()
    for text in candidates:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(text)
            if address.version == 4 and not address.is_loopback:
                return text
    return None


async def status_from(
    address: str, port: int, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """GET /metrics through ``address``: the status and body."""
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://{address}:{port}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


@pytest.mark.parametrize("public", [False, True])
async def test_metrics_are_refused_to_other_hosts_unless_public(
    tmp_path: Path, public: bool
) -> None:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect through")
    config = rig_config(
        tmp_path, BEATMATCH_WEB_METRICS="true", BEATMATCH_WEB_METRICS_PUBLIC=str(public)
    )
    app = make_app(tmp_path, demo_state(100), config=config)
    runner = await start_web(app.service, "0.0.0.0", 0, **app.web_options())  # noqa: S104
    try:
        port = bound_port(runner)
        local, body = await status_from("127.0.0.1", port)
        assert local == 200 and "beatmatch_commands" in body
        remote, body = await status_from(address, port)
        if public:
            assert remote == 200 and "beatmatch_commands" in body
        else:
            assert (remote, body) == (403, "metrics are served to this host only\n")
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()


async def test_metrics_are_refused_through_a_reverse_proxy_on_this_host(tmp_path: Path) -> None:
    # nginx or Caddy on the same machine connects from 127.0.0.1 on behalf of anyone: what it
    # forwards is not this host asking.
    config = rig_config(tmp_path, BEATMATCH_WEB_METRICS="true")
    app = make_app(tmp_path, demo_state(100), config=config)
    runner = await start_web(app.service, "127.0.0.1", 0, **app.web_options())
    try:
        port = bound_port(runner)
        assert (await status_from("127.0.0.1", port))[0] == 200
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            forwarded = await status_from("127.0.0.1", port, {header: "203.0.113.9"})
            assert forwarded == (403, "metrics are served to this host only\n"), header
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()
