"""What each configuration key accepts: one rule per ``section.key``, checked when the config loads.

A rule says in words what is allowed ("a whole number from 1 to 65535") and tests a value already
converted to the key's type. ``bot.config`` turns every failure into one line naming the key (and
the ``BEATMATCH_*`` variable when the value came from the environment) and reports them together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class Rule:
    """``allowed`` describes the accepted values (it follows "must be"); ``ok`` tests one."""

    allowed: str
    ok: Callable[[object], bool]


def whole(low: int, high: int, note: str = "") -> Rule:
    """An int from ``low`` to ``high`` inclusive; ``note`` explains a special value."""
    extra = f" ({note})" if note else ""
    return Rule(
        f"a whole number from {low} to {high}{extra}",
        lambda v: isinstance(v, int) and low <= v <= high,
    )


def seconds(low: float, high: float, *, zero: str = "", unit: str = "seconds") -> Rule:
    """A duration above ``low`` (or exactly 0 when ``zero`` says what 0 means) up to ``high``."""
    if zero:
        return Rule(
            f"a number of {unit} from 0 ({zero}) to {high:g}",
            lambda v: isinstance(v, float) and 0 <= v <= high,
        )
    return Rule(
        f"a number of {unit} above {low:g}, at most {high:g}",
        lambda v: isinstance(v, float) and low < v <= high,
    )


def _url_ok(value: object, schemes: tuple[str, ...]) -> bool:
    parts = urlsplit(str(value))
    if parts.scheme.lower() not in schemes:
        return False
    return bool(parts.path) if parts.scheme.lower() == "unix" else bool(parts.hostname)


def url(schemes: tuple[str, ...] = ("http", "https"), *, empty: str = "") -> Rule:
    """An absolute URL with a host and one of ``schemes``; "" too when ``empty`` says what it means."""
    words = " or ".join(f"{s}://" for s in schemes)
    allowed = f"an {words} URL with a host" + (f", or empty ({empty})" if empty else "")
    return Rule(allowed, lambda v: (bool(empty) and v == "") or _url_ok(v, schemes))


def _public_url_ok(value: object) -> bool:
    if value == "":
        return True
    parts = urlsplit(str(value))
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS


def text(allowed: str, pattern: re.Pattern[str] | None = None, *, empty: bool = False) -> Rule:
    """Free text, not blank (unless ``empty``), matching ``pattern`` when one is given."""

    def ok(value: object) -> bool:
        if value == "":
            return empty
        return bool(str(value).strip()) and (pattern is None or bool(pattern.match(str(value))))

    return Rule(allowed, ok)


def _directory_ok(value: object) -> bool:
    path = Path(str(value)).expanduser()
    return bool(str(value).strip()) and (not path.exists() or path.is_dir())


def _catalog_ok(value: object) -> bool:
    location = str(value)
    if location == "" or location.lower().startswith(("http://", "https://")):
        return location == "" or _url_ok(location, ("http", "https"))
    return Path(location).expanduser().is_file()


ANY = Rule("any text", lambda v: True)
FLAG = Rule("true or false", lambda v: isinstance(v, bool))
PORT = whole(1, 65535)

#: The rule of every key (tests/unit/test_config_validation.py checks that none is missing).
RULES: Mapping[str, Rule] = {
    "storage.data_dir": Rule("a directory path (it may not exist yet), not a file", _directory_ok),
    # Checked where the key is loaded (storage.crypto), with how to generate one.
    "storage.encryption_key": ANY,
    "catalog.path": Rule(
        "an existing catalog file, an http(s):// URL, or empty (the demo catalog)", _catalog_ok
    ),
    "catalog.demo_size": whole(100, 1_000_000),
    "recommend.default_count": whole(1, 500),
    "recommend.max_count": whole(1, 500),
    "recommend.cooldown_seconds": seconds(0, 3600, zero="no cooldown"),
    "recommend.negatives_per_positive": whole(1, 1000),
    "recommend.fresh_days": whole(0, 365, "0: lists may repeat"),
    "recommend.recency_half_life_days": whole(0, 36500, "0: every like weighs the same"),
    "telegram.token": ANY,
    "telegram.base_url": url(),
    "telegram.base_file_url": url(),
    "telegram.webhook_secret": text(
        "1 to 256 of A-Z a-z 0-9 _ -, or empty (derived from the token)",
        _WEBHOOK_SECRET,
        empty=True,
    ),
    "discord.token": ANY,
    "discord.dev_guild_id": whole(0, 2**64 - 1, "0: none"),
    "spotify.client_id": ANY,
    "spotify.client_secret": ANY,
    "spotify.redirect_port": PORT,
    "spotify.api_base": url(),
    "spotify.accounts_base": url(),
    "spotify.legacy_audio_features": FLAG,
    "spotify.request_timeout": seconds(0, 300),
    "spotify.max_backoff_seconds": seconds(0, 3600, zero="never wait for Spotify"),
    "spotify.refresh_hours": seconds(0, 24 * 90, zero="only when linking", unit="hours"),
    "spotify.queue_in_workouts": FLAG,
    "reccobeats.enabled": FLAG,
    "reccobeats.api_base": url(),
    "pulsoid.client_id": ANY,
    "pulsoid.client_secret": ANY,
    "pulsoid.api_base": url(),
    "pulsoid.oauth_base": url(),
    "web.public_url": Rule(
        "an https:// URL with a host (http:// only for localhost or 127.0.0.1), or empty",
        _public_url_ok,
    ),
    "web.host": text("a host name or address to listen on"),
    # 0 lets the system pick a free port (the tests do; the log names it). Empty is an error.
    "web.port": whole(0, 65535, "0: any free port"),
    "web.metrics": FLAG,
    "web.metrics_public": FLAG,
    "console.user": text("a user name, not blank"),
    "console.log_file": text("a file path (under storage.data_dir unless absolute) or stderr"),
    "console.simulator_speed": seconds(0, 10_000, unit="times real time"),
    "training.workers": whole(0, 256, "0: automatic"),
    "training.redis_url": url(("redis", "rediss", "unix"), empty="the embedded pool"),
    "training.queue": text("1 to 100 of A-Z a-z 0-9 _ . : -", _QUEUE_NAME),
    "logging.level": Rule(
        "one of " + ", ".join(LEVELS) + " (any case)",
        lambda v: str(v).strip().upper() in LEVELS,
    ),
    "logging.format": Rule("text or json", lambda v: str(v).strip().lower() in ("text", "json")),
}


def cross_problems(
    values: Mapping[str, object],
) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    """Rules between keys, given every ``section.key`` value so far: for each broken one, the keys
    involved (the first one the operator set is blamed) and what each of them accepts."""
    problems: list[tuple[tuple[str, ...], dict[str, str]]] = []
    default, most = values.get("recommend.default_count"), values.get("recommend.max_count")
    if isinstance(default, int) and isinstance(most, int) and default > most:
        problems.append(
            (
                ("recommend.default_count", "recommend.max_count"),
                {
                    "recommend.default_count": "a whole number from 1 to recommend.max_count "
                    f"({most})",
                    "recommend.max_count": "a whole number from recommend.default_count "
                    f"({default}) to 500",
                },
            )
        )
    return problems
