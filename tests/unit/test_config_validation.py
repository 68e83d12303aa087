"""Config validation: each bad value gives one line naming the key (and the BEATMATCH_* variable it
came from) and what the key accepts; every problem is reported at once; `beatmatch run` exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, config_keys, load_config
from bot.config_rules import RULES
from tests.conftest import ROOT


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return error.value.problems


@pytest.mark.parametrize(
    ("section", "line", "key", "allowed"),
    [
        ("web", "port = 70000", "web.port", "from 0 to 65535"),
        ("web", "port = -1", "web.port", "from 0 to 65535"),
        ("spotify", "redirect_port = 0", "spotify.redirect_port", "from 1 to 65535"),
        ("recommend", "max_count = 0", "recommend.max_count", "from 1 to 500"),
        ("recommend", "default_count = 60", "recommend.default_count", "recommend.max_count (50)"),
        ("recommend", "negatives_per_positive = 0", "recommend.negatives_per_positive", "1 to"),
        ("recommend", "cooldown_seconds = -1.0", "recommend.cooldown_seconds", "from 0"),
        (
            "recommend",
            "recency_half_life_days = -1",
            "recommend.recency_half_life_days",
            "0: every like weighs the same",
        ),
        ("catalog", "demo_size = 5", "catalog.demo_size", "from 100 to 1000000"),
        ("web", 'public_url = "http://bot.example"', "web.public_url", "https://"),
        ("web", 'public_url = "bot.example"', "web.public_url", "https://"),
        ("web", 'host = ""', "web.host", "host name"),
        ("telegram", 'base_url = "api.telegram.org/bot"', "telegram.base_url", "http://"),
        ("spotify", 'api_base = "ftp://x.example/"', "spotify.api_base", "https://"),
        ("pulsoid", 'oauth_base = "pulsoid"', "pulsoid.oauth_base", "https://"),
        ("reccobeats", 'api_base = ""', "reccobeats.api_base", "https://"),
        ("telegram", 'webhook_secret = "has spaces"', "telegram.webhook_secret", "1 to 256"),
        ("logging", 'level = "verbose"', "logging.level", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("spotify", "request_timeout = 0.0", "spotify.request_timeout", "above 0"),
        ("spotify", "request_timeout = 3600.0", "spotify.request_timeout", "at most 300"),
        ("spotify", "max_backoff_seconds = 86400.0", "spotify.max_backoff_seconds", "3600"),
        ("spotify", "refresh_hours = -2.0", "spotify.refresh_hours", "hours"),
        ("console", "simulator_speed = 0.0", "console.simulator_speed", "above 0"),
        ("console", 'user = "  "', "console.user", "not blank"),
        ("training", "workers = 1000", "training.workers", "from 0 to 256"),
        ("training", 'redis_url = "localhost:6379"', "training.redis_url", "redis://"),
        ("training", 'queue = "two words"', "training.queue", "1 to 100"),
        ("discord", "dev_guild_id = -5", "discord.dev_guild_id", "0: none"),
        ("catalog", 'path = "/nowhere/tracks.csv"', "catalog.path", "existing catalog file"),
        ("storage", 'data_dir = "config.toml"', "storage.data_dir", "not a file"),
    ],
)
def test_each_bad_value_gives_one_line_naming_the_key_and_the_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, line: str, key: str, allowed: str
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths (storage.data_dir) resolve beside the file
    path = _write(tmp_path, f"[{section}]\n{line}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert len(_problems(error)) == 1
    problem = _problems(error)[0]
    assert "\n" not in problem
    assert problem.startswith(f"{key} is ")
    assert allowed in problem
    assert str(error.value) == problem


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[logging]\nlevel = "debug"\n', "logging.level"),
        ('[logging]\nlevel = "Critical"\n', "logging.level"),
        ('[web]\npublic_url = "https://bot.example"\n', "web.public_url"),
        ('[web]\npublic_url = "http://localhost:8080"\n', "web.public_url"),
        ('[web]\npublic_url = "http://127.0.0.1:8080"\n', "web.public_url"),
        ("[web]\nport = 65535\n", "web.port"),
        ("[recommend]\ndefault_count = 100\nmax_count = 100\n", "recommend.max_count"),
        ("[spotify]\nrefresh_hours = 0\n", "spotify.refresh_hours"),
        ('[training]\nredis_url = "unix:///run/redis.sock"\n', "training.redis_url"),
        ('[telegram]\nwebhook_secret = "A-z_09"\n', "telegram.webhook_secret"),
    ],
)
def test_good_values_at_the_edges_are_taken(tmp_path: Path, text: str, key: str) -> None:
    load_config(_write(tmp_path, text), env={})


def test_an_empty_environment_port_names_the_variable_not_port_zero() -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env={"BEATMATCH_WEB_PORT": ""})
    assert _problems(error) == [
        "BEATMATCH_WEB_PORT (web.port) is empty: it must be a whole number from 0 to 65535 "
        "(0: any free port)."
    ]


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("BEATMATCH_SPOTIFY_REDIRECT_PORT", "99999", "spotify.redirect_port"),
        ("BEATMATCH_RECOMMEND_COOLDOWN_SECONDS", "", "recommend.cooldown_seconds"),
        ("BEATMATCH_LOGGING_LEVEL", "verbose", "logging.level"),
        ("BEATMATCH_WEB_PUBLIC_URL", "http://bot.example", "web.public_url"),
        ("BEATMATCH_RECOMMEND_DEFAULT_COUNT", "51", "recommend.default_count"),
    ],
)
def test_a_bad_environment_value_names_the_variable_and_the_key(
    variable: str, value: str, key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env={variable: value})
    assert len(_problems(error)) == 1
    assert _problems(error)[0].startswith(f"{variable} ({key}) is ")


def test_a_max_count_below_the_default_blames_max_count_when_only_it_is_set() -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env={"BEATMATCH_RECOMMEND_MAX_COUNT": "5"})
    assert _problems(error) == [
        "BEATMATCH_RECOMMEND_MAX_COUNT (recommend.max_count) is '5': it must be a whole number "
        "from recommend.default_count (10) to 500."
    ]


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[web]\nport = 70000\npublic_url = "http://bot.example"\n[logging]\nlevel = "loud"\n'
        "[telegram]\ntokn = 'x'\n",
    )
    with pytest.raises(ConfigError) as error:
        load_config(path, env={"BEATMATCH_RECOMMEND_MAX_COUNT": "many"})
    keys = ["web.port", "web.public_url", "logging.level", "recommend.max_count", "tokn"]
    problems = _problems(error)
    assert len(problems) == len(keys)
    for key in keys:
        assert sum(key in problem for problem in problems) == 1, (key, problems)
    assert str(error.value).startswith("the configuration has 5 problems:\n")


def test_every_key_has_a_rule() -> None:
    assert set(RULES) == set(config_keys())


def test_beatmatch_run_exits_2_with_the_lines_and_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, '[web]\nport = 70000\n[logging]\nlevel = "verbose"\n')
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment["BEATMATCH_SPOTIFY_REDIRECT_PORT"] = ""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(path)],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "beatmatch: the configuration has 3 problems:"
    assert lines[1:] == [
        "  BEATMATCH_SPOTIFY_REDIRECT_PORT (spotify.redirect_port) is empty: it must be a whole "
        "number from 1 to 65535.",
        "  web.port is 70000: it must be a whole number from 0 to 65535 (0: any free port).",
        "  logging.level is 'verbose': it must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL "
        "(any case).",
    ]
