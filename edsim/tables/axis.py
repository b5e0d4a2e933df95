"""Float-exponent axes: non-uniform grids with O(1), log-free index lookup.

An axis covers ``x >= 0``. It is described by an offset ``x0 = 2**e0`` and ``m`` mantissa bits.
With ``y = x + x0``, the nodes are the doubles ``y_k`` whose mantissa has only its top ``m`` bits
set: each octave ``[2**e, 2**(e+1))`` of ``y`` holds ``2**m`` equally spaced nodes. The grid is
therefore fine near ``x = 0`` (spacing ``x0 / 2**m``) and geometrically coarser further out, which
is what exponentially relaxing trajectories need.

The node index of ``x`` is read off the bits of ``y``::

    k = (bits(y) >> (52 - m)) - (bits(x0) >> (52 - m))

and the node values are exact doubles rebuilt from bits, so the C core (``csrc/lut.h``) and this
module agree on every node to the last bit. Both must keep this definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edsim.errors import TableError


@dataclass(frozen=True)
class FloatExpAxis:
    """A non-uniform axis with ``n`` nodes starting at 0.

    Parameters
    ----------
    e0 : int
        ``x0 = 2**e0`` (in the axis unit): the first octave spans ``[0, x0)``.
    m : int
        Mantissa bits: ``2**m`` nodes per octave (0 <= m <= 20).
    n : int
        Number of nodes (>= 2).
    """

    e0: int
    m: int
    n: int

    def __post_init__(self) -> None:
        if not (0 <= self.m <= 20):
            raise TableError(f"axis mantissa bits m must be in [0, 20] (got {self.m})")
        if not (-1000 <= self.e0 <= 1000):
            raise TableError(f"axis exponent e0 must be in [-1000, 1000] (got {self.e0})")
        if self.n < 2:
            raise TableError(f"axis needs at least 2 nodes (got {self.n})")

    @property
    def x0(self) -> float:
        return float(2.0**self.e0)

    @property
    def base(self) -> int:
        return int(np.array(self.x0).view(np.uint64)) >> (52 - self.m)

    def nodes(self) -> np.ndarray:
        """Node positions ``x_k`` (exact doubles), shape ``(n,)``."""
        k = np.arange(self.n, dtype=np.uint64) + np.uint64(self.base)
        y = (k << np.uint64(52 - self.m)).view(np.float64)
        return y - self.x0

    @property
    def x_max(self) -> float:
        return float(self.nodes()[-1])

    @classmethod
    def covering(cls, x_max: float, spacing0: float, m: int) -> "FloatExpAxis":
        """The smallest axis with first spacing <= ``spacing0`` whose last node is >= ``x_max``."""
        if not (x_max > 0 and spacing0 > 0):
            raise TableError(f"axis range and spacing must be > 0 (got {x_max}, {spacing0})")
        e0 = int(np.floor(np.log2(spacing0 * 2**m)))
        probe = cls(e0, m, 2)
        y_max = x_max + probe.x0
        k_max = (int(np.array(y_max).view(np.uint64)) >> (52 - m)) - probe.base
        return cls(e0, m, k_max + 2)

    def locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell index and fraction of each ``x`` (vectorised; no range check)."""
        y = np.asarray(x, dtype=np.float64) + self.x0
        k = (y.view(np.uint64) >> np.uint64(52 - self.m)).astype(np.int64) - self.base
        k = np.clip(k, 0, self.n - 2)
        ynodes = self.nodes() + self.x0
        lo, hi = ynodes[k], ynodes[k + 1]
        return k, (y - lo) / (hi - lo)
