"""The web server: OAuth callbacks, /healthz and /readyz, on aiohttp (AppRunner/TCPSite in the
bot's loop).

``GET /healthz`` is liveness: the process serves (cheap, nothing is asked). ``GET /readyz`` is
readiness: every check of the core's ``Readiness`` (the database answers, the catalog is loaded,
each configured front is connected), as JSON naming each check; 503 when any fails.

``GET /callback/{provider}`` finishes a link (Spotify, Pulsoid); ``GET /callback`` is Spotify's
(the same path as the paste-back redirect, so a bot running on the listener's own machine can
catch it directly). Access logs carry the path only: a callback's query holds a code and a state;
every app built here also puts ``bot.web_logs``' filter on aiohttp's own loggers (a request line
too long to parse is quoted by them otherwise).
"""

from __future__ import annotations

import html
import ipaddress
import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bot.core.errors import UserFacingError
from bot.core.incidents import log_incident
from bot.core.service import BeatmatchService
from bot.web_logs import install as redact_aiohttp_logs

log = logging.getLogger(__name__)
SERVICE: web.AppKey[BeatmatchService] = web.AppKey("service", BeatmatchService)
Exposition = Callable[[], bytes]  # the metrics in Prometheus' text format
METRICS: web.AppKey[Exposition] = web.AppKey("metrics")
METRICS_PUBLIC: web.AppKey[bool] = web.AppKey("metrics_public", bool)
#: Headers a reverse proxy adds: a request carrying one came from outside, whatever its peer address.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROVIDERS = ("spotify", "pulsoid")
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>beatmatch — {title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}}
h1{{font-size:1.4em}} p{{white-space:pre-line}}</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log lines without query strings (callback queries carry codes and states)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """One line per request: client, method, path, status, seconds."""
        self.logger.info(
            '%s "%s %s" %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            time,
        )


def page(title: str, message: str, status: int = 200) -> web.Response:
    """A small HTML page (the text is escaped)."""
    body = PAGE.format(title=html.escape(title), message=html.escape(message))
    return web.Response(text=body, status=status, content_type="text/html")


async def healthz(request: web.Request) -> web.Response:
    """Liveness and a few numbers."""
    return web.json_response({"ok": True, **request.app[SERVICE].health()})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: each check by name with its detail; 503 when any fails."""
    checks = await request.app[SERVICE].readiness.check_all()
    ok = all(check.ok for check in checks)
    body = {"ok": ok, "checks": {check.name: check.as_json() for check in checks}}
    return web.json_response(body, status=200 if ok else 503)


async def callback(request: web.Request) -> web.Response:
    """Finish an OAuth link and show the outcome in the browser (and, via the service, the chat)."""
    provider = request.match_info.get("provider", "spotify")
    if provider not in PROVIDERS:
        return page("Not found", "There is no such link here.", 404)
    accounts = request.app[SERVICE].accounts
    query = {key: request.query.get(key, "")[:2048] for key in ("code", "state", "error")}
    try:
        if provider == "pulsoid":
            text = await accounts.pulsoid_callback(query["state"], query["code"], query["error"])
            return page("Pulsoid", text)
        reply = await accounts.spotify_callback(query)
    except UserFacingError as error:
        return page("Not linked", error.message, 400)
    except Exception:
        incident = log_incident(log, "on the %s callback", provider)
        return page(
            "Something went wrong",
            f"Sorry — something broke on the bot's side (incident {incident}). "
            "Go back to the chat and try again in a moment.",
            500,
        )
    if reply.error:
        return page("Not linked", reply.text, 400)
    return page(
        reply.title or "Linked", f"{reply.text}\n\nYou can close this tab and go back to the chat."
    )


def from_this_host(request: web.Request) -> bool:
    """The peer is a loopback address and no proxy forwarded the request (a reverse proxy on this
    host connects from loopback on behalf of anyone)."""
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics; loopback clients only unless ``web.metrics_public``."""
    if not request.app[METRICS_PUBLIC] and not from_this_host(request):
        return web.Response(status=403, text="metrics are served to this host only\n")
    body = request.app[METRICS]()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


def create_app(
    service: BeatmatchService,
    *,
    exposition: Exposition | None = None,
    metrics_public: bool = False,
) -> web.Application:
    """The aiohttp application (routes only; see ``start_web`` to serve it); ``/metrics`` only
    with an ``exposition`` (``web.metrics`` on)."""
    redact_aiohttp_logs()
    app = web.Application()
    app[SERVICE] = service
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if exposition is not None:
        app[METRICS] = exposition
        app[METRICS_PUBLIC] = metrics_public
        app.router.add_get("/metrics", metrics)
    app.router.add_get("/callback", callback)
    app.router.add_get("/callback/{provider}", callback)
    return app


async def start_web(
    service: BeatmatchService,
    host: str,
    port: int,
    *,
    exposition: Exposition | None = None,
    metrics_public: bool = False,
) -> web.AppRunner:
    """Serve the web app on ``host:port`` inside the running loop; ``await runner.cleanup()`` stops it."""
    app = create_app(service, exposition=exposition, metrics_public=metrics_public)
    runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("web server listening on %s:%s", host, port)
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port the runner's first site listens on (useful with port 0)."""
    for site in runner.sites:
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        for sock in sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("the web server is not listening")
