"""Connection rules (PyNN's connectors), each turning population sizes into edge arrays.

Every rule is a frozen dataclass validated on construction, and builds its edges with vectorised
numpy from a generator the network derives from its seed and the projection's index, so the same
seed gives the same connectivity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edsim.errors import ParameterError

_CHUNK = 1 << 23  # random numbers drawn at once


@dataclass(frozen=True)
class Edges:
    """Pre- and post-synaptic population-local indices, plus optional per-edge weight/delay."""

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray | None = None
    delay: np.ndarray | None = None


@dataclass(frozen=True)
class AllToAll:
    """Every pre neuron to every post neuron.

    Parameters
    ----------
    allow_self_connections : bool
        When pre and post are the same population, whether ``i -> i`` is made.
    """

    allow_self_connections: bool = True

    def edges(self, n_pre: int, n_post: int, rng: np.random.Generator, same: bool) -> Edges:
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        if same and not self.allow_self_connections:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return Edges(pre, post)


@dataclass(frozen=True)
class OneToOne:
    """Pre neuron ``i`` to post neuron ``i``; both populations must have the same size."""

    def edges(self, n_pre: int, n_post: int, rng: np.random.Generator, same: bool) -> Edges:
        if n_pre != n_post:
            raise ParameterError(
                f"OneToOne needs populations of equal size (got {n_pre} and {n_post})"
            )
        idx = np.arange(n_pre, dtype=np.int64)
        return Edges(idx, idx.copy())


@dataclass(frozen=True)
class FixedProbability:
    """Each pair connected independently with probability ``p_connect`` (Bernoulli).

    Parameters
    ----------
    p_connect : float
        Connection probability, in [0, 1].
    allow_self_connections : bool
        When pre and post are the same population, whether ``i -> i`` may be made.
    """

    p_connect: float
    allow_self_connections: bool = True

    def __post_init__(self):
        if not (0.0 <= float(self.p_connect) <= 1.0):
            raise ParameterError(f"p_connect must be in [0, 1] (got {self.p_connect})")

    def edges(self, n_pre: int, n_post: int, rng: np.random.Generator, same: bool) -> Edges:
        rows = max(1, _CHUNK // max(n_post, 1))
        pres, posts = [], []
        for lo in range(0, n_pre, rows):
            hi = min(n_pre, lo + rows)
            hit = rng.random((hi - lo, n_post), dtype=np.float32) < self.p_connect
            i, j = np.nonzero(hit)
            pres.append(i + lo)
            posts.append(j)
        pre = np.concatenate(pres) if pres else np.zeros(0, np.int64)
        post = np.concatenate(posts) if posts else np.zeros(0, np.int64)
        if same and not self.allow_self_connections:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return Edges(pre, post)


@dataclass(frozen=True)
class FixedInDegree:
    """Each post neuron receives exactly ``n`` connections from distinct random pre neurons.

    Parameters
    ----------
    n : int
        In-degree.
    allow_self_connections : bool
        When pre and post are the same population, whether ``i -> i`` may be drawn.
    with_replacement : bool
        Whether the same pre neuron may be drawn twice for one post neuron (multapses).
    """

    n: int
    allow_self_connections: bool = True
    with_replacement: bool = False

    def __post_init__(self):
        if isinstance(self.n, bool) or int(self.n) != self.n or self.n < 0:
            raise ParameterError(f"FixedInDegree n must be a whole number >= 0 (got {self.n})")

    def edges(self, n_pre: int, n_post: int, rng: np.random.Generator, same: bool) -> Edges:
        k = int(self.n)
        available = n_pre - (1 if same and not self.allow_self_connections else 0)
        if not self.with_replacement and k > available:
            raise ParameterError(
                f"FixedInDegree({k}) needs at least {k} distinct pre neurons (got {available})"
            )
        post = np.repeat(np.arange(n_post, dtype=np.int64), k)
        if self.with_replacement:
            if same and not self.allow_self_connections:
                # draw from n_pre - 1 and skip the post neuron itself
                pre = rng.integers(0, n_pre - 1, size=(n_post, k))
                pre += pre >= np.arange(n_post)[:, None]
            else:
                pre = rng.integers(0, n_pre, size=(n_post, k))
            return Edges(pre.reshape(-1), post)
        rows = max(1, _CHUNK // max(n_pre, 1))
        chunks = []
        for lo in range(0, n_post, rows):
            hi = min(n_post, lo + rows)
            keys = rng.random((hi - lo, n_pre), dtype=np.float32)
            if same and not self.allow_self_connections:
                keys[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
            chosen = np.argpartition(keys, k - 1, axis=1)[:, :k] if k else np.zeros((hi - lo, 0), int)
            chunks.append(np.sort(chosen, axis=1))
        pre = np.concatenate(chunks).reshape(-1) if chunks else np.zeros(0, np.int64)
        return Edges(pre.astype(np.int64), post)


@dataclass(frozen=True)
class FromList:
    """Explicit connections: rows ``(i, j)``, ``(i, j, weight)`` or ``(i, j, weight, delay)``.

    Parameters
    ----------
    conn_list : array-like, shape (n, 2), (n, 3) or (n, 4)
        Population-local pre index, post index, and optionally weight (µS) and delay (ms).
    """

    conn_list: Any

    def edges(self, n_pre: int, n_post: int, rng: np.random.Generator, same: bool) -> Edges:
        try:
            arr = np.asarray(self.conn_list, dtype=np.float64)
        except (ValueError, TypeError):
            raise ParameterError(
                "FromList rows must all have the same length: (i, j), (i, j, weight) or "
                "(i, j, weight, delay)"
            ) from None
        if arr.size == 0:
            return Edges(np.zeros(0, np.int64), np.zeros(0, np.int64))
        if arr.ndim != 2 or arr.shape[1] not in (2, 3, 4):
            raise ParameterError(
                f"FromList needs rows of (i, j[, weight[, delay]]) (got shape {arr.shape})"
            )
        idx = arr[:, :2]
        if not np.all(np.isfinite(idx) & (idx == np.round(idx))):
            raise ParameterError("FromList indices must be whole numbers")
        pre, post = idx[:, 0].astype(np.int64), idx[:, 1].astype(np.int64)
        for name, v, n in (("pre", pre, n_pre), ("post", post, n_post)):
            bad = (v < 0) | (v >= n)
            if bad.any():
                raise ParameterError(
                    f"FromList {name} index {int(v[bad][0])} is out of range [0, {n})"
                )
        weight = arr[:, 2] if arr.shape[1] > 2 else None
        delay = arr[:, 3] if arr.shape[1] > 3 else None
        return Edges(pre, post, weight, delay)


# PyNN's names
AllToAllConnector = AllToAll
OneToOneConnector = OneToOne
FixedProbabilityConnector = FixedProbability
FixedNumberPreConnector = FixedInDegree
FromListConnector = FromList
