"""How big an uploaded Exportify file may be, for the chat fronts: they refuse a bigger upload
before downloading it, with the limit and the words the core uses when it refuses one itself
(``storage.exportify``, which also limits the rows). The fronts reach storage only through the
core, hence these names here."""

from __future__ import annotations

from storage.exportify import MAX_BYTES as MAX_UPLOAD_BYTES
from storage.exportify import MAX_ROWS
from storage.exportify import too_large as upload_too_large

__all__ = ["MAX_ROWS", "MAX_UPLOAD_BYTES", "upload_too_large"]
