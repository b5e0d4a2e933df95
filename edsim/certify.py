"""Measured accuracy of a lookup table: the figures every table file carries.

The table-driven engine (the real C event loop, one neuron per input train) is compared with an
independent high-precision simulation of the same equations on random input trains:

* the reference steps all trains in lockstep on a fine grid (``h = 2**-7`` ms); over each step the
  conductances decay in closed form and v is advanced by the exact exponential factor plus a
  4-point Gauss-Legendre quadrature of the forced term; a threshold crossing inside a step is the
  root of the cubic Hermite through (v, dv/dt) at both ends; refractory periods start at the
  crossing itself, not at a grid point;
* input spike times lie on that grid, so inputs are applied exactly;
* spikes are paired train by train in order; a reference spike with no table spike within
  ``match_window`` ms is *missed*, a table spike with no partner is *extra*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

H_REF = 2.0**-7  # ms

_GL4_X, _GL4_W = np.polynomial.legendre.leggauss(4)


@dataclass(frozen=True)
class InputTrains:
    """Random excitatory and inhibitory input spike trains, one pair per trained neuron.

    ``exc[k]``/``inh[k]`` are sorted spike times (ms, on the ``H_REF`` grid) of train ``k``, each
    delivered with weight ``w_exc[k]``/``w_inh[k]`` (µS).
    """

    duration: float
    exc: list[np.ndarray]
    inh: list[np.ndarray]
    w_exc: np.ndarray
    w_inh: np.ndarray
    v0: np.ndarray


def random_input_trains(model, n_trains: int, duration: float, seed: int) -> InputTrains:
    """Poisson input trains whose conductances span the range a network visits.

    Rates and weights are drawn per train, relative to the leak conductance, so that trains range
    from silent to strongly driven (tens of Hz), in excitation- and inhibition-dominated mixes.
    """
    rng = np.random.default_rng(seed)
    g_l = model.g_leak
    w_exc = g_l * rng.uniform(0.2, 2.0, n_trains)
    w_inh = g_l * rng.uniform(0.5, 8.0, n_trains)
    rate_exc = rng.uniform(300.0, 5000.0, n_trains)  # Hz
    rate_inh = rng.uniform(50.0, 1500.0, n_trains)
    v0 = rng.uniform(model.v_reset, model.v_thresh - 0.5, n_trains)
    exc, inh = [], []
    for k in range(n_trains):
        for rate, out in ((rate_exc[k], exc), (rate_inh[k], inh)):
            n = rng.poisson(rate * duration / 1000.0)
            t = np.sort(np.round(rng.uniform(0.0, duration, n) / H_REF) * H_REF)
            out.append(t[(t > 0) & (t < duration)])
    return InputTrains(duration, exc, inh, w_exc, w_inh, v0)


def run_table(lut, trains: InputTrains) -> tuple[list[np.ndarray], dict]:
    """Spike times of each train's neuron simulated by the C engine with ``lut``."""
    from edsim._engine import Sim

    n = len(trains.exc)
    sim = Sim(seed=0)
    first = sim.add_cond_exp(lut, n)
    return drive_engine(sim, first, trains, np.zeros(n), np.zeros(n))


def drive_engine(sim, first: int, trains: InputTrains, s1, s2,
                 delay: float = H_REF) -> tuple[list[np.ndarray], dict]:
    """Drives neurons ``first + k`` of ``sim`` with train ``k`` from state (v0, s1, s2), each input
    arriving ``delay`` ms (the reference's grid step) after its source time; returns each
    neuron's spike times and the engine's statistics."""
    n = len(trains.exc)
    src = sim.add_spike_source(2 * n)
    for k in range(n):
        sim.add_spike_times(src + k, trains.exc[k])
        sim.add_spike_times(src + n + k, trains.inh[k])
    # inputs reach the neuron `delay` after emission: compare with shifted() trains
    idx = np.arange(n)
    sim.add_synapses(np.concatenate([src + idx, src + n + idx]),
                     np.concatenate([first + idx, first + idx]),
                     np.concatenate([trains.w_exc, trains.w_inh]),
                     np.full(2 * n, delay),
                     np.concatenate([np.zeros(n), np.ones(n)]))
    sim.set_state(first, trains.v0, s1, s2)
    sim.record_spikes(first, n)
    sim.run(trains.duration + delay)
    t, ids = sim.drain_spikes()
    order = np.argsort(ids, kind="stable")
    t, ids = t[order], ids[order]
    bounds = np.searchsorted(ids, first + np.arange(n + 1))
    return [np.sort(t[bounds[k]: bounds[k + 1]]) for k in range(n)], sim.stats()


