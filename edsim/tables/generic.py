"""Lookup tables of neuron models declared by their equations (:class:`edsim.EquationModel`).

What is tabulated (``csrc/lut_gen.c`` reads it)
-----------------------------------------------
The synaptic variables have a closed form, ``s(t) = s0 exp(-t / tau)``, so the state after ``t``
ms without input is fixed by the start ``(v0, s1_0, s2_0)`` and ``t``. Four arrays:

* ``v[v0][s1][t][s2]``: the potential reached from every start of a grid (uniform in ``v0`` over
  ``[v_range[0], v_thresh]`` and in each ``s`` over ``syn_range``, float-exponent in ``t`` up to
  30 synaptic time constants); interpolated by tensor-product cubic Lagrange across the start
  and cubic Hermite in time;
* ``f[v][s1][s2]``: ``dv/dt`` on the (v, s) grid, its v axis extended below and above the
  tabulated potentials, so that C forms the Hermite slopes at the time nodes (and integrates
  states outside the table) without calling Python;
* ``reach[s1][s2][t]``: the lowest ``v0`` from which ``v`` reaches ``v_thresh`` by ``t`` (running
  minimum over a 4x finer time grid; at the last node also the starts that fire later, without
  input). A scalar ODE's trajectories do not cross, so ``v(t)`` is increasing in ``v0``: ``v0``
  below the bound cannot fire (O(1) test) and a binary search of the bound brackets the first
  crossing. If ``dv/dt`` is not monotone in a synaptic variable the corners of a cell do not
  bound its interior and the bound is disabled (``-inf``);
* ``clean[v0 stencil][s1 stencil][s2 stencil]``: for how many time nodes each interpolation
  stencil is within ``interp_tol`` mV (estimated from fourth differences of the table). Where
  the stencil's trajectories part ways (some fired long ago, some did not: near a separatrix, a
  firing boundary) interpolating across them is meaningless; the engine reads a trajectory from
  the table only that far, then continues from its state there (looked up again), or integrates
  it by RK4 on ``f`` when the clean span is shorter than a quarter of the fastest synaptic
  time constant.

Above ``v_thresh`` the equation is replaced by a smooth bounded extension
``F(theta) + G w + H w^2 / 2`` with ``w = D tanh((v - theta) / D)`` (``G``, ``H`` the first two
v-derivatives at threshold, ``D = v_thresh - v_range[0]``): it matches the equation to second
order at the threshold, so trajectories stay smooth in ``v0`` and ``s`` across the crossing (the
interpolation stays accurate where spike times are decided) and cannot blow up afterwards.

Generation and sizing
---------------------
All grid starts are integrated at once (vectorised classical RK4, steps of
``RK4_FRACTION / max |dF/dv|`` over the current states, several per interval of the fine time
grid). The model's ``tolerance`` (mean spike-time error, ms) sets ``interp_tol`` (tolerance x 1
mV/ms). A coarse grid is generated and certified (:mod:`edsim.certify_generic`: random input
trains against an independent fine-step integration of the declared equations); while the
measured errors are not ``SIZING_MARGIN`` = 2 times inside the bars (mean <= tolerance, 99th
percentile <= 10 x tolerance, missed + extra <= 0.5 %), or more than 5 % of the stencils are
clean for too short a time (slow), the axes are refined where the table's own error estimates
(fourth differences across ``v0`` and ``s``, Hermite residuals at the fine time nodes) are
largest, within ``max_mbytes``; past that budget ``interp_tol`` is tightened instead. The
figures of every round and of the final table are recorded in the file.

File layout (``format = "edsim-lut-generic"``, ``format_version = 1``)::

    /                attrs: format, format_version, edsim_version, model, model_class,
                            generator_version, equations, equations_sha256, declaration_sha256,
                            interpolation, key, tolerance_ms, synapses (JSON), v_thresh, v_reset,
                            tau_refrac, v_init, tau_s1, tau_s2, v_block, reach_margin_mV,
                            rk4_fraction, rk4_span_ms, extension_width_mV, interp_tol_mV
    /parameters      one scalar dataset per model parameter, attr ``unit``
    /axes/v          v0 nodes, attrs lo, hi, n, unit, f_below, f_above
    /axes/s1, /s2    synaptic nodes, attrs lo, hi, n, name, unit, tau_parameter (n = 1: absent)
    /axes/t          time nodes, attrs e0, m, n, unit
    /v               float64 [v0, s1, t, s2], mV (s2 innermost: a stencil reads rows of 4)
    /f               float64 [v, s1, s2], mV/ms
    /reach           float32 [s1, s2, t], mV
    /clean           int32 [v0 stencil, s1 stencil, s2 stencil]: time nodes the stencil is clean
    /accuracy        attrs: measured accuracy and the sizing history

Files are contiguous and uncompressed and opened as read-only memory maps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edsim._h5 import atomic_write, mapped, open_checked
from edsim.errors import ParameterError, TableError
from edsim.tables.axis import FloatExpAxis
from edsim.tables.store import table_dir

log = logging.getLogger("edsim.tables")

FORMAT = "edsim-lut-generic"
FORMAT_VERSION = 1
GENERATOR_VERSION = 1
INTERPOLATION = ("v: cubic Lagrange in (v0, s1, s2) x cubic Hermite in t, slopes dv/dt from f; "
                 "f: cubic Lagrange in (v, s1, s2)")
RK4_FRACTION = 0.1        # generation: RK4 step = this / max |dF/dv|
FALLBACK_FRACTION = 0.2   # C, outside the table or clean spans: RK4 step = this / |dF/dv|
REFINE_BITS = 2           # reach and Hermite residuals on a 2**2 = 4x finer time grid
MAX_ROUNDS = 5
SIZING_MARGIN = 2.0       # sizing aims at the bars divided by this (certified on other inputs)
MAX_SHORT = 0.05          # ... and at most this fraction of stencils integrated numerically


# ---- axes and specifications ------------------------------------------------------------------

@dataclass(frozen=True)
class UniformAxis:
    """``n`` equally spaced nodes ``lo + k (hi - lo) / (n - 1)``; ``n == 1``: absent (one node 0)."""

    lo: float
    hi: float
    n: int

    @property
    def step(self) -> float:
        return (self.hi - self.lo) / (self.n - 1) if self.n > 1 else 0.0

    def nodes(self) -> np.ndarray:
        if self.n == 1:
            return np.zeros(1)
        return self.lo + np.arange(self.n) * self.step


@dataclass(frozen=True)
class Grid:
    """Node counts of a table: ``n_v`` potentials, ``n_s1``/``n_s2`` synaptic values (1 when the
    variable is absent), ``2**t_bits`` time nodes per octave."""

    n_v: int
    n_s1: int
    n_s2: int
    t_bits: int

    def __post_init__(self):
        for name in ("n_v", "n_s1"):
            if not 4 <= getattr(self, name) <= 4096:
                raise ParameterError(f"grid {name} must be in [4, 4096] (got {getattr(self, name)})")
        if not (self.n_s2 == 1 or 4 <= self.n_s2 <= 4096):
            raise ParameterError(f"grid n_s2 must be 1 (absent) or in [4, 4096] (got {self.n_s2})")
        if not 1 <= self.t_bits <= 8:
            raise ParameterError(f"grid t_bits must be in [1, 8] (got {self.t_bits})")


@dataclass(frozen=True)
class GenericSpec:
    """How the table of an :class:`~edsim.EquationModel` is sized and certified.

    Parameters
    ----------
    tolerance : float or None
        Mean spike-time error to reach (ms); ``None``: the model's ``tolerance``. The 99th
        percentile must be <= 10x it and missed + extra spikes <= 0.5 %.
    reach_margin : float
        Safety margin (mV) of the "cannot fire" bound; it costs speed, never accuracy.
    n_trains, train_duration, seed : int, float (ms), int
        The random input trains of the certification.
    max_mbytes : float
        Largest table set (MB, 1e6 bytes) the sizing may produce.
    grid : Grid or None
        Use this grid instead of sizing one (the table is still certified).
    """

    tolerance: float | None = None
    reach_margin: float = 0.5
    n_trains: int = 1000
    train_duration: float = 100.0
    seed: int = 20071
    max_mbytes: float = 16.0
    grid: Grid | None = None

    def __post_init__(self):
        if self.tolerance is not None and not 1e-4 <= self.tolerance <= 1.0:
            raise ParameterError(f"tolerance must be in [1e-4, 1] ms (got {self.tolerance})")
        if not (math.isfinite(self.reach_margin) and self.reach_margin >= 0):
            raise ParameterError(f"reach_margin must be >= 0 mV (got {self.reach_margin})")
        if self.n_trains < 10 or not self.train_duration > 0:
            raise ParameterError("certification needs n_trains >= 10 and train_duration > 0 ms")
        if not self.max_mbytes > 0:
            raise ParameterError(f"max_mbytes must be > 0 (got {self.max_mbytes})")


@dataclass
class GenericTable:
    """A table set in memory (arrays may be read-only memory maps)."""

    model_name: str
    parameters: dict[str, float]
    units: dict[str, str]
    syn_names: tuple[str, ...]
    v_axis: UniformAxis
    s1: UniformAxis
    s2: UniformAxis
    t: FloatExpAxis
    f_below: int
    f_above: int
    v: np.ndarray
    f: np.ndarray
    reach: np.ndarray
    v_thresh: float
    v_reset: float
    tau_refrac: float
    v_init: float
    tau_s1: float
    tau_s2: float
    v_block: float
    reach_margin: float
    rk4_fraction: float = FALLBACK_FRACTION
    rk4_span: float = 1.0
    extension_width: float = 0.0
    clean: np.ndarray | None = None
    interp_tol: float = 0.0
    syn_units: tuple[str, ...] = ()
    accuracy: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def nbytes(self) -> int:
        return int(self.v.nbytes + self.f.nbytes + self.reach.nbytes + self.clean.nbytes)

    @property
    def grid(self) -> Grid:
        return Grid(self.v_axis.n, self.s1.n, self.s2.n, self.t.m)

    def f_nodes(self) -> np.ndarray:
        step = self.v_axis.step
        lo = self.v_axis.lo - self.f_below * step
        return lo + np.arange(self.v_axis.n + self.f_below + self.f_above) * step


# ---- the model's dynamics ---------------------------------------------------------------------

class Dynamics:
    """dv/dt of a model instance, continued above threshold by the smooth bounded extension."""

    def __init__(self, model):
        cls = type(model)
        self.model = model
        self.name = model.name
        self.theta = float(model.v_thresh)
        self.v_lo = float(cls.v_lo)
        self.width = self.theta - self.v_lo
        self.n_syn = len(cls.syn_names)
        self.syn_names = cls.syn_names
        self.taus = [float(getattr(model, t)) for t in cls.syn_taus] + [1.0] * (2 - self.n_syn)
        self.bounds = list(cls.syn_bounds) + [(0.0, 0.0)] * (2 - self.n_syn)
        self.eps = 1e-3 * self.width

    def raw(self, v, s1, s2):
        """The user's dv_dt on broadcast arrays (shape of ``v`` after broadcasting)."""
        v, s1, s2 = np.broadcast_arrays(v, s1, s2)
        with np.errstate(all="ignore"):
            out = self.model.dv_dt_all(v, s1, s2)
        out = np.asarray(out, dtype=float)
        if out.shape != v.shape:
            raise ParameterError(
                f"neuron model {self.name}: dv_dt returned shape {out.shape} for inputs of shape "
                f"{v.shape}; it must be vectorised"
            )
        return out

    def extension(self, s1, s2):
        """F, dF/dv and d2F/dv2 at threshold for synaptic values s1, s2."""
        th, e = self.theta, self.eps
        f0 = self.raw(th, s1, s2)
        fp, fm = self.raw(th + e, s1, s2), self.raw(th - e, s1, s2)
        if np.all(np.isfinite(fp)):
            g = (fp - fm) / (2 * e)
            h = (fp - 2 * f0 + fm) / (e * e)
        else:  # one-sided when the equation is not finite just above threshold
            fmm = self.raw(th - 2 * e, s1, s2)
            g = (3 * f0 - 4 * fm + fmm) / (2 * e)
            h = (f0 - 2 * fm + fmm) / (e * e)
        return f0, g, h

    def __call__(self, v, s1, s2):
        """dv/dt with the extension above threshold (same shape as the broadcast inputs)."""
        th = self.theta
        f = self.raw(np.minimum(v, th), s1, s2)
        above = v > th
        if np.any(above):
            f0, g, h = self.extension(s1, s2)
            w = self.width * np.tanh((v - th) / self.width)
            f = np.where(above, f0 + g * w + 0.5 * h * w * w, f)
        return f

    def syn_at(self, s10, s20, t):
        return s10 * np.exp(-t / self.taus[0]), s20 * np.exp(-t / self.taus[1])


