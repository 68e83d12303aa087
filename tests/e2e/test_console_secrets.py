"""A token pasted into the piped console never reaches the terminal: the console echoes each piped
line, but not what follows ``/link``, nor a link address's query values, nor anything written
as ``token=…``/``code=…``. The Pulsoid token is a real one of a fake Pulsoid on loopback, so the
link really happens with it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import OFFLINE_RECCOBEATS, ROOT
from tests.e2e.test_console import Session, assert_clean
from tests.fakes.fake_pulsoid import FakePulsoid

TIMEOUT_S = 180
CODE = "SpotifyCode8xV2qLm"
STATE = "StateNonce5pQr7T.sig4Zk"


@pytest.fixture
async def pulsoid() -> AsyncIterator[FakePulsoid]:
    fake = FakePulsoid()
    await fake.start()
    yield fake
    await fake.close()


async def _console(tmp_path: Path, lines: list[str], **env: str) -> Session:
    """The real console as a subprocess, fed ``lines``; the loop keeps serving the fakes."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEATMATCH_")}
    environment.update(
        {
            "BEATMATCH_STORAGE_DATA_DIR": str(tmp_path / "data"),
            "BEATMATCH_RECCOBEATS_API_BASE": OFFLINE_RECCOBEATS,
            "PYTHONIOENCODING": "utf-8",
            **env,
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdin = ("\n".join(lines) + "\n").encode()
    out, err = await asyncio.wait_for(process.communicate(stdin), TIMEOUT_S)
    assert process.returncode is not None
    return Session(
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        process.returncode,
        tmp_path / "data",
        tuple(lines),
    )


async def test_pasted_tokens_never_reach_the_terminal(tmp_path: Path, pulsoid: FakePulsoid) -> None:
    token = pulsoid.issue_token("profile-ann")
    typo = pulsoid.issue_token("profile-typo")
    stray = pulsoid.issue_token("profile-stray")
    callback = f"http://127.0.0.1:8888/callback?code={CODE}&state={STATE}"
    lines = [
        f"/link pulsoid {token}",
        f"/link {typo}",  # the account word forgotten: the token is the first word
        f"/link spotify {callback}",
        f"{callback}#access_token={stray}",
        f"/recommend 3 mood:energetic token:{stray}",
        "/quit",
    ]
    session = await _console(tmp_path, lines, BEATMATCH_PULSOID_API_BASE=pulsoid.base_url or "")
    assert_clean(session)
    logged = (session.data_dir / "logs" / "console.log").read_text(encoding="utf-8")
    assert "Pulsoid" in logged or "pulsoid" in logged  # the link was logged, redacted
    for secret in (token, typo, stray, CODE, STATE):
        assert secret not in session.stdout, secret
        assert secret not in session.stderr, secret
        assert secret not in logged, secret
    echoes = [command for command, _ in session.blocks()]
    assert echoes[0] == "/link pulsoid [hidden]"
    assert echoes[1] == "/link [hidden]"
    assert echoes[2] == "/link spotify [hidden]"
    assert echoes[3] == (
        "http://127.0.0.1:8888/callback?code=[hidden]&state=[hidden]#access_token=[hidden]"
    )
    assert echoes[4] == "/recommend 3 mood:energetic token:[hidden]"
    linked = session.blocks()[0][1]
    assert "Pulsoid linked (profile profile-" in linked, linked  # the hidden token was used
