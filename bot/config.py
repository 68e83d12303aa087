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

from bot.config_rules import RULES, cross_problems

ENV_PREFIX = "BEATMATCH_"


class ConfigError(ValueError):
    """The configuration file or an environment override is wrong: one line per problem, each
    naming the key (and the ``BEATMATCH_*`` variable it came from) and what it accepts."""

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems = list(problems)

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        return f"the configuration has {len(self.problems)} problems:\n{lines}"


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
    fresh_days: int = 14
    recency_half_life_days: int = 365


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


class _NotConvertible(ValueError):
    """A value that is not of the key's type (or an empty environment variable for a number)."""


def _coerce(kind: object, value: object, from_env: bool) -> object:
    """``value`` converted to the field's type, or _NotConvertible."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise _NotConvertible(text)
    if kind in (int, float):
        if isinstance(value, bool) or (from_env and not str(value).strip()):
            raise _NotConvertible(value)
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, str) and not isinstance(value, kind):
            raise _NotConvertible(value)
        try:
            return int(str(value).strip()) if kind is int else float(str(value).strip())
        except ValueError:
            raise _NotConvertible(value) from None
    return str(value)


@dataclass(frozen=True)
class _Given:
    """A configured value and the environment variable it came from ("" when from the file)."""

    value: object
    variable: str = ""


def _problem(key: str, given: _Given, allowed: str) -> str:
    """The one line for a bad value: who set it, what it is, what the key accepts."""
    where = f"{given.variable} ({key})" if given.variable else key
    shown = "empty" if given.value == "" else f"{given.value!r}"
    return f"{where} is {shown}: it must be {allowed}."


def _build_section(
    name: str,
    cls: type,
    given: Mapping[str, _Given],
    problems: list[str],
    checked: dict[str, object],
) -> object:
    """The section's dataclass from ``given``; bad values become ``problems`` (defaults stand in)."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in sorted(set(given) - known):
        variable = given[key].variable
        problems.append(
            f"{variable}: [{name}] has no key {key} (its keys are {', '.join(sorted(known))})."
            if variable
            else f"Unknown key in [{name}]: {key} (its keys are {', '.join(sorted(known))})."
        )
    kwargs: dict[str, object] = {}
    for key in sorted(known & set(given)):
        full = f"{name}.{key}"
        rule = RULES.get(full)
        allowed = rule.allowed if rule else f"a {getattr(hints[key], '__name__', hints[key])}"
        try:
            value = _coerce(hints[key], given[key].value, bool(given[key].variable))
        except _NotConvertible:
            problems.append(_problem(full, given[key], allowed))
            continue
        if rule is not None and not rule.ok(value):
            problems.append(_problem(full, given[key], allowed))
            continue
        kwargs[key] = value
    section = cls(**kwargs)
    checked.update({f"{name}.{f.name}": getattr(section, f.name) for f in dataclasses.fields(cls)})
    for keys, accepts in cross_problems(checked):
        blamed = next(
            (k for k in keys if k.startswith(name + ".") and k[len(name) + 1 :] in given), ""
        )
        if blamed:
            problems.append(_problem(blamed, given[blamed[len(name) + 1 :]], accepts[blamed]))
    return section


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (optional) and apply ``BEATMATCH_*`` overrides from ``env`` (default
    os.environ); every bad value is checked at once and reported together in one ConfigError."""
    env = os.environ if env is None else env
    raw: dict[str, object] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"No configuration file at {file}.")
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{file} is not valid TOML: {error}") from None
    sections = _section_types()
    problems: list[str] = [
        f"Unknown section in the configuration: [{name}] (sections are {', '.join(sections)})."
        for name in sorted(set(raw) - set(sections))
    ]
    given: dict[str, dict[str, _Given]] = {name: {} for name in sections}
    for name in sections:
        values = raw.get(name, {})
        if not isinstance(values, dict):
            problems.append(f"[{name}] must be a table of keys.")
            continue
        given[name] = {key: _Given(value) for key, value in values.items()}
    for variable, value in sorted(env.items()):
        if not variable.startswith(ENV_PREFIX):
            continue
        rest = variable[len(ENV_PREFIX) :].lower()
        for name in sections:
            if rest.startswith(name + "_"):
                given[name][rest[len(name) + 1 :]] = _Given(value, variable)
                break
        else:
            problems.append(
                f"{variable} names no configuration section; sections are "
                f"{', '.join(sections)} (BEATMATCH_<SECTION>_<KEY>)."
            )
    checked: dict[str, object] = {}
    built = {
        name: _build_section(name, cls, given[name], problems, checked)
        for name, cls in sections.items()
    }
    if problems:
        raise ConfigError(*problems)
    return Config(**built)  # type: ignore[arg-type]


def config_keys() -> list[str]:
    """Every ``section.key`` name the configuration knows (the docs test checks each is explained)."""
    keys: list[str] = []
    for name, cls in _section_types().items():
        keys.extend(f"{name}.{f.name}" for f in dataclasses.fields(cls))
    return keys
