"""JSON log lines (``logging.format = "json"``): one object per line with time, level, logger,
message and — when the record is about an incident a user was shown with an apology — its id, which
the code that apologised passes as ``extra={"incident": id}`` (``bot.core.incidents``)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot.redaction import RedactingFormatter, redact

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (a traceback goes in ``exc_info``, never across lines)."""

    def format(self, record: logging.LogRecord) -> str:
        """The line."""
        message = record.getMessage()
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        incident = getattr(record, "incident", None)
        if incident is not None:
            line["incident"] = str(incident)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    """The formatter of ``logging.format``: "json", else the text lines."""
    return JsonFormatter() if kind.strip().lower() == "json" else logging.Formatter(TEXT_FORMAT)


class _RedactingJsonFormatter(JsonFormatter):
    """JSON lines whose text went through ``redact`` (the console's log file)."""

    def format(self, record: logging.LogRecord) -> str:
        """The line, redacted."""
        return redact(super().format(record))


def redacting_formatter(kind: str) -> logging.Formatter:
    """``formatter(kind)`` with every line redacted (tokens, codes, query strings)."""
    return (
        _RedactingJsonFormatter()
        if kind.strip().lower() == "json"
        else RedactingFormatter(TEXT_FORMAT)
    )
