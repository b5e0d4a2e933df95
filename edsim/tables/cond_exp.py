"""Lookup tables of the conductance-based LIF (``IF_cond_exp``), generated from its equations.

Structure exploited (and why the table is 3-D, not 4-D):

* the conductances decay in closed form, ``g(t) = g0 exp(-t / tau_syn)``;
* the membrane equation is linear in ``v``: ``dv/dt = -a(t) v + b(t)``, so from a state
  ``(v0, ge0, gi0)`` the potential after ``t`` ms is exactly ``v(t) = v0 P(t) + Q(t)`` where
  ``P(t) = exp(-A(t))`` has a closed form (``A`` is the integral of ``a``) and the forced response
  ``Q(ge0, gi0, t)`` does not depend on ``v0``.

Only ``Q`` is tabulated, over float-exponent axes (``axis.py``) in ``ge0``, ``gi0`` and ``t``. It is
computed by Gauss-Legendre quadrature of the variation-of-constants integral on every grid
interval, vectorised over the whole ``(ge0, gi0)`` grid, so each node is accurate to ~1e-13 mV.

Firing-time prediction needs a second table, ``reach``: for each ``(ge0, gi0)`` node and time node
``t_k``, the largest distance below threshold ``d0 = v_thresh - v0`` from which the neuron reaches
threshold at some time ``<= t_k``. It is a running maximum over a grid 4x finer in time, so it is
monotone in ``t`` and brackets the first crossing by binary search. ``reach[..., -1]`` answers "can
this state fire at all within the horizon" in O(1).
"""

from __future__ import annotations

import numpy as np

from edsim.models import IF_cond_exp
from edsim.tables.axis import FloatExpAxis

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


def _a_integral(model: IF_cond_exp, ge0, gi0, t):
    """``A(t) = integral_0^t a(s) ds`` (dimensionless), broadcasting over its arguments."""
    return (
        t / model.tau_m
        + (ge0 * model.tau_syn_E * -np.expm1(-t / model.tau_syn_E)
           + gi0 * model.tau_syn_I * -np.expm1(-t / model.tau_syn_I)) / model.cm
    )


def _drive(model: IF_cond_exp, ge0, gi0, s):
    """``b(s)`` (mV/ms): the part of dv/dt that does not multiply v."""
    return (
        model.g_leak * model.v_rest + model.i_offset
        + ge0 * np.exp(-s / model.tau_syn_E) * model.e_rev_E
        + gi0 * np.exp(-s / model.tau_syn_I) * model.e_rev_I
    ) / model.cm


def forced_response_on_grid(model: IF_cond_exp, ge0, gi0, t_nodes):
    """``Q(ge0, gi0, t_k)`` for every node ``t_k`` (``t_nodes[0] == 0``), by interval quadrature.

    ``ge0`` and ``gi0`` broadcast against each other; the result has their shape plus ``(nt,)``.
    """
    ge0, gi0 = np.broadcast_arrays(np.asarray(ge0, float), np.asarray(gi0, float))
    ge0 = ge0[..., None]
    gi0 = gi0[..., None]
    q = np.zeros(ge0.shape[:-1] + (len(t_nodes),))
    for k in range(len(t_nodes) - 1):
        lo, hi = t_nodes[k], t_nodes[k + 1]
        half = 0.5 * (hi - lo)
        s = half * _GL_X + 0.5 * (lo + hi)
        a_hi = _a_integral(model, ge0, gi0, hi)
        integrand = _drive(model, ge0, gi0, s) * np.exp(-(a_hi - _a_integral(model, ge0, gi0, s)))
        decay = np.exp(-(a_hi[..., 0] - _a_integral(model, ge0[..., 0], gi0[..., 0], lo)))
        q[..., k + 1] = q[..., k] * decay + half * (integrand @ _GL_W)
    return q