def shifted(trains: InputTrains) -> InputTrains:
    """The same trains with every input H_REF later (as the engine receives them)."""
    return InputTrains(trains.duration + H_REF, [t + H_REF for t in trains.exc],
                       [t + H_REF for t in trains.inh], trains.w_exc, trains.w_inh, trains.v0)


def reference_spikes(model, trains: InputTrains, h: float = H_REF) -> list[np.ndarray]:
    """High-precision spike times of every train (lockstep exponential-quadrature stepping)."""
    m = model
    g_l, cm, te, ti = m.g_leak, m.cm, m.tau_syn_E, m.tau_syn_I

    def advance(v_a, ge_a, gi_a, span):
        """v after `span` (array, ms) from (v_a, ge_a, gi_a): exact decay + GL4 forced term."""
        span = np.maximum(span, 1e-300)
        big_a = span / m.tau_m + (ge_a * te * -np.expm1(-span / te) + gi_a * ti * -np.expm1(-span / ti)) / cm
        s = 0.5 * span[:, None] * (_GL4_X[None, :] + 1.0)
        de, di = np.exp(-s / te), np.exp(-s / ti)
        a_s = s / m.tau_m + (ge_a[:, None] * te * (1 - de) + gi_a[:, None] * ti * (1 - di)) / cm
        b = (g_l * m.v_rest + m.i_offset + ge_a[:, None] * de * m.e_rev_E
             + gi_a[:, None] * di * m.e_rev_I) / cm
        forced = 0.5 * span * ((b * np.exp(-(big_a[:, None] - a_s))) @ _GL4_W)
        return v_a * np.exp(-big_a) + forced

    n = len(trains.exc)
    return lockstep_spikes(trains, h, np.zeros(n), np.zeros(n), te, ti, m, advance, m.dv_dt)


def lockstep_spikes(trains: InputTrains, h: float, s1, s2, tau1: float, tau2: float, model,
                    advance, dv_dt) -> list[np.ndarray]:
    """Spike times of every train, stepping all trains together on a grid of ``h`` ms.

    Inputs (on the grid) jump the synaptic variables ``s1``/``s2``, which decay exactly with
    ``tau1``/``tau2``; ``advance(v, s1, s2, span)`` gives v after ``span`` (arrays) and
    ``dv_dt(v, s1, s2)`` its slope. A crossing of ``model.v_thresh`` inside a step is the root of
    the cubic Hermite through (v, dv/dt) at both ends; refractoriness (``model.tau_refrac`` at
    ``model.v_reset``) starts at the crossing itself, not at a grid point.
    """
    n = len(trains.exc)
    n_steps = int(round(trains.duration / h))
    add1 = np.zeros((n_steps + 1, n))
    add2 = np.zeros((n_steps + 1, n))
    for k in range(n):
        np.add.at(add1[:, k], np.round(trains.exc[k] / h).astype(int), trains.w_exc[k])
        np.add.at(add2[:, k], np.round(trains.inh[k] / h).astype(int), trains.w_inh[k])
    theta, v_reset = model.v_thresh, model.v_reset
    v = trains.v0.astype(float).copy()
    s1, s2 = np.array(s1, float), np.array(s2, float)
    refr_end = np.full(n, -np.inf)
    spikes: list[list[float]] = [[] for _ in range(n)]
    d1, d2 = np.exp(-h / tau1), np.exp(-h / tau2)
    for step in range(n_steps):
        t0 = step * h
        s1 += add1[step]
        s2 += add2[step]
        t1 = t0 + h
        start = np.maximum(t0, np.minimum(refr_end, t1))
        active = start < t1
        span = np.where(active, t1 - start, 0.0)
        s1_s = s1 * np.exp(-(start - t0) / tau1)
        s2_s = s2 * np.exp(-(start - t0) / tau2)
        v_s = np.where(start > t0, v_reset, v)
        v_end = np.where(active, advance(v_s, s1_s, s2_s, span), v_reset)
        crossed = active & (v_end >= theta)
        if crossed.any():
            k = np.nonzero(crossed)[0]
            sp = span[k]
            e1, e2 = s1_s[k] * np.exp(-sp / tau1), s2_s[k] * np.exp(-sp / tau2)
            g0 = dv_dt(v_s[k], s1_s[k], s2_s[k])
            g1 = dv_dt(v_end[k], e1, e2)
            t_cross = start[k] + sp * _hermite_root(v_s[k] - theta, g0 * sp, v_end[k] - theta, g1 * sp)
            for j, tc in zip(k, t_cross):
                spikes[j].append(float(tc))
            refr_end[k] = t_cross + model.tau_refrac
            # v at t1: reset, or released from refractoriness within this step
            v_end[k] = v_reset
            rel = refr_end[k] < t1
            if rel.any():
                kk = k[rel]
                wait = refr_end[kk] - t0
                v_end[kk] = advance(np.full(kk.size, v_reset), s1[kk] * np.exp(-wait / tau1),
                                    s2[kk] * np.exp(-wait / tau2), t1 - refr_end[kk])
        v = v_end
        s1 *= d1
        s2 *= d2
    return [np.array(s) for s in spikes]


