"""Token encryption at rest (Fernet): the key comes from config/env, or is generated once into the data dir."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)
KEY_FILE = "secret.key"


class TokenDecryptError(RuntimeError):
    """A stored token could not be decrypted (the key changed or the row is corrupt)."""


def load_or_create_key(configured: str, data_dir: Path) -> bytes:
    """The Fernet key: ``configured`` if given, else ``data_dir/secret.key`` (created, mode 0600)."""
    if configured:
        key = configured.strip().encode()
        Fernet(key)  # raises ValueError with a clear message if malformed
        return key
    path = data_dir / KEY_FILE
    if path.is_file():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    log.warning(
        "No storage.encryption_key configured: generated one at %s. Back it up; without it the "
        "stored account tokens cannot be read.",
        path,
    )
    return key


class TokenCipher:
    """Encrypts token dictionaries to opaque blobs and back."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, token: dict[str, Any]) -> bytes:
        """The encrypted JSON of ``token``."""
        return self._fernet.encrypt(json.dumps(token, sort_keys=True).encode())

    def decrypt(self, blob: bytes) -> dict[str, Any]:
        """The token dictionary inside ``blob``; TokenDecryptError if the key does not fit."""
        try:
            return dict(json.loads(self._fernet.decrypt(blob)))
        except (InvalidToken, ValueError) as error:
            raise TokenDecryptError("stored token cannot be decrypted with this key") from error
