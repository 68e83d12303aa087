"""What `beatmatch import-catalog` tells the operator about rows it left out and files it refuses
(issue 12, item 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, tiny_catalog_rows, write_catalog
from tests.e2e.test_crash_catalog_import import TIMEOUT_S, environment_for


def _import(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "import-catalog", str(path), "--skip-genre"],
        cwd=ROOT,
        env=environment_for(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_the_summary_says_how_many_rows_were_rejected_and_why(tmp_path: Path) -> None:
    rows = tiny_catalog_rows().astype({"tempo": object})
    acoustic = list(rows.index[rows["track_genre"] == "acoustic"][:3])
    rows.loc[acoustic, "tempo"] = ["fast", "slow", "inf"]
    done = _import(tmp_path, write_catalog(tmp_path / "edited.csv", rows))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Catalog imported: 57 tracks, 61 genre labels" in done.stdout
    assert (
        "Catalog file check: rejected 3 rows: 2 with a non-numeric tempo, 1 with an infinite "
        "tempo; correct those rows in the file and import it again to include them."
    ) in done.stdout


def test_a_file_that_is_not_utf8_is_refused_with_where_and_what_to_do(tmp_path: Path) -> None:
    rows = tiny_catalog_rows()
    rows.loc[0, "artists"] = "Bj\N{LATIN SMALL LETTER O WITH DIAERESIS}rk"
    path = tmp_path / "latin1.csv"
    path.write_bytes(rows.to_csv(index=False).encode("cp1252"))
    done = _import(tmp_path, path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("beatmatch: latin1.csv is not UTF-8 text: byte 0xF6 at offset ")
    )
    assert "(line 2) is not UTF-8. Save the file as UTF-8" in done.stderr
    assert "Catalog imported" not in done.stdout
