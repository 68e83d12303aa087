"""Configuration: defaults, the TOML file, BEATMATCH_* overrides, errors that name the key, docs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, config_keys, load_config
from tests.conftest import ROOT

EXAMPLE = ROOT / "config.example.toml"
#: Keys whose names other code and the operators' configs depend on (shared/DESIGN.md).
CONTRACT_KEYS = (
    "telegram.token",
    "discord.token",
    "spotify.client_id",
    "spotify.client_secret",
    "pulsoid.client_id",
    "pulsoid.client_secret",
    "storage.data_dir",
    "catalog.path",
    "web.public_url",
    "telegram.base_url",
    "telegram.base_file_url",
    "spotify.api_base",
    "spotify.accounts_base",
    "pulsoid.api_base",
    "reccobeats.api_base",
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment() -> None:
    config = load_config(env={})
    assert config == Config()
    assert config.storage.data_dir == "data"
    assert config.data_dir == Path("data")
    assert config.catalog.path == ""
    assert config.telegram.token == "" and config.discord.token == ""
    assert config.recommend.default_count <= config.recommend.max_count
    assert config.reccobeats.enabled is True


def test_other_environment_variables_are_ignored() -> None:
    assert load_config(env={"HOME": "/x", "BEATMATCHX_STORAGE_DATA_DIR": "/y"}) == Config()


def test_file_values_are_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[storage]
data_dir = "/srv/beatmatch"
[recommend]
default_count = 7
cooldown_seconds = 1.5
[reccobeats]
enabled = false
[telegram]
token = "123:abc"
""",
    )
    config = load_config(path, env={})
    assert config.storage.data_dir == "/srv/beatmatch"
    assert config.recommend.default_count == 7
    assert config.recommend.cooldown_seconds == 1.5
    assert config.reccobeats.enabled is False
    assert config.telegram.token == "123:abc"
    assert config.recommend.max_count == Config().recommend.max_count


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[telegram]\ntoken = "from-file"\n')
    config = load_config(path, env={"BEATMATCH_TELEGRAM_TOKEN": "from-env"})
    assert config.telegram.token == "from-env"


@pytest.mark.parametrize(
    ("variable", "value", "section", "key", "expected"),
    [
        ("BEATMATCH_RECOMMEND_MAX_COUNT", "25", "recommend", "max_count", 25),
        ("BEATMATCH_RECOMMEND_COOLDOWN_SECONDS", "0.5", "recommend", "cooldown_seconds", 0.5),
        ("BEATMATCH_CONSOLE_SIMULATOR_SPEED", "600", "console", "simulator_speed", 600.0),
        ("BEATMATCH_RECCOBEATS_ENABLED", "false", "reccobeats", "enabled", False),
        ("BEATMATCH_RECCOBEATS_ENABLED", "0", "reccobeats", "enabled", False),
        (
            "BEATMATCH_SPOTIFY_LEGACY_AUDIO_FEATURES",
            "yes",
            "spotify",
            "legacy_audio_features",
            True,
        ),
        (
            "BEATMATCH_SPOTIFY_LEGACY_AUDIO_FEATURES",
            "TRUE",
            "spotify",
            "legacy_audio_features",
            True,
        ),
        (
            "BEATMATCH_DISCORD_DEV_GUILD_ID",
            "123456789012345678",
            "discord",
            "dev_guild_id",
            123456789012345678,
        ),
        ("BEATMATCH_STORAGE_DATA_DIR", "/tmp/x", "storage", "data_dir", "/tmp/x"),
        (
            "BEATMATCH_WEB_PUBLIC_URL",
            "https://bot.example",
            "web",
            "public_url",
            "https://bot.example",
        ),
    ],
)
def test_environment_override_is_coerced_to_the_key_type(
    variable: str, value: str, section: str, key: str, expected: object
) -> None:
    config = load_config(env={variable: value})
    got = getattr(getattr(config, section), key)
    assert got == expected
    assert type(got) is type(expected)


