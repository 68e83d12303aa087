"""Configuration: a TOML file read into frozen dataclasses, every key overridable from the environment.

``BEATMATCH_<SECTION>_<KEY>`` overrides ``[section] key`` (``BEATMATCH_TELEGRAM_TOKEN`` sets
``telegram.token``). Unknown sections or keys in the file are an error, so a typo is caught at start.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "BEATMATCH_"


class ConfigError(ValueError):
    """The configuration file or an environment override is wrong; the message says which key."""


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = "data"
    encryption_key: str = ""


@dataclass(frozen=True)
class CatalogConfig:
    path: str = ""
    demo_size: int = 3000


@dataclass(frozen=True)
class RecommendConfig:
    default_count: int = 10
    max_count: int = 50
    cooldown_seconds: float = 3.0
    negatives_per_positive: int = 40


@dataclass(frozen=True)
class TelegramConfig:
    token: str = ""
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_secret: str = ""


@dataclass(frozen=True)
class DiscordConfig:
    token: str = ""
    dev_guild_id: int = 0


@dataclass(frozen=True)
class SpotifyConfig:
    client_id: str = ""
    client_secret: str = ""
    redirect_port: int = 8888
    api_base: str = "https://api.spotify.com/v1/"
    accounts_base: str = "https://accounts.spotify.com/"
    legacy_audio_features: bool = False
    request_timeout: float = 10.0
    max_backoff_seconds: float = 30.0
    refresh_hours: float = 24.0
    queue_in_workouts: bool = False


@dataclass(frozen=True)
class ReccoBeatsConfig:
    enabled: bool = True
    api_base: str = "https://api.reccobeats.com/v1/"


@dataclass(frozen=True)
class PulsoidConfig:
    client_id: str = ""
    client_secret: str = ""
    api_base: str = "https://dev.pulsoid.net/"
    oauth_base: str = "https://pulsoid.net/"


@dataclass(frozen=True)
class WebConfig:
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    metrics: bool = False
    metrics_public: bool = False


@dataclass(frozen=True)
class ConsoleConfig:
    user: str = "console"
    simulator_speed: float = 30.0
    log_file: str = "logs/console.log"  # under storage.data_dir unless absolute; "stderr": there


@dataclass(frozen=True)
class TrainingConfig:
    workers: int = 0  # worker processes of the embedded pool; 0: cores − 1 (at least 1)
    redis_url: str = ""  # a Redis for `beatmatch worker`s on other machines; "": the embedded pool
    queue: str = "beatmatch"  # the job queue's name on that Redis


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class Config:
    """The whole configuration of one beatmatch process."""

    storage: StorageConfig = field(default_factory=StorageConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    spotify: SpotifyConfig = field(default_factory=SpotifyConfig)
    reccobeats: ReccoBeatsConfig = field(default_factory=ReccoBeatsConfig)
    pulsoid: PulsoidConfig = field(default_factory=PulsoidConfig)
    web: WebConfig = field(default_factory=WebConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    @property
    def data_dir(self) -> Path:
        """The data directory, as a path (created by storage when first used)."""
        return Path(self.storage.data_dir).expanduser()


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


def _coerce(section: str, key: str, kind: object, value: object) -> object:
    """``value`` converted to the field's type, or ConfigError naming the key."""
    where = f"{section}.{key}"
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(str(value).strip() or 0)
        if kind is float:
            return float(str(value).strip() or 0)
        return str(value)
    except ValueError:
        name = getattr(kind, "__name__", str(kind))
        article = "an" if name[:1] in "aeiou" else "a"
        raise ConfigError(f"{where} must be {article} {name}, got {value!r}.") from None


def _build_section(name: str, cls: type, values: Mapping[str, object]) -> object:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"Unknown key(s) in [{name}]: {', '.join(unknown)}.")
    kwargs = {key: _coerce(name, key, hints[key], value) for key, value in values.items()}
    return cls(**kwargs)


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (optional) and apply ``BEATMATCH_*`` overrides from ``env`` (default os.environ)."""
    env = os.environ if env is None else env
    raw: dict[str, dict[str, object]] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"No configuration file at {file}.")
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{file} is not valid TOML: {error}") from None
    sections = _section_types()
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(f"Unknown section(s) in the configuration: {', '.join(unknown)}.")
    for name, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"[{name}] must be a table of keys.")
    merged: dict[str, dict[str, object]] = {name: dict(raw.get(name, {})) for name in sections}
    for variable, value in env.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        rest = variable[len(ENV_PREFIX) :].lower()
        for name in sections:
            if rest.startswith(name + "_"):
                merged[name][rest[len(name) + 1 :]] = value
                break
        else:
            raise ConfigError(
                f"{variable} names no configuration section; sections are "
                f"{', '.join(sections)} (BEATMATCH_<SECTION>_<KEY>)."
            )
    built = {name: _build_section(name, cls, merged[name]) for name, cls in sections.items()}
    return Config(**built)  # type: ignore[arg-type]


def config_keys() -> list[str]:
    """Every ``section.key`` name the configuration knows (the docs test checks each is explained)."""
    keys: list[str] = []
    for name, cls in _section_types().items():
        keys.extend(f"{name}.{f.name}" for f in dataclasses.fields(cls))
    return keys