def integrate(dyn: Dynamics, v0, s10, s20, t_out: np.ndarray, fraction: float = RK4_FRACTION,
              what: str = "table") -> np.ndarray:
    """v at every time of ``t_out`` (increasing, from 0) from broadcast starts (v0, s10, s20).

    Classical RK4 in lockstep over all starts; each interval of ``t_out`` is split into steps of
    at most ``fraction / max |dF/dv|`` over the current states. Returns shape ``(..., len(t_out))``.
    """
    v0, s10, s20 = np.broadcast_arrays(*(np.asarray(x, float) for x in (v0, s10, s20)))
    v = v0.copy()
    out = np.empty(v.shape + (len(t_out),))
    out[..., 0] = v
    flat = v.reshape(-1)
    sub = slice(None, None, max(1, flat.size // 4096))
    d = 1e-4 * dyn.width
    for k in range(len(t_out) - 1):
        ta, tb = float(t_out[k]), float(t_out[k + 1])
        a1, a2 = dyn.syn_at(s10, s20, ta)
        vs = v.reshape(-1)[sub]
        slope = np.abs(dyn(vs + d, a1.reshape(-1)[sub], a2.reshape(-1)[sub])
                       - dyn(vs - d, a1.reshape(-1)[sub], a2.reshape(-1)[sub])) / (2 * d)
        lip = float(np.max(slope)) if slope.size else 0.0
        if not math.isfinite(lip):
            lip = 0.0
        n_sub = max(1, int(math.ceil((tb - ta) * 1.25 * lip / fraction)))
        h = (tb - ta) / n_sub
        for j in range(n_sub):
            t = ta + j * h
            s1a, s2a = dyn.syn_at(s10, s20, t)
            s1m, s2m = dyn.syn_at(s10, s20, t + 0.5 * h)
            s1e, s2e = dyn.syn_at(s10, s20, t + h)
            k1 = dyn(v, s1a, s2a)
            k2 = dyn(v + 0.5 * h * k1, s1m, s2m)
            k3 = dyn(v + 0.5 * h * k2, s1m, s2m)
            k4 = dyn(v + h * k3, s1e, s2e)
            v = v + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        bad = ~np.isfinite(v)
        if bad.any():
            i = tuple(int(x[0]) for x in np.nonzero(bad))
            raise ParameterError(
                f"neuron model {dyn.name}: dv_dt became non-finite along the {what} trajectory from "
                f"v0={v0[i]:g} mV, {dyn.syn_names[0]}={s10[i]:g}"
                + (f", {dyn.syn_names[1]}={s20[i]:g}" if dyn.n_syn > 1 else "")
                + f" before t={tb:g} ms (last finite state: {out[i + (k,)]:g} mV); the equation must "
                "stay finite wherever trajectories from v_range x syn_range go"
            )
        out[..., k + 1] = v
    return out


# ---- generation -------------------------------------------------------------------------------

def _syn_axis(dyn: Dynamics, k: int, n: int) -> UniformAxis:
    if k >= dyn.n_syn:
        return UniformAxis(0.0, 0.0, 1)
    lo, hi = dyn.bounds[k]
    return UniformAxis(lo, hi, n)


def time_axis(dyn: Dynamics, t_bits: int) -> FloatExpAxis:
    """30 synaptic time constants (then s has decayed by 1e-13); first spacing <= 0.0125 ms."""
    t_max = 30.0 * max(dyn.taus[: dyn.n_syn])
    return FloatExpAxis.covering(t_max, 0.0125, t_bits)


def generate(model, grid: Grid, reach_margin: float = 0.5,
             interp_tol: float = 0.01) -> tuple[GenericTable, dict]:
    """Tabulate ``v``, ``f`` and ``reach`` of ``model`` on ``grid``.

    Returns the table and diagnostics: per-axis interpolation error estimates (mV) used by the
    sizing, and the generation time.
    """
    start = time.perf_counter()
    dyn = Dynamics(model)
    cls = type(model)
    if grid.n_s2 > 1 and dyn.n_syn < 2:
        grid = Grid(grid.n_v, grid.n_s1, 1, grid.t_bits)
    if grid.n_s2 == 1 and dyn.n_syn == 2:
        raise ParameterError(f"{dyn.name} has two synaptic variables: the grid needs n_s2 >= 4")
    v_axis = UniformAxis(dyn.v_lo, dyn.theta, grid.n_v)
    s1 = _syn_axis(dyn, 0, grid.n_s1)
    s2 = _syn_axis(dyn, 1, grid.n_s2)
    t_axis = time_axis(dyn, grid.t_bits)
    fine = FloatExpAxis(t_axis.e0, t_axis.m + REFINE_BITS, (t_axis.n - 1) * 2**REFINE_BITS + 1)
    t_fine = fine.nodes()
    v0 = v_axis.nodes()[:, None, None]
    s10 = s1.nodes()[None, :, None]
    s20 = s2.nodes()[None, None, :]
    v_fine = integrate(dyn, v0, s10, s20, t_fine)          # [v0, s1, s2, t_fine]
    step = 2**REFINE_BITS
    v_tab = np.ascontiguousarray(v_fine[..., ::step])
    theta = dyn.theta

    # reach: lowest v0 reaching theta by t (linear between the v0 nodes), running min in t
    r = _lowest_start(v_fine >= theta, v_fine - theta, v_axis)
    reach = np.minimum.accumulate(r, axis=-1)[..., ::step]
    # at the last node also the starts that fire after the horizon, where s has decayed away:
    # those above v_block there; so a start below reach[..., -1] never fires without input
    vb = v_block(dyn)
    if vb < theta:
        reach[..., -1] = np.minimum(reach[..., -1], _lowest_start(v_fine[..., -1] > vb,
                                                                  v_fine[..., -1] - vb, v_axis))
    reach = reach.astype(np.float32)

    # f on the (v, s) grid, its v axis extended to the potentials trajectories visit
    h_v = v_axis.step
    v_min = float(np.min(v_tab))
    f_below = int(min(max(math.ceil((dyn.v_lo - v_min) / h_v) + 2, (grid.n_v - 1) // 2),
                      4 * grid.n_v))
    f_above = 3 * (grid.n_v - 1) + 1  # up to theta + 3 D, where the extension has saturated
    f_v = (dyn.v_lo - f_below * h_v) + np.arange(grid.n_v + f_below + f_above) * h_v
    f_tab = dyn(f_v[:, None, None], s1.nodes()[None, :, None], s2.nodes()[None, None, :])
    while not np.all(np.isfinite(f_tab[0])) and f_below > 0:  # never tabulate non-finite values
        f_below -= 1
        f_v, f_tab = f_v[1:], f_tab[1:]
    if not np.all(np.isfinite(f_tab)):
        raise ParameterError(f"neuron model {dyn.name}: dv_dt is not finite on the table grid")
    f_tab = np.ascontiguousarray(f_tab)

    # monotone in each synaptic variable (for v up to threshold)? else the cell bound is invalid
    core = f_tab[f_below: f_below + grid.n_v]
    monotone = True
    for ax in (1, 2)[: dyn.n_syn]:
        dif = np.diff(core, axis=ax)
        scale = 1e-9 * (np.max(np.abs(core)) + 1.0)
        if not (np.all(dif >= -scale) or np.all(dif <= scale)):
            monotone = False
    if not monotone:
        log.info("%s: dv/dt is not monotone in the synaptic variables; reach bound disabled",
                 dyn.name)
        reach[...] = -np.inf

    table = GenericTable(
        model_name=dyn.name, parameters=model.parameters(), units=dict(cls.units),
        syn_names=tuple(cls.syn_names), v_axis=v_axis, s1=s1, s2=s2, t=t_axis,
        f_below=f_below, f_above=f_above, v=v_tab, f=f_tab, reach=np.ascontiguousarray(reach),
        v_thresh=theta, v_reset=float(model.v_reset), tau_refrac=float(model.tau_refrac),
        v_init=float(model.v_init), tau_s1=dyn.taus[0], tau_s2=dyn.taus[1],
        v_block=vb, reach_margin=float(reach_margin), rk4_fraction=FALLBACK_FRACTION,
        rk4_span=0.25 * min(dyn.taus[: dyn.n_syn]), extension_width=dyn.width,
        clean=None, interp_tol=float(interp_tol),
        syn_units=tuple(cls.synapses[r][2] for r in cls.receptor_types),
    )
    table.clean, spans = clean_spans(v_tab, interp_tol, per_axis=True)
    diag = error_estimates(table, v_fine, t_fine, dyn)
    table.v = np.ascontiguousarray(v_tab.transpose(0, 1, 3, 2))  # [v0][s1][t][s2]: rows of s2
    t_nodes = t_axis.nodes()
    for name, first in spans.items():  # stencils an axis alone cuts shorter than a RK4 segment
        diag[f"short_{name}"] = float(np.mean(t_nodes[first - 1] < table.rk4_span))
    diag["generation_seconds"] = time.perf_counter() - start
    diag["monotone_in_synapses"] = monotone
    return table, diag


def _lowest_start(above: np.ndarray, gap: np.ndarray, v_axis: UniformAxis) -> np.ndarray:
    """Per synaptic node, the lowest v0 with ``above`` (monotone along v0, axis 0), linearly
    interpolated on ``gap`` (which crosses 0 there); +inf if none."""
    first = np.argmax(above, axis=0)
    below = np.maximum(first - 1, 0)
    g_hi = np.take_along_axis(gap, first[None], 0)[0]
    g_lo = np.take_along_axis(gap, below[None], 0)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.nan_to_num(np.clip(-g_lo / (g_hi - g_lo), 0.0, 1.0), nan=1.0)
    r = np.where(first > 0, v_axis.nodes()[below] + frac * v_axis.step, v_axis.lo)
    return np.where(above.any(axis=0), r, np.inf)


def _sliding_max4(a: np.ndarray, axis: int) -> np.ndarray:
    n = a.shape[axis]
    if n == 1:
        return a
    out = np.take(a, np.arange(n - 3), axis=axis)
    for j in range(1, 4):
        out = np.maximum(out, np.take(a, np.arange(j, j + n - 3), axis=axis))
    return out


def clean_spans(v: np.ndarray, tol: float, per_axis: bool = False):
    """Per interpolation stencil, the number of leading time nodes over which it is clean.

    The error of cubic Lagrange interpolation on a stencil is estimated along each axis by
    3/128 |fourth difference| of the 5-node windows holding four of its nodes along that axis
    (the largest over its nodes on the other axes); the stencil is clean at a time node while the
    largest estimate is <= ``tol`` (mV). Node 0 (v = v0) is always clean. Shape
    ``(n_v - 3, n_s1 - 3 or 1, n_s2 - 3 or 1)``, int32 in ``[1, n_t]``. With ``per_axis``, also
    the spans each axis alone would allow (the sizing refines the axes that cut spans short).
    """
    nt = v.shape[-1]
    err = None
    axes = {}

    def first_dirty(e):
        dirty = e > tol
        first = np.where(dirty.any(axis=-1), np.argmax(dirty, axis=-1), nt)
        return np.ascontiguousarray(np.maximum(first, 1).astype(np.int32))

    for ax in range(3):
        n = v.shape[ax]
        if n == 1:
            continue
        if n >= 5:
            d4 = np.abs(np.diff(v, n=4, axis=ax)) * (3.0 / 128.0)
            zero = np.zeros_like(np.take(d4, [0], axis=ax))
            e = np.maximum(np.concatenate([zero, d4], axis=ax), np.concatenate([d4, zero], axis=ax))
        else:
            e = np.zeros_like(np.take(v, [0], axis=ax))
        for other in range(3):
            if other != ax:
                e = _sliding_max4(e, other)
        if per_axis:
            axes[("v", "s1", "s2")[ax]] = first_dirty(e)
        err = e if err is None else np.maximum(err, e)
    return (first_dirty(err), axes) if per_axis else first_dirty(err)


def v_block(dyn: Dynamics) -> float:
    """Without input, v > v_block reaches threshold eventually (``-inf``: always; ``>= v_thresh``:
    never): the largest v <= v_thresh where dv/dt(v, 0, 0) <= 0, refined by bisection."""
    v = np.linspace(dyn.v_lo, dyn.theta, 4097)
    f = dyn.raw(v, 0.0, 0.0)
    stop = np.nonzero(~(f > 0))[0]
    if stop.size == 0:
        return -math.inf
    i = int(stop[-1])
    if i == v.size - 1:
        return dyn.theta
    lo, hi = float(v[i]), float(v[i + 1])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if dyn.raw(mid, 0.0, 0.0) > 0:
            hi = mid
        else:
            lo = mid
    return lo


def error_estimates(table: GenericTable, v_fine: np.ndarray, t_fine: np.ndarray,
                    dyn: Dynamics) -> dict:
    """Interpolation errors (mV, 99th percentile over the states below threshold) per axis.

    Across v0 and s: 3/128 |fourth difference| (the cubic Lagrange error at a cell centre); in t:
    the Hermite interpolant of the table (slopes from the equation) against the fine-grid values.
    """
    v = table.v  # still [v0][s1][s2][t] here
    theta = table.v_thresh
    out = {}
    for name, ax in (("v", 0), ("s1", 1), ("s2", 2)):
        if v.shape[ax] < 5:
            out[f"err_{name}"] = 0.0
            continue
        d4 = np.abs(np.diff(v, n=4, axis=ax)) * (3.0 / 128.0)
        m = v.shape[ax] - 4
        top = np.take(v, np.arange(m), axis=ax)
        for j in range(1, 5):
            top = np.maximum(top, np.take(v, np.arange(j, j + m), axis=ax))
        relevant = top <= theta  # stencils below threshold: the post-crossing extension is not v
        out[f"err_{name}"] = float(np.percentile(d4[relevant], 99)) if relevant.any() else 0.0
    # Hermite in t, at the fine nodes between coarse nodes
    step = 2**REFINE_BITS
    tn = t_fine[::step]
    s1n = table.s1.nodes()[None, :, None, None]
    s2n = table.s2.nodes()[None, None, :, None]
    a1, a2 = dyn.syn_at(s1n, s2n, tn[None, None, None, :])
    d = dyn(v, a1, a2)
    h = np.diff(tn)
    idx = np.arange(len(tn) - 1)
    y0, y1 = v[..., :-1], v[..., 1:]
    d0, d1 = d[..., :-1], d[..., 1:]
    errs = []
    for j in range(1, step):
        # the fine node's position in the Hermite parameter
        sj = (t_fine[idx * step + j] - tn[:-1]) / h
        s2_, s3_ = sj * sj, sj * sj * sj
        herm = ((2 * s3_ - 3 * s2_ + 1) * y0 + (s3_ - 2 * s2_ + sj) * h * d0
                + (-2 * s3_ + 3 * s2_) * y1 + (s3_ - s2_) * h * d1)
        ref = v_fine[..., idx * step + j]
        rel = ref <= theta
        if rel.any():
            errs.append(np.abs(herm - ref)[rel])
    out["err_t"] = float(np.percentile(np.concatenate(errs), 99)) if errs else 0.0
    return out


# ---- sizing -------------------------------------------------------------------------------

def _cells(grid: Grid, n_t: int) -> int:
    return grid.n_v * grid.n_s1 * grid.n_s2 * n_t


def _bytes(dyn: Dynamics, grid: Grid) -> int:
    n_t = time_axis(dyn, grid.t_bits).n
    plane = grid.n_s1 * grid.n_s2
    f_rows = grid.n_v + 4 * grid.n_v + 3 * grid.n_v
    return 8 * _cells(grid, n_t) + 4 * plane * n_t + 8 * plane * f_rows


def initial_grid(dyn: Dynamics) -> Grid:
    return Grid(10, 8, 8 if dyn.n_syn > 1 else 1, 3)


def initial_interp_tol(tol: float) -> float:
    """Interpolation tolerance (mV) of the clean spans for a spike-time tolerance (ms): a v error
    of tol x 1 mV/ms, a slow threshold approach."""
    return tol * 1.0


def meets(acc: dict, tol: float, margin: float = 1.0) -> bool:
    """The bars: mean <= tol, p99 <= 10 tol, missed + extra <= 0.5 %, each divided by margin."""
    return (acc["spike_time_error_mean_ms"] <= tol / margin
            and acc["spike_time_error_p99_ms"] <= 10 * tol / margin
            and acc["missed_plus_extra_fraction"] <= 0.005 / margin)


def short_fraction(table: GenericTable) -> float:
    """Fraction of stencils clean for less than an integrated segment (slow: RK4 there)."""
    t_clean = table.t.nodes()[np.asarray(table.clean) - 1]
    return float(np.mean(t_clean < table.rk4_span))


def refine(dyn: Dynamics, grid: Grid, diag: dict, acc: dict, tol: float) -> Grid:
    """The next grid: every axis whose estimated error exceeds the target gets finer (errors
    scale as spacing^4, at most x2 per round); the target is the largest estimate divided by how
    far the measured spike-time errors are from SIZING_MARGIN x inside the tolerance. When they
    are there but too many stencils are clean for too short a time (slow), the axes that cut
    more than 1 % of the spans short get 1.5x the nodes."""
    m = SIZING_MARGIN
    if meets(acc, tol, m):
        # accurate but slow: refine the axes that cut clean spans short by half
        def faster(n: int, name: str) -> int:
            return n if n == 1 or diag.get(f"short_{name}", 0.0) <= 0.01 else n + (n + 1) // 2

        new = Grid(faster(grid.n_v, "v"), faster(grid.n_s1, "s1"), faster(grid.n_s2, "s2"),
                   grid.t_bits)
        if new != grid:
            return new
    ratio = max(acc["spike_time_error_mean_ms"] * m / tol,
                acc["spike_time_error_p99_ms"] * m / (10 * tol),
                2.0 if acc["missed_plus_extra_fraction"] * m > 0.005 else 0.0, 1.5)
    errs = {k: diag[f"err_{k}"] for k in ("v", "s1", "s2", "t")}
    target = max(errs.values()) / ratio

    def more(n: int, err: float) -> int:
        if n == 1 or err <= target:
            return n
        return min(2 * n - 1, int(math.ceil((n - 1) * (err / target) ** 0.25)) + 1)

    new = Grid(more(grid.n_v, errs["v"]), more(grid.n_s1, errs["s1"]), more(grid.n_s2, errs["s2"]),
               min(6, grid.t_bits + (1 if errs["t"] > target else 0)))
    if new == grid:  # no estimate above target, yet not there: refine every axis
        new = Grid(grid.n_v + grid.n_v // 2, grid.n_s1 + grid.n_s1 // 2,
                   grid.n_s2 if grid.n_s2 == 1 else grid.n_s2 + grid.n_s2 // 2, grid.t_bits)
    return new


def build(model, spec: GenericSpec = GenericSpec()) -> GenericTable:
    """Size, generate and certify the table of ``model`` in memory (no file)."""
    from edsim import certify_generic as cg
    from edsim._engine import GenLUT

    dyn = Dynamics(model)
    tol = spec.tolerance if spec.tolerance is not None else type(model).tolerance
    t_start = time.perf_counter()
    trains = cg.random_input_trains(model, spec.n_trains, spec.train_duration, spec.seed)
    ref = cg.reference_spikes(model, cg.shifted(trains))
    t_ref = time.perf_counter() - t_start
    grid = spec.grid or initial_grid(dyn)
    interp_tol = initial_interp_tol(tol)
    history = []
    for round_ in range(1 if spec.grid else MAX_ROUNDS):
        log.info("%s: generating %d x %d x %d x (2^%d per octave) table, clean to %.2g mV",
                 dyn.name, grid.n_v, grid.n_s1, grid.n_s2, grid.t_bits, interp_tol)
        table, diag = generate(model, grid, spec.reach_margin, interp_tol)
        t0 = time.perf_counter()
        lut = GenLUT(table)
        got, stats = cg.run_table(lut, trains)
        acc = cg.compare_spikes(ref, got)
        acc["fallback_updates"] = stats["n_fallback"]
        acc["certification_seconds"] = time.perf_counter() - t0
        short = short_fraction(table)
        history.append({"grid": [grid.n_v, grid.n_s1, grid.n_s2, grid.t_bits],
                        "interp_tol_mV": interp_tol, "mbytes": table.nbytes / 1e6,
                        "mean_ms": acc["spike_time_error_mean_ms"], "p99_ms": acc["spike_time_error_p99_ms"],
                        "missed_extra": acc["n_missed"] + acc["n_extra"], "short_fraction": short,
                        "generation_s": diag["generation_seconds"],
                        **{k: diag[k] for k in ("err_v", "err_s1", "err_s2", "err_t")}})
        log.info("%s: %.2f MB, spike-time error mean %.3g ms, p99 %.3g ms, missed+extra %d of %d, "
                 "%.1f %% of stencils integrated (interpolation estimates v %.1e, s1 %.1e, s2 %.1e, "
                 "t %.1e mV)", dyn.name, table.nbytes / 1e6, acc["spike_time_error_mean_ms"],
                 acc["spike_time_error_p99_ms"], acc["n_missed"] + acc["n_extra"],
                 acc["n_reference_spikes"], 100 * short, diag["err_v"], diag["err_s1"],
                 diag["err_s2"], diag["err_t"])
        accurate = meets(acc, tol, SIZING_MARGIN)
        if spec.grid or (accurate and short <= MAX_SHORT):
            break
        new = refine(dyn, grid, diag, acc, tol)
        if _bytes(dyn, new) <= spec.max_mbytes * 1e6:
            grid = new
        elif accurate:
            break  # fast enough within the size budget
        else:
            log.info("%s: a finer grid would exceed %g MB; tightening the clean spans instead",
                     dyn.name, spec.max_mbytes)
            interp_tol /= 4.0
    acc.update(cg.v_error(model, lut, 1000, spec.seed + 1))
    acc["tolerance_ms"] = tol
    acc["meets_tolerance"] = bool(meets(acc, tol))
    acc["reference"] = (f"lockstep classical RK4 of the declared equations, h = 2^{int(math.log2(cg.H_REF))}"
                        " ms, exact synaptic decay (edsim.certify_generic)")
    acc["generation_seconds"] = diag["generation_seconds"]
    acc["total_build_seconds"] = time.perf_counter() - t_start
    acc["reference_seconds"] = t_ref
    acc["bytes"] = table.nbytes
    acc["sizing_rounds"] = len(history)
    acc["sizing_history"] = json.dumps(history)
    for k in ("err_v", "err_s1", "err_s2", "err_t"):
        acc[f"estimated_{k}_mV"] = diag[k]
    table.accuracy = acc
    if not acc["meets_tolerance"]:
        log.warning("%s: table misses its tolerance (%g ms): mean %.3g ms, p99 %.3g ms, missed+extra "
                    "%.3g %%", dyn.name, tol, acc["spike_time_error_mean_ms"],
                    acc["spike_time_error_p99_ms"], 100 * acc["missed_plus_extra_fraction"])
    return table


# ---- files and cache --------------------------------------------------------------------------

def generic_key(model, spec: GenericSpec = GenericSpec()) -> str:
    cls = type(model)
    tol = spec.tolerance if spec.tolerance is not None else cls.tolerance
    blob = json.dumps({
        "model": model.name, "declaration": cls.declaration_hash(),
        "parameters": model.parameters(),
        "v_lo": cls.v_lo, "syn_range": {n: list(b) for n, b in zip(cls.syn_names, cls.syn_bounds)},
        "synapses": {k: list(v) for k, v in cls.synapses.items()}, "tolerance": tol,
        "spec": {k: v for k, v in asdict(spec).items() if k != "tolerance"},
        "generator": GENERATOR_VERSION, "format": FORMAT_VERSION,
    }, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(model, spec: GenericSpec = GenericSpec(), directory: Path | None = None) -> Path:
    key = generic_key(model, spec)
    return Path(directory or table_dir()) / f"{model.name}-{key[:20]}.h5"


def generic_table(model, spec: GenericSpec = GenericSpec(), directory: Path | None = None) -> GenericTable:
    """The table of ``model`` from the cache, generating, certifying and storing it if missing."""
    path = cache_path(model, spec, directory)
    if path.exists():
        return read(path)
    table = build(model, spec)
    write(path, table, model, key=generic_key(model, spec))
    log.info("wrote %s", path)
    return read(path)


def write(path: Path, table: GenericTable, model, *, key: str) -> None:
    """Write atomically (temporary file, then rename), so readers never see half a file."""
    from edsim import __version__

    cls = type(model)
    path = Path(path)
    equations = cls.equations_source()
    with atomic_write(path) as f:
        f.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION, "edsim_version": __version__,
            "model": table.model_name, "model_class": f"{cls.__module__}.{cls.__qualname__}",
            "generator_version": GENERATOR_VERSION, "equations": equations,
            "equations_sha256": hashlib.sha256(equations.encode()).hexdigest(),
            "declaration_sha256": cls.declaration_hash(), "interpolation": INTERPOLATION,
            "key": key, "tolerance_ms": table.accuracy.get("tolerance_ms", cls.tolerance),
            "synapses": json.dumps({k: list(v) for k, v in cls.synapses.items()}),
            "v_thresh": table.v_thresh, "v_reset": table.v_reset,
            "tau_refrac": table.tau_refrac, "v_init": table.v_init, "tau_s1": table.tau_s1,
            "tau_s2": table.tau_s2, "v_block": table.v_block,
            "reach_margin_mV": table.reach_margin, "rk4_fraction": table.rk4_fraction,
            "rk4_span_ms": table.rk4_span, "extension_width_mV": table.extension_width,
            "interp_tol_mV": table.interp_tol,
        })
        params = f.create_group("parameters")
        for name, value in table.parameters.items():
            params.create_dataset(name, data=value).attrs["unit"] = table.units[name]
        axes = f.create_group("axes")
        d = axes.create_dataset("v", data=table.v_axis.nodes())
        d.attrs.update({"lo": table.v_axis.lo, "hi": table.v_axis.hi, "n": table.v_axis.n,
                        "unit": "mV", "f_below": table.f_below, "f_above": table.f_above})
        for k, (name, ax) in enumerate((("s1", table.s1), ("s2", table.s2))):
            d = axes.create_dataset(name, data=ax.nodes())
            present = k < len(table.syn_names)
            receptor = ("excitatory", "inhibitory")[k]
            entry = cls.synapses.get(receptor, ("", "", ""))
            d.attrs.update({"lo": ax.lo, "hi": ax.hi, "n": ax.n,
                            "name": table.syn_names[k] if present else "",
                            "unit": entry[2], "tau_parameter": entry[1]})
        d = axes.create_dataset("t", data=table.t.nodes())
        d.attrs.update({"e0": table.t.e0, "m": table.t.m, "n": table.t.n, "unit": "ms"})
        f.create_dataset("v", data=np.ascontiguousarray(table.v)).attrs["unit"] = "mV"
        f.create_dataset("f", data=np.ascontiguousarray(table.f)).attrs["unit"] = "mV/ms"
        f.create_dataset("reach", data=np.ascontiguousarray(table.reach)).attrs["unit"] = "mV"
        f.create_dataset("clean", data=np.ascontiguousarray(table.clean)).attrs["unit"] = "time nodes"
        acc = f.create_group("accuracy")
        acc.attrs.update(table.accuracy)


def _attr(x):
    if isinstance(x, bytes):
        return x.decode()
    return x.item() if hasattr(x, "item") else x


def read(path: Path) -> GenericTable:
    """Read a table file, checking its format, version and consistency first."""
    path = Path(path)
    with open_checked(path, FORMAT, FORMAT_VERSION, "table", TableError,
                      "; regenerate it (it is rebuilt from the model automatically)") as f:
        try:
            a = {k: _attr(v) for k, v in f.attrs.items()}
            params = {name: float(d[()]) for name, d in f["parameters"].items()}
            units = {name: _attr(d.attrs["unit"]) for name, d in f["parameters"].items()}
            ax = f["axes"]
            va = ax["v"].attrs
            v_axis = UniformAxis(float(va["lo"]), float(va["hi"]), int(va["n"]))
            syn, names, syn_units = [], [], []
            for name in ("s1", "s2"):
                sa = ax[name].attrs
                syn.append(UniformAxis(float(sa["lo"]), float(sa["hi"]), int(sa["n"])))
                if _attr(sa["name"]):
                    names.append(_attr(sa["name"]))
                    syn_units.append(_attr(sa["unit"]))
            ta = ax["t"].attrs
            t_axis = FloatExpAxis(int(ta["e0"]), int(ta["m"]), int(ta["n"]))
            f_below, f_above = int(va["f_below"]), int(va["f_above"])
            shape_v = (v_axis.n, syn[0].n, t_axis.n, syn[1].n)
            shape_f = (v_axis.n + f_below + f_above, syn[0].n, syn[1].n)
            shape_r = (syn[0].n, syn[1].n, t_axis.n)
            shape_c = tuple(n - 3 if n > 1 else 1 for n in (v_axis.n, syn[0].n, syn[1].n))
            for dname, shape, dtype in (("v", shape_v, np.float64), ("f", shape_f, np.float64),
                                        ("reach", shape_r, np.float32),
                                        ("clean", shape_c, np.int32)):
                d = f[dname]
                if d.shape != shape or d.dtype != dtype:
                    raise TableError(f"'{path}': dataset {dname} is {d.shape} {d.dtype}, the axes "
                                     f"need {shape} {np.dtype(dtype)}")
            try:
                arrays = {n: mapped(f[n], path) for n in ("v", "f", "reach", "clean")}
            except ValueError as exc:
                raise TableError(f"'{path}' is truncated: {exc}") from None
            accuracy = {k: _attr(v) for k, v in f["accuracy"].attrs.items()}
            table = GenericTable(
                model_name=a["model"], parameters=params, units=units, syn_names=tuple(names),
                v_axis=v_axis, s1=syn[0], s2=syn[1], t=t_axis, f_below=f_below, f_above=f_above,
                v=arrays["v"], f=arrays["f"], reach=arrays["reach"],
                v_thresh=float(a["v_thresh"]), v_reset=float(a["v_reset"]),
                tau_refrac=float(a["tau_refrac"]), v_init=float(a["v_init"]),
                tau_s1=float(a["tau_s1"]), tau_s2=float(a["tau_s2"]), v_block=float(a["v_block"]),
                reach_margin=float(a["reach_margin_mV"]), rk4_fraction=float(a["rk4_fraction"]),
                rk4_span=float(a["rk4_span_ms"]), extension_width=float(a["extension_width_mV"]),
                clean=arrays["clean"], interp_tol=float(a["interp_tol_mV"]),
                syn_units=tuple(syn_units), accuracy=accuracy, path=path,
            )
        except KeyError as exc:
            raise TableError(f"'{path}' is missing {exc} (truncated or foreign file)") from None
        except OSError as exc:
            raise TableError(f"'{path}' is unreadable (truncated?): {exc}") from None
    return table


def is_generic_file(path) -> bool:
    """True if ``path`` is an HDF5 file of this format (any version)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return _attr(f.attrs.get("format")) == FORMAT
    except (OSError, ValueError):
        return False


__all__ = ["Grid", "GenericSpec", "GenericTable", "UniformAxis", "Dynamics", "build", "generate",
           "generic_table", "cache_path", "generic_key", "read", "write", "integrate"]
