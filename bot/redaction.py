"""What must never be shown or logged — tokens, OAuth codes and states, secrets, query strings —
and the one set of rules that hides it, used everywhere something might carry one: the console's
echo of a piped line (``hide_credentials``), aiohttp's loggers (``bot.web_logs``) and the console's
log file (``RedactingFormatter``), both through ``redact``."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
#: A whole query string (what a log line may quote of a request: ``/callback?code=…&state=…``).
_QUERY = re.compile(r"\?[^\s'\"<>]+")
#: ``…code=``/``…state=``/``…token=``/``…secret=``/``…password=`` values, whatever the key's prefix.
_KEY_VALUE = re.compile(r"(?i)\b([\w.-]*(?:code|state|token|secret|password)[\w.-]*)=[^&\s'\"<>]+")
#: ``name=value`` or ``name: value`` where the value may be a credential (tokens, OAuth codes and
#: states, secrets, passwords, keys), anywhere in a line; values of 6 characters or more (not "on").
_SECRET_VALUE = re.compile(
    r"(?i)\b((?:access_|refresh_|id_|client_)?(?:token|code|state|secret|password|key))"
    r"(\s*[=:]\s*)[^\s&#;,]{6,}"
)
#: Every value of a URL's query or fragment (``?code=…&state=…``, ``#access_token=…``).
_URL_VALUE = re.compile(r"([?&#;][^=\s&#;?]*=)[^\s&#;]+")
#: What a pasted token looks like on its own: a UUID (Pulsoid's), or a long run of letters and
#: digits (a bearer or refresh token; a Spotify track id has 22 characters).
_UUID = re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")
_LONG_RUN = re.compile(r"[\w.-]{40,}")


def hide_credentials(text: str, marker: str = REDACTED) -> str:
    """``text`` with ``marker`` instead of every query or fragment value, every credential-looking
    ``name=value``/``name: value``, every UUID and every long random-looking run of characters
    (what the console shows back of a piped line, keeping the shape of an address)."""

    def token_like(match: re.Match[str]) -> str:
        run = match.group(0)
        looks_random = any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
        return marker if looks_random else run

    text = _URL_VALUE.sub(lambda m: m.group(1) + marker, text)
    text = _SECRET_VALUE.sub(lambda m: m.group(1) + m.group(2) + marker, text)
    return _LONG_RUN.sub(token_like, _UUID.sub(marker, text))


def redact(text: str) -> str:
    """``text`` as a log may hold it: no query string at all, and no credential
    (``hide_credentials``'s rules, plus any ``…token=value`` whatever its length)."""
    text = _QUERY.sub("?" + REDACTED, text)
    text = _KEY_VALUE.sub(rf"\1={REDACTED}", text)
    return hide_credentials(text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line — message, traceback and stack — goes through ``redact``
    (the records themselves are left as they are, for any other handler)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as the base formatter writes it, redacted."""
        return redact(super().format(record))
