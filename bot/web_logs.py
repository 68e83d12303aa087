"""What aiohttp's loggers may write: never a query string, an OAuth code or state, or a token.

A callback's query carries a code and a state. Our access logger writes paths only, but aiohttp
itself quotes the start of a request line it cannot parse (an address over 8 KB: "Error handling
request" with LineTooLong, at ERROR, with a traceback). ``install`` puts a filter on every aiohttp
logger that rewrites each record before any handler sees it:

- a request the client got wrong (an ``HttpProcessingError``: too long, malformed) becomes one
  WARNING line naming the client and the kind of error — nothing of the request, no traceback
  (it is the client's mistake, answered with a 4xx, not the bot's);
- every other record has query strings and ``code=``/``state=``/``…token=``/``…secret=`` values
  replaced, in its message, its formatted traceback and its stack (``bot.redaction.redact``, the
  rules the console's log file and echo use too).
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

from bot.redaction import REDACTED as REDACTED  # the marker, where it always was
from bot.redaction import redact

#: Every logger aiohttp writes to (``aiohttp.log``).
AIOHTTP_LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
)
_FORMATTER = logging.Formatter()


class RedactRequests(logging.Filter):
    """Rewrites aiohttp's records so that nothing a client sent in a URL reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; it is always kept."""
        error = record.exc_info[1] if record.exc_info else None
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what can be shown
            message = str(record.msg)
        if isinstance(error, HttpProcessingError):
            message = (
                f"{message}: refused a malformed request ({type(error).__name__}, {error.code})"
            )
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        elif record.exc_info:
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = redact(message), ()
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install() -> None:
    """Put the filter on every aiohttp logger (once: calling again changes nothing)."""
    for name in AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactRequests) for f in logger.filters):
            logger.addFilter(RedactRequests())