def test_overridden_config_is_frozen() -> None:
    config = load_config(env={"BEATMATCH_WEB_PORT": "9000"})
    assert config.web.port == 9000
    with pytest.raises(AttributeError):
        config.web.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("BEATMATCH_RECOMMEND_MAX_COUNT", "many", "recommend.max_count"),
        ("BEATMATCH_RECOMMEND_MAX_COUNT", "2.5", "recommend.max_count"),
        ("BEATMATCH_RECOMMEND_COOLDOWN_SECONDS", "soon", "recommend.cooldown_seconds"),
        ("BEATMATCH_RECCOBEATS_ENABLED", "perhaps", "reccobeats.enabled"),
        ("BEATMATCH_WEB_PORT", "80a", "web.port"),
    ],
)
def test_bad_environment_value_names_the_key(variable: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)) as error:
        load_config(env={variable: value})
    assert value in str(error.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[recommend]\nmax_count = "lots"\n', "recommend.max_count"),
        ("[recommend]\nmax_count = true\n", "recommend.max_count"),
        ('[reccobeats]\nenabled = "sometimes"\n', "reccobeats.enabled"),
        ('[web]\nport = "http"\n', "web.port"),
    ],
)
def test_bad_file_value_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(_write(tmp_path, text), env={})


def test_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tokn"):
        load_config(_write(tmp_path, '[telegram]\ntokn = "x"\n'), env={})


def test_unknown_section_in_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="telegarm"):
        load_config(_write(tmp_path, '[telegarm]\ntoken = "x"\n'), env={})


def test_unknown_key_in_the_environment_is_named() -> None:
    with pytest.raises(ConfigError, match="tokn"):
        load_config(env={"BEATMATCH_TELEGRAM_TOKN": "x"})


def test_unknown_section_in_the_environment_is_named() -> None:
    with pytest.raises(ConfigError, match=r"(?i)telegarm"):
        load_config(env={"BEATMATCH_TELEGARM_TOKEN": "x"})


def test_section_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="storage"):
        load_config(_write(tmp_path, 'storage = "data"\n'), env={})


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOML"):
        load_config(_write(tmp_path, "[storage\n"), env={})
    with pytest.raises(ConfigError, match="No configuration file"):
        load_config(tmp_path / "absent.toml", env={})


def test_config_keys_lists_every_section_and_key() -> None:
    keys = config_keys()
    assert len(keys) == len(set(keys))
    for key in CONTRACT_KEYS:
        assert key in keys
    for key in keys:
        section, name = key.split(".")
        assert hasattr(getattr(Config(), section), name)


def test_every_key_has_its_contract_name() -> None:
    for key in CONTRACT_KEYS:
        section, name = key.split(".")
        variable = f"BEATMATCH_{section.upper()}_{name.upper()}"
        value = "https://x.example/" if "url" in name or "base" in name else "value"
        value = {"path": str(EXAMPLE), "data_dir": str(ROOT / "elsewhere")}.get(name, value)
        config = load_config(env={variable: value})
        assert getattr(getattr(config, section), name) != getattr(getattr(Config(), section), name)


def _documented_keys() -> dict[str, set[str]]:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    return {section: set(values) for section, values in example.items()}


def _comment_before(lines: list[str], section: str, key: str) -> str:
    """The comments explaining ``key`` in ``[section]``: its inline comment, or the comment block
    above it or above the run of ``key = value`` lines it belongs to (blank if none)."""
    current = ""
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
            continue
        if current != section or not re.match(rf"^{re.escape(key)}\s*=", stripped):
            continue
        comments: list[str] = []
        above = number - 1
        while above >= 0:
            text = lines[above].strip()
            if text.startswith("#"):
                comments.append(text.lstrip("# "))
            elif comments or not re.match(r"^\w+\s*=", text):
                break  # the block ends at a blank line, a section header or an earlier key
            above -= 1
        value = stripped.split("=", 1)[1]
        inline = value.split("#", 1)[1] if "#" in value and '"' not in value else ""
        return (" ".join(comments) + " " + inline).strip()
    return ""


def test_every_config_key_is_explained_in_config_example_toml() -> None:
    assert EXAMPLE.is_file(), "config.example.toml is missing"
    documented = _documented_keys()
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    undocumented = [
        k for k in config_keys() if k.split(".")[1] not in documented.get(k.split(".")[0], set())
    ]
    assert not undocumented, f"keys missing from config.example.toml: {undocumented}"
    unexplained = [k for k in config_keys() if not _comment_before(lines, *k.split("."))]
    assert not unexplained, f"keys without an explaining comment: {unexplained}"


def test_config_example_toml_holds_only_known_keys_and_loads() -> None:
    assert EXAMPLE.is_file(), "config.example.toml is missing"
    config = load_config(EXAMPLE, env={})
    assert config == Config(), "the example's values should be the defaults"
    known = set(config_keys())
    for section, keys in _documented_keys().items():
        for key in keys:
            assert f"{section}.{key}" in known
