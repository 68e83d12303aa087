"""The key of the stored account tokens: never silently replaced while tokens saved with it are
stored; a missing, malformed or wrong key stops start-up with a message that names the file or
setting and what to do; ``beatmatch forget-links`` is the way out when the key is lost for good."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.crypto import KEY_FILE, TokenCipher, load_or_create_key
from storage.database import DATABASE_FILE, Storage
from storage.errors import EncryptionKeyError
from storage.token_vault import TokenVault
from tests.conftest import OFFLINE_RECCOBEATS, ROOT
from tests.rig import make_app

TIMEOUT_S = 180
GENERATE = "Fernet.generate_key()"


def _data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _link_accounts(data_dir: Path, key: bytes, links: dict[str, int]) -> None:
    """Store linked accounts' tokens encrypted with ``key``: ``links[provider]`` users each."""
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        vault = TokenVault(storage.accounts, TokenCipher(key))
        for provider, count in links.items():
            for n in range(count):
                uid = storage.users.user_id("telegram", f"{provider}-{n}", "Listener")
                vault.save(uid, provider, {"access_token": f"t{n}"}, f"acct {n}", "scope")
    finally:
        storage.close()


def _key_file(data_dir: Path, key: bytes) -> Path:
    path = data_dir / KEY_FILE
    path.write_bytes(key)
    return path


def _refusal(data_dir: Path, configured: str = "") -> str:
    """The message ``load_or_create_key`` stops start-up with, over the stored tokens."""
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        with pytest.raises(EncryptionKeyError) as refused:
            load_or_create_key(configured, data_dir, storage.accounts)
    finally:
        storage.close()
    return str(refused.value)


def test_without_stored_tokens_a_key_is_generated_once(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        key = load_or_create_key("", data_dir, storage.accounts)
        assert (data_dir / KEY_FILE).read_bytes() == key
        assert (data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600
        assert load_or_create_key("", data_dir, storage.accounts) == key
    finally:
        storage.close()
    Fernet(key)


def test_a_missing_key_file_with_stored_tokens_stops_start_up(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"spotify": 2, "pulsoid": 1})
    message = _refusal(data_dir)
    assert "3 linked accounts (1 Pulsoid, 2 Spotify)" in message
    assert str(data_dir / KEY_FILE) in message and "is missing" in message
    assert "Restore" in message and "backup" in message
    assert "beatmatch forget-links" in message
    assert not (data_dir / KEY_FILE).exists()  # no new key replaced the lost one


def test_assembling_the_app_refuses_too(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"pulsoid": 1})
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        with pytest.raises(EncryptionKeyError, match="1 linked account \\(1 Pulsoid\\)"):
            make_app(tmp_path, storage=storage)
    finally:
        storage.close()
    assert not (data_dir / KEY_FILE).exists()


def test_a_key_file_that_is_not_the_tokens_key_is_refused(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"spotify": 1})
    path = _key_file(data_dir, Fernet.generate_key())
    message = _refusal(data_dir)
    assert f"The key file {path} does not decrypt" in message
    assert "not the key they were saved with" in message and "forget-links" in message


def test_a_configured_key_that_is_not_the_tokens_key_is_refused(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"spotify": 1})
    message = _refusal(data_dir, Fernet.generate_key().decode())
    assert "storage.encryption_key" in message and "BEATMATCH_STORAGE_ENCRYPTION_KEY" in message
    assert "does not decrypt" in message


def test_the_right_key_starts(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    key = Fernet.generate_key()
    _link_accounts(data_dir, key, {"spotify": 2})
    _key_file(data_dir, key)
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        assert load_or_create_key("", data_dir, storage.accounts) == key
        assert load_or_create_key(key.decode(), data_dir, storage.accounts) == key
    finally:
        storage.close()


@pytest.mark.parametrize("content", [b"", b"not a key", b"x" * 44], ids=["empty", "text", "44x"])
def test_a_malformed_key_file_names_the_file_and_what_a_key_looks_like(
    tmp_path: Path, content: bytes
) -> None:
    data_dir = _data_dir(tmp_path)
    Storage.open(data_dir / DATABASE_FILE).close()
    path = _key_file(data_dir, content)
    message = _refusal(data_dir)
    assert f"The key file {path} is not a valid encryption key" in message
    assert "44 characters of URL-safe base64" in message and GENERATE in message
    assert f"delete {path}" in message  # no tokens are stored: a new key is harmless
    assert path.read_bytes() == content


def test_a_malformed_configured_key_names_the_setting(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"pulsoid": 2})
    message = _refusal(data_dir, "short")
    assert "storage.encryption_key (or BEATMATCH_STORAGE_ENCRYPTION_KEY)" in message
    assert "is not a valid encryption key" in message and GENERATE in message
    assert "2 linked accounts" in message and "forget-links" in message


# -- through the real command line ---------------------------------------------------------------
def _beatmatch(
    tmp_path: Path, *args: str, stdin: str = "/quit\n", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(_data_dir(tmp_path)),
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "PYTHONIOENCODING": "utf-8",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stderr.strip().splitlines()[-1]


def test_the_console_stops_with_one_message_when_the_key_file_is_lost(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"spotify": 1, "pulsoid": 1})
    done = _beatmatch(tmp_path, "console")
    assert done.returncode == 2
    message = _last_line(done)
    assert message.startswith("beatmatch: The tokens of 2 linked accounts")
    assert str(data_dir / KEY_FILE) in message and "forget-links" in message
    assert not (data_dir / KEY_FILE).exists()


def test_a_malformed_key_in_the_environment_stops_with_one_message(tmp_path: Path) -> None:
    done = _beatmatch(tmp_path, "console", BEATMATCH_STORAGE_ENCRYPTION_KEY="oops")
    assert done.returncode == 2
    message = _last_line(done)
    assert message.startswith("beatmatch: The key in storage.encryption_key")
    assert "BEATMATCH_STORAGE_ENCRYPTION_KEY" in message and GENERATE in message


def test_forget_links_asks_first_then_deletes_the_tokens_so_the_bot_starts(
    tmp_path: Path,
) -> None:
    data_dir = _data_dir(tmp_path)
    _link_accounts(data_dir, Fernet.generate_key(), {"spotify": 2, "pulsoid": 1})

    declined = _beatmatch(tmp_path, "forget-links", stdin="no\n")
    assert declined.returncode == 2
    assert "nothing deleted" in _last_line(declined) and "--yes" in _last_line(declined)
    assert "3 linked accounts (1 Pulsoid, 2 Spotify)" in declined.stdout  # the question
    assert _beatmatch(tmp_path, "console").returncode == 2  # still refused

    done = _beatmatch(tmp_path, "forget-links", "--yes")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Deleted the stored tokens of 3 linked accounts" in done.stdout
    storage = Storage.open(data_dir / DATABASE_FILE)
    try:
        assert storage.accounts.link_counts() == {}
    finally:
        storage.close()

    started = _beatmatch(tmp_path, "console")
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout.rstrip().endswith("bye.")
    Fernet((data_dir / KEY_FILE).read_bytes())  # a new key, for the links to come