def exact_v(model: IF_cond_exp, v0, ge0, gi0, t, panels: int = 24):
    """High-precision ``v(t)`` from ``(v0, ge0, gi0)`` after ``t`` ms without input (vectorised).

    Quadrature panels shrink geometrically towards both ends of ``[0, t]``, where the integrand of
    the variation-of-constants formula varies fastest; used as the reference of accuracy checks.
    """
    v0, ge0, gi0, t = np.broadcast_arrays(*(np.asarray(x, float) for x in (v0, ge0, gi0, t)))
    shape = t.shape
    v0, ge, gi, t = (x.reshape(-1, 1) for x in (v0, ge0, gi0, t))
    a_t = _a_integral(model, ge, gi, t)
    geo = 0.5 ** np.arange(1, panels + 1)
    edges = np.unique(np.concatenate([[0.0, 1.0], geo, 1.0 - geo]))
    total = np.zeros(t.shape)
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = t * (0.5 * (hi - lo) * _GL_X + 0.5 * (lo + hi))[None, :]
        f = _drive(model, ge, gi, s) * np.exp(-(a_t - _a_integral(model, ge, gi, s)))
        total += 0.5 * (hi - lo) * t * (f @ _GL_W)[:, None]
    return (v0 * np.exp(-a_t) + total).reshape(shape)


def default_grid(model: IF_cond_exp, ge_max: float, gi_max: float, n_g_bits: int = 4,
                 n_t_bits: int = 4) -> tuple[FloatExpAxis, FloatExpAxis, FloatExpAxis]:
    """Axes for ``ge0`` (µS), ``gi0`` (µS) and ``t`` (ms) sized to the model's time constants.

    The time axis reaches 30 times the slowest synaptic time constant (conductances then have
    decayed by 1e-13) and at least 5 ``tau_m``; its first spacing resolves the fastest membrane time
    constant the conductance range allows. The conductance axes start with a spacing of 1/16 of the
    leak conductance.
    """
    t_max = max(30.0 * max(model.tau_syn_E, model.tau_syn_I), 5.0 * model.tau_m)
    tau_fast = model.cm / (model.g_leak + ge_max + gi_max)
    t_axis = FloatExpAxis.covering(t_max, min(tau_fast, 0.05) / 4.0, n_t_bits)
    g0 = model.g_leak / 16.0
    ge_axis = FloatExpAxis.covering(ge_max, g0, n_g_bits)
    gi_axis = FloatExpAxis.covering(gi_max, g0, n_g_bits)
    return ge_axis, gi_axis, t_axis


def generate(model: IF_cond_exp, ge_axis: FloatExpAxis, gi_axis: FloatExpAxis,
             t_axis: FloatExpAxis, refine_bits: int = 2) -> dict[str, np.ndarray]:
    """Tabulate ``Q`` and ``reach`` on the given axes.

    Returns ``{"q": float64[nge, ngi, nt], "reach": float32[nge, ngi, nt]}`` (mV).
    """
    ge = ge_axis.nodes()[:, None]
    gi = gi_axis.nodes()[None, :]
    fine = FloatExpAxis(t_axis.e0, t_axis.m + refine_bits, (t_axis.n - 1) * 2**refine_bits + 1)
    t_fine = fine.nodes()
    q_fine = forced_response_on_grid(model, ge, gi, t_fine)
    p_fine = np.exp(-_a_integral(model, ge[..., None], gi[..., None], t_fine))
    theta = model.v_thresh
    # From v0 = theta - d0, v(t) >= theta  <=>  d0 <= (q - theta (1 - p)) / p.
    with np.errstate(over="ignore"):
        h = (q_fine - theta * (1.0 - p_fine)) / p_fine
    reach_fine = np.maximum.accumulate(h, axis=-1)
    step = 2**refine_bits
    q = np.ascontiguousarray(q_fine[..., ::step])
    reach = np.ascontiguousarray(reach_fine[..., ::step]).astype(np.float32)
    return {"q": q, "reach": reach}
