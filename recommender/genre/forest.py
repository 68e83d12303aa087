"""A RandomForest stored as flat arrays: small on disk, no pickle, vectorised prediction.

scikit-learn keeps a dense float64 class distribution in every node of every tree: with 114 genres
and tens of thousands of nodes a tree, a 300-tree forest on the catalog needs ~20 GB and a pickle of
the same size. Here the forest is grown a few trees at a time, and each batch is flattened before the
next is grown into: split feature, float32 threshold, children, where a missing value goes, and a
sparse class distribution for leaves only (a leaf holds a handful of genres, not 114).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import RandomForestClassifier

_NODE_KEYS = ("feature", "threshold", "left", "right", "nan_left", "roots")
_LEAF_KEYS = ("leaf_data", "leaf_indices", "leaf_indptr")


class CompactForest:
    """A fitted forest of ``n_trees`` trees over ``n_classes`` classes."""

    def __init__(self, arrays: dict[str, np.ndarray], n_classes: int) -> None:
        self.arrays = arrays
        self.n_classes = n_classes
        # One CSR matrix (n_nodes, n_classes); rows of internal nodes are empty.
        self._leaves = sp.csr_matrix(
            (
                arrays["leaf_data"].astype(np.float32),
                arrays["leaf_indices"].astype(np.int32),
                arrays["leaf_indptr"].astype(np.int64),
            ),
            shape=(len(arrays["feature"]), n_classes),
        )

    @property
    def n_trees(self) -> int:
        """How many trees the forest holds."""
        return len(self.arrays["roots"])

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        *,
        sample_weight: np.ndarray | None = None,
        n_trees: int = 100,
        batch: int = 10,
        seed: int = 0,
        n_jobs: int = 2,
        progress: Callable[[str], None] | None = None,
        **forest_params: object,
    ) -> CompactForest:
        """Grow ``n_trees`` trees on ``x`` (n, d) float32 and class indices ``y`` (n,)."""
        parts: list[dict[str, np.ndarray]] = []
        for start in range(0, n_trees, batch):
            forest = RandomForestClassifier(
                n_estimators=min(batch, n_trees - start),
                n_jobs=n_jobs,
                random_state=seed * 7919 + start,  # batches must not repeat each other's trees
                **forest_params,
            )
            forest.fit(x, y, sample_weight=sample_weight)
            parts.extend(_flatten_forest(forest))
            del forest
            if progress is not None:
                progress(f"random forest: {min(start + batch, n_trees)}/{n_trees} trees")
        return cls(_concatenate(parts), n_classes)

    @classmethod
    def from_sklearn(cls, forest: RandomForestClassifier, n_classes: int) -> CompactForest:
        """Flatten a fitted sklearn forest whose classes are integers in [0, n_classes)."""
        return cls(_concatenate(_flatten_forest(forest)), n_classes)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Mean leaf distribution over the trees, shape (n, n_classes); ``x`` is (n, d)."""
        a = self.arrays
        n = len(x)
        if n == 0:
            return np.zeros((0, self.n_classes), dtype=np.float32)
        x = np.asarray(x, dtype=np.float32)
        node = np.broadcast_to(a["roots"][None, :], (n, self.n_trees)).astype(np.int64)
        rows = np.arange(n)[:, None]
        while True:
            feature = a["feature"][node]
            internal = feature >= 0
            if not internal.any():
                break
            value = x[rows, np.maximum(feature, 0)]
            # NaN <= t is False, so test for missing first and take the learnt direction.
            left = np.where(np.isnan(value), a["nan_left"][node], value <= a["threshold"][node])
            node = np.where(internal, np.where(left, a["left"][node], a["right"][node]), node)
        pick = sp.csr_matrix(
            (
                np.full(node.size, 1.0 / self.n_trees, dtype=np.float32),
                node.ravel(),
                np.arange(0, node.size + 1, self.n_trees),
            ),
            shape=(n, self._leaves.shape[0]),
        )
        proba = np.asarray((pick @ self._leaves).todense(), dtype=np.float32)
        return proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The forest as plain arrays (for ``np.savez``) under keys starting with ``prefix``."""
        return {f"{prefix}{key}": value for key, value in self.arrays.items()}

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], prefix: str, n_classes: int
    ) -> CompactForest:
        """Rebuild a forest written by :meth:`to_arrays`."""
        keys = (*_NODE_KEYS, *_LEAF_KEYS)
        return cls({key: arrays[f"{prefix}{key}"] for key in keys}, n_classes)


def _flatten_forest(forest: RandomForestClassifier) -> list[dict[str, np.ndarray]]:
    """Each tree of a fitted forest as arrays."""
    classes = np.asarray(forest.classes_).astype(np.int64)
    return [_flatten(tree.tree_, classes) for tree in forest.estimators_]


def _flatten(tree: object, classes: np.ndarray) -> dict[str, np.ndarray]:
    """One fitted sklearn tree as arrays with tree-local node ids."""
    feature = np.asarray(tree.feature)  # type: ignore[attr-defined]
    leaf = feature < 0
    threshold = np.asarray(tree.threshold, dtype=np.float64)  # type: ignore[attr-defined]
    # sklearn compares float32 inputs with float64 thresholds; rounding the threshold down to a
    # float32 keeps "x <= t" exactly the same decision for every float32 x.
    threshold32 = threshold.astype(np.float32)
    too_high = threshold32.astype(np.float64) > threshold
    threshold32[too_high] = np.nextafter(threshold32[too_high], np.float32(-np.inf))
    value = np.asarray(tree.value)[:, 0, :]  # type: ignore[attr-defined]  # (n_nodes, n_seen)
    value = np.where(leaf[:, None], value / np.maximum(value.sum(1, keepdims=True), 1e-12), 0.0)
    leaves = sp.csr_matrix(value.astype(np.float32))
    leaves.eliminate_zeros()
    return {
        "feature": np.where(leaf, -1, feature).astype(np.int16),
        "threshold": np.where(leaf, 0.0, threshold32).astype(np.float32),
        "left": np.asarray(tree.children_left, dtype=np.int32),  # type: ignore[attr-defined]
        "right": np.asarray(tree.children_right, dtype=np.int32),  # type: ignore[attr-defined]
        "nan_left": np.asarray(tree.missing_go_to_left, dtype=bool),  # type: ignore[attr-defined]
        "leaf_data": leaves.data.astype(np.float16),
        "leaf_indices": classes[leaves.indices].astype(np.int16),
        "leaf_counts": np.diff(leaves.indptr).astype(np.int64),
    }


def _concatenate(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join per-tree arrays into one node table with global node ids."""
    sizes = np.array([len(p["feature"]) for p in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
    shifted = []
    for part, offset in zip(parts, offsets, strict=True):
        internal = part["feature"] >= 0
        shifted.append(
            (
                np.where(internal, part["left"] + offset, -1),
                np.where(internal, part["right"] + offset, -1),
            )
        )
    counts = np.concatenate([p["leaf_counts"] for p in parts])
    return {
        "feature": np.concatenate([p["feature"] for p in parts]),
        "threshold": np.concatenate([p["threshold"] for p in parts]),
        "left": np.concatenate([s[0] for s in shifted]).astype(np.int32),
        "right": np.concatenate([s[1] for s in shifted]).astype(np.int32),
        "nan_left": np.concatenate([p["nan_left"] for p in parts]),
        "roots": offsets,
        "leaf_data": np.concatenate([p["leaf_data"] for p in parts]),
        "leaf_indices": np.concatenate([p["leaf_indices"] for p in parts]),
        "leaf_indptr": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
    }
