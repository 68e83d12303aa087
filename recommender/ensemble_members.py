"""The taste ensemble's members as plain arrays: what a saved model is read back into. No pickle.

* :class:`FlatForest` — a fitted scikit-learn RandomForest of a yes/no question as flat node
  arrays. It predicts the "yes" probability exactly as scikit-learn does: the input is cast to
  float32 and compared with float64 thresholds, a missing value takes the branch the tree learnt
  for it, a leaf gives the tree's float64 share of "yes", and the trees are averaged in order.
* :class:`RawBooster` — a fitted XGBoost model from its raw UBJSON bytes, predicting as
  ``XGBClassifier.predict_proba`` does.

Both answer ``predict_proba(x)`` with an (n, 2) array, like the fitted models they come from, so the
ensemble scores the same either way. Neither imports scikit-learn; XGBoost is imported only when a
booster is read or written.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

#: Rows walked together: (rows × trees) node ids stay small enough for the CPU's caches.
CHUNK_ROWS = 2048
#: Every this many steps, rows that reached a leaf stop being walked.
COMPACT_EVERY = 8
_FOREST_KEYS = ("roots", "feature", "threshold", "left", "right", "nan_left", "positive")


class FlatForest:
    """A fitted binary RandomForest as flat arrays over all of its trees' nodes.

    ``feature`` (int32), ``threshold`` (float64), ``left``/``right`` (int32 node ids, −1 at a
    leaf), ``nan_left`` (bool) and ``positive`` (float64: a leaf's share of "yes") have one entry
    per node; ``roots`` (int64) holds each tree's first node. Nodes are stored level by level, so
    a node's right child follows its left one.
    """

    def __init__(self, arrays: dict[str, np.ndarray], n_jobs: int = 1) -> None:
        self.n_jobs = max(1, n_jobs)  # threads walking chunks of rows (numpy lets go of the GIL)
        size = len(arrays["feature"])
        if any(len(arrays[key]) != size for key in _FOREST_KEYS if key != "roots"):
            raise ValueError("the forest's node arrays differ in length")
        self.roots = arrays["roots"].astype(np.int64)
        self.feature = arrays["feature"].astype(np.int32)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.left = arrays["left"].astype(np.int32)
        self.right = arrays["right"].astype(np.int32)
        self.nan_left = arrays["nan_left"].astype(bool)
        self.positive = arrays["positive"].astype(np.float64)
        inner = self.left >= 0
        ids = np.arange(size, dtype=np.int64)
        if (  # children after their parent (so no walk can loop), siblings side by side
            len(self.roots) == 0
            or self.roots.min() < 0
            or self.roots.max() >= size
            or not np.array_equal(self.right >= 0, inner)
            or not np.array_equal(self.right[inner], self.left[inner] + 1)
            or (self.left[inner] <= ids[inner]).any()
            or self.right.max(initial=-1) >= size
            or (self.feature[inner] < 0).any()
        ):
            raise ValueError("the forest's node ids do not form trees")
        # The walk's own arrays: a leaf is its own child, so finished rows may take extra steps.
        self._first = np.where(inner, self.left, ids).astype(np.int64)
        # A row steps right when its value is > the node's bound. A missing value is made −inf
        # (go left) or +inf (go right) as the node learnt; sklearn's "everything known goes
        # left" split has an infinite threshold, which must still send +inf right.
        bound = np.where(np.isposinf(self.threshold), np.finfo(np.float64).max, self.threshold)
        self._bound = np.where(inner, bound, np.inf)
        self._depth = _max_depth(self.roots, self.left, self.right)

    @property
    def n_trees(self) -> int:
        """How many trees the forest holds."""
        return len(self.roots)

    @classmethod
    def from_sklearn(cls, forest: Any, n_jobs: int = 1) -> FlatForest:
        """Flatten a fitted ``RandomForestClassifier``; "yes" is its second class, as in
        ``predict_proba(x)[:, 1]``."""
        if len(forest.classes_) < 2:
            raise ValueError("a forest that has seen one class has no second-class probability")
        parts = [_level_order(estimator.tree_) for estimator in forest.estimators_]
        sizes = np.array([len(p["feature"]) for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        for part, offset in zip(parts, offsets, strict=True):
            for key in ("left", "right"):
                part[key] = np.where(part[key] >= 0, part[key] + offset, -1).astype(np.int32)
        arrays = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        arrays["roots"] = offsets
        return cls(arrays, n_jobs)

    @classmethod
    def of(cls, member: Any) -> FlatForest:
        """``member`` as a flat forest (itself when it already is one)."""
        return member if isinstance(member, FlatForest) else cls.from_sklearn(member)

    def positive_proba(self, x: np.ndarray) -> np.ndarray:
        """Mean over the trees of the leaf's share of "yes", shape (n,); ``x`` is (n, d)."""
        x = np.asarray(x, dtype=np.float32)  # as sklearn casts it before walking its trees
        total = np.zeros(len(x), dtype=np.float64)
        starts = range(0, len(x), CHUNK_ROWS)

        def walk(start: int) -> None:
            chunk = x[start : start + CHUNK_ROWS]
            summed = np.zeros(len(chunk), dtype=np.float64)
            for values in self.positive[self._leaves(chunk)]:  # tree by tree: sklearn's sum
                summed += values
            total[start : start + len(chunk)] = summed

        if self.n_jobs > 1 and len(starts) > 1:
            with ThreadPoolExecutor(min(self.n_jobs, len(starts))) as pool:
                list(pool.map(walk, starts))
        else:
            for start in starts:
                walk(start)
        return total / self.n_trees

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(1 − p, p) per row, shape (n, 2), as the fitted forest's ``predict_proba``."""
        p = self.positive_proba(x)
        return np.column_stack([1.0 - p, p])

    def _leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row of ``x`` (m, d) float32 reaches in each tree, shape (n_trees, m)."""
        m, d = x.shape
        if self.feature.max(initial=-1) >= d:
            raise ValueError(f"the forest reads {self.feature.max() + 1} features; x has {d}")
        # Columns [0, d): missing → −inf (goes left); [d, 2d): missing → +inf (goes right).
        wide = np.empty((m, 2 * d), dtype=np.float32)
        missing = np.isnan(x)
        wide[:, :d] = np.where(missing, -np.inf, x)
        wide[:, d:] = np.where(missing, np.inf, x)
        flat = wide.ravel()
        column = np.where(self.nan_left | (self.left < 0), self.feature, self.feature + d)
        column = np.maximum(column, 0).astype(np.int64)
        node = np.repeat(self.roots, m)  # tree-major: tree t's rows are adjacent
        base = np.tile(np.arange(m, dtype=np.int64) * 2 * d, self.n_trees)
        slot = np.arange(node.size)
        out = np.empty(node.size, dtype=np.int64)
        for step in range(self._depth):
            if step % COMPACT_EVERY == COMPACT_EVERY - 1:  # drop the rows that reached a leaf
                done = self._first[node] == node
                out[slot[done]] = node[done]
                going = ~done
                node, base, slot = node[going], base[going], slot[going]
            node = self._first[node] + (flat[base + column[node]] > self._bound[node])
        out[slot] = node
        return out.reshape(self.n_trees, m)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The forest as plain arrays under keys starting with ``prefix``."""
        return {f"{prefix}{key}": getattr(self, key) for key in _FOREST_KEYS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, n_jobs: int = 1) -> FlatForest:
        """Rebuild a forest written by :meth:`to_arrays` (KeyError/ValueError if it is not one)."""
        return cls({key: arrays[f"{prefix}{key}"] for key in _FOREST_KEYS}, n_jobs)


def _level_order(tree: Any) -> dict[str, np.ndarray]:
    """One fitted sklearn tree's arrays, nodes renumbered level by level (siblings adjacent)."""
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    new_id = np.full(len(left), -1, dtype=np.int64)
    new_id[0] = 0
    level, taken = np.array([0]), 1
    while level.size:
        inner = level[left[level] >= 0]
        children = np.column_stack([left[inner], right[inner]]).ravel()
        new_id[children] = np.arange(taken, taken + len(children))
        taken += len(children)
        level = children
    old = np.empty(len(left), dtype=np.int64)
    old[new_id] = np.arange(len(left))
    leaf = left[old] < 0
    return {
        "feature": np.where(leaf, -1, np.asarray(tree.feature)[old]).astype(np.int32),
        "threshold": np.where(leaf, 0.0, np.asarray(tree.threshold)[old]).astype(np.float64),
        "left": np.where(leaf, -1, new_id[left[old]]).astype(np.int32),
        "right": np.where(leaf, -1, new_id[right[old]]).astype(np.int32),
        "nan_left": np.asarray(tree.missing_go_to_left, dtype=bool)[old],
        # sklearn's tree value is each node's share of every class: used as is, not renormalised.
        "positive": np.where(leaf, np.asarray(tree.value)[old, 0, 1], 0.0).astype(np.float64),
    }


def _max_depth(roots: np.ndarray, left: np.ndarray, right: np.ndarray) -> int:
    """Steps from a root to the deepest leaf of any tree."""
    level, depth = roots, 0
    while True:
        inner = level[left[level] >= 0]
        if not inner.size:
            return depth
        level = np.concatenate([left[inner], right[inner]]).astype(np.int64)
        depth += 1


class RawBooster:
    """A fitted binary XGBoost model (``binary:logistic``) held as an ``xgboost.Booster``.

    One read from a file stays raw bytes until it first predicts: a stored model whose catalog
    scores are stored too (all /recommend and /blend need) never loads XGBoost, which costs ~2 s
    of imports the first time. The file's integrity is checked when it is read (its zip CRCs);
    bytes XGBoost still cannot parse raise ValueError at that first prediction.
    """

    def __init__(self, booster: Any = None, raw: np.ndarray | None = None, n_jobs: int = 1) -> None:
        self._booster = booster
        self._raw = raw
        self._n_jobs = n_jobs

    @property
    def booster(self) -> Any:
        """The ``xgboost.Booster`` (parsed from the raw bytes on first use)."""
        if self._booster is None:
            self._booster = _parse_booster(self._raw, self._n_jobs)
            self._raw = None
        return self._booster

    @classmethod
    def of(cls, member: Any) -> RawBooster:
        """``member`` (an ``XGBClassifier`` or a RawBooster) as a RawBooster."""
        return member if isinstance(member, RawBooster) else cls(member.get_booster())

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(1 − p, p) per row, shape (n, 2): what ``XGBClassifier.predict_proba`` gives."""
        p = self.booster.inplace_predict(x, missing=np.nan)  # the classifier's own call
        return np.vstack((1.0 - p, p)).transpose()

    def to_array(self) -> np.ndarray:
        """The model as raw UBJSON bytes, (n_bytes,) uint8."""
        if self._booster is None and self._raw is not None:
            return self._raw
        return np.frombuffer(bytes(self.booster.save_raw("ubj")), dtype=np.uint8)

    @classmethod
    def from_array(cls, raw: np.ndarray, n_jobs: int) -> RawBooster:
        """A model written by :meth:`to_array` (parsed when it first predicts)."""
        raw = np.asarray(raw, dtype=np.uint8)
        if raw.ndim != 1 or not raw.size:
            raise ValueError("unreadable XGBoost model (no bytes)")
        return cls(raw=raw, n_jobs=n_jobs)


def _parse_booster(raw: np.ndarray | None, n_jobs: int) -> Any:
    """An ``xgboost.Booster`` from raw UBJSON bytes; ValueError if XGBoost cannot read them."""
    import xgboost as xgb

    if raw is None:
        raise ValueError("no XGBoost model")
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw.tobytes()))
    except xgb.core.XGBoostError as error:
        raise ValueError(f"unreadable XGBoost model ({error})") from None
    booster.set_param({"nthread": n_jobs})
    return booster
