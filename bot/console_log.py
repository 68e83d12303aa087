"""Where the console's log lines go: a rotating file in the data directory, never the terminal,
so that no INFO line lands in the middle of the prompt or of a reply.

``console.log_file`` (default ``logs/console.log``, relative to ``storage.data_dir`` unless
absolute) names the file; it rotates at ``MAX_BYTES`` and keeps ``BACKUPS`` older files. Every line
goes through ``bot.redaction.redact`` first, as aiohttp's do. ``console.log_file = "stderr"``
keeps the old behaviour (the log on standard error), for operators who redirect it themselves.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from bot.config import Config
from bot.log_format import redacting_formatter

MAX_BYTES = 1_000_000
BACKUPS = 3
TO_STDERR = "stderr"


def log_file(config: Config) -> Path | None:
    """The console's log file, or None when the log goes to standard error."""
    setting = config.console.log_file.strip()
    if not setting or setting.lower() == TO_STDERR:
        return None
    path = Path(setting).expanduser()
    return path if path.is_absolute() else config.data_dir / path


def to_file(path: Path, level: str, kind: str = "text") -> Path:
    """Send every log record at ``level`` and above to ``path`` (rotating, redacted) and nowhere
    else; the folders are made (private, as the process's umask makes everything it writes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(redacting_formatter(kind))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return path
