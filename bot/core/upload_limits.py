"""How big an uploaded Exportify file may be, for the chat fronts: they refuse a bigger upload
before downloading it, with the limit and the words the core uses when it refuses one itself
(``storage.exportify``, which also limits the rows)."""

from __future__ import annotations

from storage.exportify import MAX_BYTES, MAX_ROWS, too_large

#: The largest upload a front downloads (Telegram's getFile serves at most 20 MB in any case).
MAX_UPLOAD_BYTES = MAX_BYTES


def upload_too_large(size: int, name: str) -> str:
    """What the listener who sent ``name`` of ``size`` bytes is told."""
    return too_large(size, name)


__all__ = ["MAX_ROWS", "MAX_UPLOAD_BYTES", "upload_too_large"]
