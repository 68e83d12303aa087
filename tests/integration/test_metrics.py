"""/metrics after a scripted console session, through the real aiohttp client and prometheus-client's
own parser: commands by name and outcome, their latency, the training and workout gauges; off unless ``web.metrics``.
And JSON log lines carry the incident id the user was shown."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.core.catalog import demo_state
from bot.core.dispatch import handle_text, logged_apology
from bot.core.replies import ChatUser
from bot.log_format import formatter
from bot.web import bound_port, start_web
from tests.rig import make_app, rig_config, settle

CONSOLE = ChatUser("console", "console", "you")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_a_scripted_session(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, demo_state(300), config=rig_config(tmp_path, BEATMATCH_WEB_METRICS="1")
    )
    runner = await start_web(app.service, "127.0.0.1", 0, **app.web_options())
    try:
        for text in ("/help", "/help recommend", "/recommend 5", "/recommend 500", "/frobnicate"):
            await handle_text(app.service, CONSOLE, text)
        await settle(app)
        url = f"http://127.0.0.1:{bound_port(runner)}/metrics"
        async with aiohttp.ClientSession() as client, client.get(url) as response:
            assert response.status == 200
            text = await response.text()
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()
    got = _samples(text)
    commands = "beatmatch_commands_total"
    assert got[(commands, (("command", "help"), ("outcome", "ok")))] == 2
    # No library yet: answered with the invitation to /start; then a count above
    # recommend.max_count: refused with a message.
    assert got[(commands, (("command", "recommend"), ("outcome", "ok")))] == 1
    assert got[(commands, (("command", "recommend"), ("outcome", "refused")))] == 1
    assert got[(commands, (("command", "unknown"), ("outcome", "refused")))] == 1
    assert got[("beatmatch_command_seconds_count", (("command", "recommend"),))] == 2
    assert got[("beatmatch_training_jobs_running", ())] == 0
    assert got[("beatmatch_workouts_live", ())] == 0


async def test_metrics_are_off_unless_configured(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo_state(200))
    runner = await start_web(app.service, "127.0.0.1", 0, **app.web_options())
    try:
        url = f"http://127.0.0.1:{bound_port(runner)}/metrics"
        async with aiohttp.ClientSession() as client, client.get(url) as response:
            assert response.status == 404
    finally:
        await runner.cleanup()
        await settle(app)
        await app.shutdown()


def test_json_log_line_carries_the_incident_the_user_saw() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("bot.core.dispatch")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("the database went away")
        except RuntimeError:
            reply = logged_apology(CONSOLE)
    finally:
        logger.removeHandler(handler)
    shown = re.search(r"incident ([0-9a-f]{6})", reply.text)
    assert shown is not None
    (line,) = stream.getvalue().splitlines()  # one line, traceback included
    record = json.loads(line)
    assert record["incident"] == shown.group(1)
    assert record["level"] == "ERROR" and record["logger"] == "bot.core.dispatch"
    assert record["message"].startswith(f"incident {shown.group(1)}")
    assert "the database went away" in record["exc_info"]
    assert {"time", "level", "logger", "message"} <= set(record)
