"""Token encryption at rest (Fernet): the key comes from config/env, or is generated once into the
data dir — never while tokens saved with a previous key are stored (they would silently become
unreadable, and their listeners look unlinked)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from storage.account_store import AccountStore
from storage.errors import EncryptionKeyError

log = logging.getLogger(__name__)
KEY_FILE = "secret.key"
#: Where a configured key comes from: the config file's key, or its environment override.
KEY_SETTING = "storage.encryption_key (or BEATMATCH_STORAGE_ENCRYPTION_KEY)"
#: How many stored tokens (the most recently updated) are tried against the key at start.
CHECKED_TOKENS = 20
VALID_KEY = (
    "a valid key is 44 characters of URL-safe base64 (32 random bytes); make one with: "
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
FORGET_LINKS = (
    "If the key is lost for good, run `beatmatch forget-links` to delete the stored tokens; "
    "the listeners then link their accounts again."
)


class TokenDecryptError(RuntimeError):
    """A stored token could not be decrypted (the key changed or the row is corrupt)."""


def load_or_create_key(
    configured: str, data_dir: Path, accounts: AccountStore | None = None
) -> bytes:
    """The Fernet key: ``configured`` if given, else ``data_dir/secret.key`` — created (mode 0600)
    only when ``accounts`` holds no tokens. With ``accounts``, the key must decrypt the stored
    tokens (a few are tried). EncryptionKeyError, naming the file or setting and what to do, when
    the key is malformed, missing while tokens are stored, or not the one they were saved with."""
    counts = accounts.link_counts() if accounts is not None else {}
    stored = sum(counts.values())
    path = data_dir / KEY_FILE
    if configured:
        where = f"The key in {KEY_SETTING}"
        key = _checked(configured.strip().encode(), where, counts, None)
    else:
        where = f"The key file {path}"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            if stored:
                raise EncryptionKeyError(
                    f"The tokens of {_described(counts)} are stored, but their key file {path} "
                    "is missing (a new key would not read them, so none is made). Restore "
                    f"{KEY_FILE} from your backup into {data_dir} (or set {KEY_SETTING} to that "
                    f"key) and start again. {FORGET_LINKS}"
                ) from None
            return _create(path)
        except OSError as error:
            raise EncryptionKeyError(
                f"{where} can't be read ({error.strerror or error}): make it a file readable by "
                f"the user beatmatch runs as, or set {KEY_SETTING}."
            ) from None
        key = _checked(raw.strip(), where, counts, path)
    if accounts is not None and stored:
        _check_decrypts(key, accounts, where, counts, data_dir)
    return key


def _checked(key: bytes, where: str, counts: dict[str, int], path: Path | None) -> bytes:
    """``key`` if it is a Fernet key, else the EncryptionKeyError that says what one looks like."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        advice = (
            f"The tokens of {_described(counts)} were saved with the original key: restore it "
            f"from your backup. {FORGET_LINKS}"
            if counts
            else f"No account tokens are stored yet, so you may also delete {path} to have a "
            "new key generated."
            if path is not None
            else "No account tokens are stored yet, so any new key will do."
        )
        raise EncryptionKeyError(
            f"{where} is not a valid encryption key ({len(key)} characters); {VALID_KEY}. " + advice
        ) from None
    return key


def _check_decrypts(
    key: bytes, accounts: AccountStore, where: str, counts: dict[str, int], data_dir: Path
) -> None:
    """Stop when ``key`` decrypts none of the most recent stored tokens (one that fails among
    good ones is a damaged row: its listener links again, with a warning in the log)."""
    cipher = TokenCipher(key)
    blobs = accounts.recent_token_blobs(CHECKED_TOKENS)
    failed = 0
    for blob in blobs:
        try:
            cipher.decrypt(blob)
        except TokenDecryptError:
            failed += 1
    if blobs and failed == len(blobs):
        raise EncryptionKeyError(
            f"{where} does not decrypt the stored tokens of {_described(counts)}: it is not "
            f"the key they were saved with. Restore that key ({KEY_FILE} from your backup into "
            f"{data_dir}, or {KEY_SETTING}) and start again. {FORGET_LINKS}"
        )
    if failed:
        log.warning(
            "%d of the %d most recent stored account tokens cannot be decrypted with %s; "
            "those listeners must link again",
            failed,
            len(blobs),
            where[0].lower() + where[1:],
        )


def _described(counts: dict[str, int]) -> str:
    """``{"pulsoid": 1, "spotify": 2}`` as "3 linked accounts (1 Pulsoid, 2 Spotify)"."""
    total = sum(counts.values())
    parts = ", ".join(f"{n} {provider.title()}" for provider, n in sorted(counts.items()))
    return f"{total} linked account{'s' if total != 1 else ''} ({parts})"


def _create(path: Path) -> bytes:
    """A new key in ``path`` (mode 0600), with a warning to back it up."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
