"""OAuth states and PKCE (bot.core.oauth), callback addresses, and the authorize URL."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.core.accounts.spotify_links import looks_like_callback, parse_callback
from bot.core.errors import BadInput
from bot.core.oauth import LinkExpired, StateKeeper, pkce_pair
from bot.core.taste.playlists import playlist_choice
from bot.sources.backoff import busy_message, retry_after_seconds
from bot.sources.spotify_auth import SCOPES, SpotifyAuth
from storage.database import Storage

KEY = base64.urlsafe_b64encode(b"k" * 32)


@pytest.fixture
def keeper(storage: Storage) -> StateKeeper:
    return StateKeeper(storage.accounts, KEY)


@pytest.fixture
def uid(storage: Storage) -> int:
    return storage.users.user_id("telegram", "1", "Ann")


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


def test_a_state_is_redeemed_once_for_its_user(keeper: StateKeeper, uid: int) -> None:
    pending = keeper.issue(uid, "spotify")
    done = keeper.redeem(pending.state, "spotify", uid)
    assert (done.user_id, done.provider, done.verifier) == (uid, "spotify", pending.verifier)
    with pytest.raises(LinkExpired):
        keeper.redeem(pending.state, "spotify", uid)


def test_the_user_comes_from_the_stored_row(keeper: StateKeeper, uid: int) -> None:
    pending = keeper.issue(uid, "spotify")
    assert keeper.redeem(pending.state, "spotify").user_id == uid


def test_an_expired_state_is_refused(storage: Storage, uid: int) -> None:
    keeper = StateKeeper(storage.accounts, KEY, ttl=-1.0)
    pending = keeper.issue(uid, "spotify")
    with pytest.raises(LinkExpired, match="/link spotify"):
        keeper.redeem(pending.state, "spotify", uid)


@pytest.mark.parametrize(
    "forge",
    [
        lambda s: s.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAA",
        lambda s: "X" + s[1:],
        lambda s: s.split(".")[0],
        lambda s: "",
        lambda s: s + "." * 300,
    ],
)
def test_a_forged_state_is_refused_and_the_real_one_survives(
    keeper: StateKeeper, uid: int, forge: object
) -> None:
    pending = keeper.issue(uid, "spotify")
    with pytest.raises(LinkExpired):
        keeper.redeem(forge(pending.state), "spotify", uid)  # type: ignore[operator]
    assert keeper.redeem(pending.state, "spotify", uid).user_id == uid


def test_a_state_of_another_provider_is_refused(keeper: StateKeeper, uid: int) -> None:
    pending = keeper.issue(uid, "pulsoid")
    with pytest.raises(LinkExpired):
        keeper.redeem(pending.state, "spotify", uid)
    assert keeper.redeem(pending.state, "pulsoid", uid).provider == "pulsoid"


def test_a_state_of_another_chat_user_is_refused(
    keeper: StateKeeper, storage: Storage, uid: int
) -> None:
    other = storage.users.user_id("discord", "2", "Bob")
    pending = keeper.issue(uid, "spotify")
    with pytest.raises(LinkExpired, match="not yours"):
        keeper.redeem(pending.state, "spotify", other)


def test_a_key_of_another_server_cannot_sign(storage: Storage, uid: int) -> None:
    other_key = base64.urlsafe_b64encode(b"z" * 32)
    pending = StateKeeper(storage.accounts, other_key).issue(uid, "spotify")
    with pytest.raises(LinkExpired):
        StateKeeper(storage.accounts, KEY).redeem(pending.state, "spotify", uid)


def test_states_are_stored_by_hash_only(keeper: StateKeeper, storage: Storage, uid: int) -> None:
    pending = keeper.issue(uid, "spotify")
    rows = storage.sql.rows("select * from oauth_states")
    assert rows and all(pending.state.split(".")[0] not in str(r) for r in rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:8888/callback?code=abc&state=n.s", True),
        ("  http://127.0.0.1:9999/callback/spotify?state=n.s&code=x  ", True),
        ("http://[::1]:8888/callback?code=a&state=b", True),
        ("http://localhost:8888/callback?code=abc&state=n.s", False),
        ("http://127.0.0.1:8888/callback?code=abc", False),
        ("https://example.org/callback?code=abc&state=n.s", False),
        ("/recommend 5", False),
        ("look http://127.0.0.1:8888/callback?state=x", False),
    ],
)
def test_pasted_callback_addresses_are_recognised(text: str, expected: bool) -> None:
    assert looks_like_callback(text) is expected


def test_a_callback_address_gives_its_state_code_and_error() -> None:
    parsed = parse_callback("http://127.0.0.1:8888/callback?code=c1&state=s1")
    assert (parsed.code, parsed.state, parsed.error, parsed.loopback) == ("c1", "s1", "", True)
    denied = parse_callback("http://127.0.0.1:8888/callback?error=access_denied&state=s2")
    assert denied.error == "access_denied" and not denied.code
    public = parse_callback(
        "https://bot.example.org/callback/spotify?code=c&state=s", "https://bot.example.org"
    )
    assert not public.loopback
    for bad in (
        "https://evil.example/callback?code=c&state=s",
        "http://127.0.0.1:8888/callback?code=c",
    ):
        with pytest.raises(BadInput):
            parse_callback(bad, "https://bot.example.org")


def test_the_authorize_url_asks_for_code_with_pkce() -> None:
    auth = SpotifyAuth("cid", "secret", "https://accounts.example/")
    url = auth.authorize_url("http://127.0.0.1:8888/callback", "st.sig", "ch")
    split = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    assert f"{split.scheme}://{split.netloc}{split.path}" == "https://accounts.example/authorize"
    assert query == {
        "client_id": "cid",
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:8888/callback",
        "state": "st.sig",
        "scope": " ".join(SCOPES),
        "code_challenge_method": "S256",
        "code_challenge": "ch",
    }
    assert "secret" not in url


def test_the_authorize_url_asks_for_private_playlists_only() -> None:
    url = SpotifyAuth("cid", "", "https://accounts.example/").authorize_url(
        "http://127.0.0.1:8888/callback", "st.sig", "ch"
    )
    scopes = parse_qs(urlsplit(url).query)["scope"][0].split()
    assert "playlist-modify-private" in scopes
    assert "playlist-modify-public" not in scopes


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("no", None), ("yes", ""), ("TRUE", ""), ("Morning Run", "Morning Run")],
)
def test_playlist_option_values(value: str | None, expected: str | None) -> None:
    assert playlist_choice(value) == expected


def test_retry_after_header_values() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) == 1.0
    assert retry_after_seconds("soon") == 1.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert "about 2 hours" in busy_message("Spotify", 7200)
    assert "about a second" in busy_message("Spotify", 1)