def _hermite_root(c0, d0, c1, d1):
    """First root in [0, 1] of the cubic Hermite with values c0 < 0 <= c1 and slopes d0, d1
    (vectorised bisection; shared with certify_generic)."""
    lo = np.zeros_like(c0)
    hi = np.ones_like(c0)
    for _ in range(60):
        s = 0.5 * (lo + hi)
        s2, s3 = s * s, s * s * s
        f = (2 * s3 - 3 * s2 + 1) * c0 + (s3 - 2 * s2 + s) * d0 + (-2 * s3 + 3 * s2) * c1 + (s3 - s2) * d1
        hi = np.where(f >= 0, s, hi)
        lo = np.where(f >= 0, lo, s)
    return hi


def compare(reference: list[np.ndarray], test: list[np.ndarray], match_window: float = 1.0) -> dict:
    """Spike-time errors, missed and extra spikes of ``test`` against ``reference``."""
    errors, missed, extra = [], 0, 0
    for ref, got in zip(reference, test):
        i = j = 0
        while i < len(ref) and j < len(got):
            d = got[j] - ref[i]
            if abs(d) <= match_window:
                errors.append(d)
                i += 1
                j += 1
            elif d > 0:
                missed += 1
                i += 1
            else:
                extra += 1
                j += 1
        missed += len(ref) - i
        extra += len(got) - j
    err = np.abs(np.array(errors)) if errors else np.zeros(1)
    n_ref = int(sum(len(r) for r in reference))
    return {
        "n_trains": len(reference),
        "n_reference_spikes": n_ref,
        "spike_time_error_mean_ms": float(err.mean()),
        "spike_time_error_p99_ms": float(np.percentile(err, 99)),
        "spike_time_error_max_ms": float(err.max()),
        "spike_time_bias_ms": float(np.mean(errors)) if errors else 0.0,
        "n_missed": int(missed),
        "n_extra": int(extra),
        "missed_plus_extra_fraction": float((missed + extra) / max(n_ref, 1)),
    }


def v_error(model, lut, n: int, seed: int) -> dict:
    """Error of the table's v after an interval, from random states, against ``exact_v``."""
    from edsim.tables.cond_exp import exact_v

    rng = np.random.default_rng(seed)
    g_l = model.g_leak
    ge0 = g_l * rng.uniform(0.0, 20.0, n)
    gi0 = g_l * rng.uniform(0.0, 60.0, n)
    dt = np.exp(rng.uniform(np.log(0.01), np.log(100.0), n))
    v0 = rng.uniform(model.e_rev_I, model.v_thresh, n)
    got = np.array([lut.advance(a, b, c, d)[0] for a, b, c, d in zip(v0, ge0, gi0, dt)])
    err = np.abs(got - exact_v(model, v0, ge0, gi0, dt))
    return {"v_error_mean_mV": float(err.mean()), "v_error_max_mV": float(err.max()), "v_samples": n}
