"""Issue 14, item 5: beatmatch uses spotipy's public API only, and the spotipy it runs with is inside
the version range pyproject.toml pins (the range the Spotify tests were run against)."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
#: spotipy's private request helpers (the issue's acceptance grep, plus _put/_delete).
PRIVATE = re.compile(r"\._internal_call|\._get\(|\._post\(|\._put\(|\._delete\(")


def test_no_private_spotipy_helper_is_called_anywhere_in_the_bot() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert hits == []


def test_the_spotify_client_reaches_spotipy_through_public_names_only() -> None:
    for name in ("spotify.py", "spotify_session.py", "spotify_auth.py", "spotify_player.py"):
        text = (ROOT / "bot" / "sources" / name).read_text(encoding="utf-8")
        assert not re.search(r"\bsp\._|\bspotipy\.\w*\._|class \w+\(spotipy\.Spotify\)", text), name


def test_installed_spotipy_is_inside_the_pinned_and_tested_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [Requirement(d) for d in project["project"]["dependencies"]]
    spotipy = next(r for r in pins if r.name == "spotipy")
    assert any(s.operator == "<" for s in spotipy.specifier), "no upper bound on spotipy"
    assert spotipy.specifier.contains(importlib.metadata.version("spotipy"))
