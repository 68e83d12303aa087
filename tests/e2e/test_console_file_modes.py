"""Through the real console: everything beatmatch writes in its data directory — database, WAL,
key, taste and genre models, workout charts — is for its own user only (files 0600, folders
0700), and what an older version left readable is made so at start."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import tiny_exportify_rows, write_exportify
from tests.e2e.test_console import assert_clean, run_console
from tests.integration.test_file_modes import assert_private, modes


def test_a_session_leaves_only_private_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old_chart = data_dir / "charts" / "workout-0.png"
    old_chart.parent.mkdir(parents=True)
    old_chart.write_bytes(b"\x89PNG an older version's chart")
    for path in (data_dir, old_chart.parent):
        path.chmod(0o755)
    old_chart.chmod(0o644)
    library = write_exportify(tmp_path / "liked.csv", tiny_exportify_rows("acoustic", 30))

    session = run_console(
        tmp_path,
        [
            f"/import {library}",
            "/recommend 3",
            "/profile age:34 resting_hr:58",
            "/workout start",
            "/wait 1",
            "/workout stop",
            "/quit",
        ],
    )
    assert_clean(session)
    chart = re.search(r"^\[chart\] (\S+\.png)", session.stdout, flags=re.MULTILINE)
    assert chart, session.stdout[-2000:]
    written = set(modes(data_dir))
    assert {"beatmatch.db", "secret.key", Path(chart.group(1)).name} <= {
        Path(name).name for name in written
    }
    assert any(re.fullmatch(r"models/taste-user\d+\.npz", name) for name in written), written
    assert_private(data_dir)
