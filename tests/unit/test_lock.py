"""requirements.lock (the Docker image's pinned dependencies) is in step with pyproject.toml,
checked offline: every runtime requirement — and what its extras bring — is pinned with a version
its specifier accepts and with hashes, and every top-level pin comes from pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
PROJECT = "beatmatch (pyproject.toml)"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _pins(lock: str) -> dict[str, tuple[Version, set[str], bool]]:
    """Each pinned package: its version, what it is there for (the "# via" lines), has hashes."""
    pins: dict[str, tuple[Version, set[str], bool]] = {}
    lines = lock.splitlines()
    for number, line in enumerate(lines):
        found = _PIN.match(line)
        if not found:
            continue
        via: set[str] = set()
        hashed = False
        for after in lines[number + 1 :]:
            if _PIN.match(after) or not after.startswith(" "):
                break
            text = after.strip()
            hashed = hashed or text.startswith("--hash=sha256:")
            if text.startswith("#"):
                name = text.lstrip("#").strip()
                name = name.removeprefix("via").strip()
                if name:
                    via.add(name)
        pins[canonicalize_name(found[1])] = (Version(found[2]), via, hashed)
    return pins


def _extra_requirements(requirement: Requirement) -> list[Requirement]:
    """What ``requirement``'s extras add (read from the installed package's metadata)."""
    added: list[Requirement] = []
    if not requirement.extras:
        return added
    for line in metadata.requires(requirement.name) or []:
        extra = Requirement(line)
        if extra.marker is None:
            continue
        if any(extra.marker.evaluate({"extra": name}) for name in requirement.extras):
            added.append(extra)
    return added


def lock_problems(pyproject: str, lock: str) -> list[str]:
    """Why ``lock`` is not in step with ``pyproject`` (empty: it is)."""
    dependencies = [Requirement(d) for d in tomllib.loads(pyproject)["project"]["dependencies"]]
    pins = _pins(lock)
    problems: list[str] = []
    wanted: list[tuple[Requirement, str]] = []
    for requirement in dependencies:
        if requirement.marker is None or requirement.marker.evaluate():
            wanted.append((requirement, "pyproject.toml"))
            wanted += [(e, f"{requirement.name}[extras]") for e in _extra_requirements(requirement)]
    for requirement, source in wanted:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} ({source}) is not pinned")
        elif not requirement.specifier.contains(pin[0], prereleases=True):
            problems.append(f"{requirement.name}=={pin[0]} does not satisfy {requirement}")
    direct = {canonicalize_name(r.name) for r in dependencies}
    for name, (version, via, hashed) in pins.items():
        if PROJECT in via and name not in direct:
            problems.append(f"{name}=={version} is pinned for beatmatch but not in pyproject.toml")
        if not hashed:
            problems.append(f"{name}=={version} has no hash")
    return problems


def test_the_lock_is_in_step_with_pyproject() -> None:
    assert LOCK.is_file(), "requirements.lock is missing: run `make lock`"
    problems = lock_problems(PYPROJECT.read_text("utf-8"), LOCK.read_text("utf-8"))
    assert not problems, "requirements.lock is out of step; run `make lock`:\n" + "\n".join(
        problems
    )


def test_the_lock_holds_no_dev_tools() -> None:
    pins = _pins(LOCK.read_text("utf-8"))
    assert not {"pytest", "ruff", "mypy", "hypothesis", "pip-tools"} & set(pins)
    assert "apscheduler" not in pins  # python-telegram-bot's job-queue extra is not used


def test_a_changed_pyproject_is_caught() -> None:
    pyproject, lock = PYPROJECT.read_text("utf-8"), LOCK.read_text("utf-8")
    raised = re.sub(r'"spotipy[^"]*"', '"spotipy>=9"', pyproject)
    assert raised != pyproject
    assert lock_problems(raised, lock) == [
        f"spotipy=={_pins(lock)['spotipy'][0]} does not satisfy spotipy>=9"
    ]
    added = pyproject.replace('"numpy>=1.26,<3",', '"numpy>=1.26,<3",\n    "left-pad>=1",')
    assert lock_problems(added, lock) == ["left-pad>=1 (pyproject.toml) is not pinned"]
    dropped = pyproject.replace('    "rq>=2.12,<4",\n', "")
    assert any("rq==" in p and "not in pyproject" in p for p in lock_problems(dropped, lock))
    extra = pyproject.replace("[rate-limiter]", "[job-queue,rate-limiter]")
    assert any(p.lower().startswith("apscheduler") for p in lock_problems(extra, lock))
