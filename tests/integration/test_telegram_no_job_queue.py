"""The Telegram front starts no job queue: beatmatch schedules nothing through PTB (its digest and
workouts have their own loops), so no APScheduler runs and the `job-queue` extra is not installed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from telegram.warnings import PTBUserWarning

from bot.chat.push import PushRouter
from bot.chat.telegram import TelegramFront
from tests.conftest import ROOT
from tests.rig import make_app, rig_config


async def test_the_telegram_front_has_no_job_queue(tmp_path: Path) -> None:
    config = rig_config(tmp_path, BEATMATCH_TELEGRAM_TOKEN="123456:TEST-token")
    app = make_app(tmp_path, config=config)
    try:
        front = TelegramFront(config.telegram, app.service, PushRouter(app.service.users))
        with pytest.warns(PTBUserWarning, match="JobQueue"):
            assert front.application.job_queue is None
    finally:
        await app.shutdown()


def test_python_telegram_bot_is_required_without_the_job_queue_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    ptb = next(
        Requirement(line)
        for line in project["dependencies"]
        if Requirement(line).name == "python-telegram-bot"
    )
    assert "job-queue" not in ptb.extras
    assert "rate-limiter" in ptb.extras  # the front's AIORateLimiter needs aiolimiter
