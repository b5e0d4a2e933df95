"""Spike statistics of a benchmark run and the comparisons between runs (numpy only).

* :func:`per_neuron_rates` and :func:`cv_isi`: the two distributions compared across simulators;
* :func:`ks_distance`: the two-sample Kolmogorov-Smirnov statistic (the same value as
  ``scipy.stats.ks_2samp(a, b).statistic``, ties included);
* :func:`crossovers`: where one wall-time curve overtakes another, interpolated in log-log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edsim.errors import ParameterError


def per_neuron_rates(i: np.ndarray, n: int, duration: float) -> np.ndarray:
    """Firing rate (Hz) of each of ``n`` neurons from the neuron indices ``i`` of its spikes.

    Parameters
    ----------
    i : array of int
        Neuron index of every spike, in [0, n).
    n : int
        Number of neurons.
    duration : float
        Length of the recording (ms), > 0.
    """
    if not duration > 0:
        raise ParameterError(f"duration must be > 0 ms (got {duration})")
    return np.bincount(np.asarray(i, dtype=np.int64), minlength=n)[:n] / (duration / 1000.0)


def cv_isi(t: np.ndarray, i: np.ndarray, n: int, min_spikes: int = 3) -> np.ndarray:
    """Coefficient of variation of the inter-spike intervals of every neuron with ``min_spikes``.

    Parameters
    ----------
    t, i : arrays
        Spike times (ms) and neuron indices, in any order.
    n : int
        Number of neurons.
    min_spikes : int
        Neurons with fewer spikes are left out (their CV is undefined or meaningless).

    Returns
    -------
    numpy.ndarray
        One CV per neuron that qualified (dimensionless), in neuron order.
    """
    t = np.asarray(t, dtype=float)
    i = np.asarray(i, dtype=np.int64)
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    counts = np.bincount(i, minlength=n)[:n]
    if t.size < 2:
        return np.zeros(0)
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    isi, owner = isi[same], i[1:][same]
    k = np.bincount(owner, minlength=n)[:n].astype(float)
    s1 = np.bincount(owner, weights=isi, minlength=n)[:n]
    s2 = np.bincount(owner, weights=isi * isi, minlength=n)[:n]
    ok = (counts >= min_spikes) & (k > 0)
    mean = np.divide(s1, k, out=np.zeros(n), where=k > 0)
    var = np.divide(s2, k, out=np.zeros(n), where=k > 0) - mean * mean
    ok &= mean > 0
    return np.sqrt(np.maximum(var[ok], 0.0)) / mean[ok]


def ks_distance(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov distance: the largest gap between the empirical CDFs.

    Parameters
    ----------
    a, b : array-like
        The two samples (any unit, the same for both). NaNs are not allowed.

    Returns
    -------
    float
        In [0, 1]; NaN when either sample is empty.

    Examples
    --------
    >>> ks_distance([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    0.0
    >>> ks_distance([1.0, 2.0], [3.0, 4.0])
    1.0
    """
    a = np.sort(np.asarray(a, dtype=float).ravel())
    b = np.sort(np.asarray(b, dtype=float).ravel())
    if np.isnan(a).any() or np.isnan(b).any():
        raise ParameterError("ks_distance samples must not contain NaN")
    if a.size == 0 or b.size == 0:
        return float("nan")
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / a.size
    cdf_b = np.searchsorted(b, both, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


@dataclass(frozen=True)
class Crossover:
    """Where curve ``y_event`` crosses ``y_clock``: at ``x`` (x's unit), where both are ``y``.

    ``direction`` is ``"event slower above"`` when the event-driven curve is below (faster) on
    the left and above (slower) on the right, ``"event faster above"`` the other way round.
    """

    x: float
    y: float
    direction: str


def crossovers(x, y_event, y_clock) -> list[Crossover]:
    """Crossings of two positive curves sampled at the same increasing ``x``, in log-log.

    Between neighbouring samples ``k`` and ``k + 1`` where ``d = log(y_event / y_clock)`` changes
    sign (``d <= 0`` on one side, ``d > 0`` on the other), ``log d`` is taken as linear in
    ``log x``: ``log x* = log x_k + d_k / (d_k - d_{k+1}) (log x_{k+1} - log x_k)``, and ``y`` is
    ``y_event`` interpolated the same way at ``x*``.

    Parameters
    ----------
    x : array-like
        Increasing, positive (e.g. input rate, Hz).
    y_event, y_clock : array-like
        Positive values at ``x`` (e.g. wall time, s).

    Examples
    --------
    >>> [round(c.x, 6) for c in crossovers([1.0, 100.0], [0.1, 10.0], [1.0, 1.0])]
    [10.0]
    """
    x, ye, yc = (np.asarray(v, dtype=float).ravel() for v in (x, y_event, y_clock))
    if not (x.size == ye.size == yc.size):
        raise ParameterError(
            f"crossovers needs x, y_event and y_clock of one length (got {x.size}, {ye.size}, "
            f"{yc.size})"
        )
    for name, v in (("x", x), ("y_event", ye), ("y_clock", yc)):
        if not np.all(np.isfinite(v) & (v > 0)):
            raise ParameterError(f"crossovers needs finite {name} > 0 (got {v.tolist()})")
    if np.any(np.diff(x) <= 0):
        raise ParameterError(f"crossovers needs increasing x (got {x.tolist()})")
    lx, d = np.log(x), np.log(ye) - np.log(yc)
    out = []
    for k in range(x.size - 1):
        if (d[k] <= 0) == (d[k + 1] <= 0):
            continue
        f = d[k] / (d[k] - d[k + 1])
        lxs = lx[k] + f * (lx[k + 1] - lx[k])
        lys = np.log(ye[k]) + f * (np.log(ye[k + 1]) - np.log(ye[k]))
        direction = "event slower above" if d[k] <= 0 else "event faster above"
        out.append(Crossover(float(np.exp(lxs)), float(np.exp(lys)), direction))
    return out
