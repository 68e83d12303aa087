"""Write a grouped-by-track train/test split of a catalog CSV, for `beatmatch eval genre`.

    .venv/bin/python bench/split_catalog.py ../shared/data/spotify_tracks.csv.gz /tmp/genre-split [--seed 0]

All rows of a track land on the same side (80/20 by track id). The output files are derived from
the input catalog: write them outside the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.catalog_csv import read_catalog_rows  # noqa: E402


def main() -> int:
    """Split the catalog rows and write train.csv.gz and test.csv.gz."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("catalog")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    args = parser.parse_args()
    out = Path(args.out_dir)
    if out.resolve().is_relative_to(ROOT):
        print("write the split outside the repository", file=sys.stderr)
        return 2
    rows = read_catalog_rows(args.catalog)
    ids = np.array(sorted(rows["track_id"].unique()), dtype=object)
    rng = np.random.default_rng(args.seed)
    test_ids = set(rng.choice(ids, size=round(len(ids) * args.test_fraction), replace=False))
    in_test = rows["track_id"].isin(test_ids)
    out.mkdir(parents=True, exist_ok=True)
    rows[~in_test].to_csv(out / "train.csv.gz", index=False)
    rows[in_test].to_csv(out / "test.csv.gz", index=False)
    print(f"train: {int((~in_test).sum()):,} rows, test: {int(in_test.sum()):,} rows -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
