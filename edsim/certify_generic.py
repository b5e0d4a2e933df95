"""Measured accuracy of the table of a model declared by its equations (``EquationModel``).

As :mod:`edsim.certify` does for ``IF_cond_exp``: the table-driven engine (the real C event loop,
one neuron per input train) is compared with an independent fine-step simulation of the declared
equations on random input trains:

* the reference steps all trains in lockstep with classical RK4 on the user's ``dv_dt`` itself
  (no table, no extension above threshold), ``h = H_REF``; the synaptic variables decay in closed
  form; a threshold crossing inside a step is the root of the cubic Hermite through (v, dv/dt) at
  both ends; refractory periods start at the crossing itself;
* input spike times lie on that grid, so inputs are applied exactly;
* spikes are paired train by train (:func:`edsim.certify.compare`).

Input trains are drawn relative to the model's declared ``syn_range``: each synaptic variable's
mean is a random fraction (2 to 50 %) of its range's larger end, reached with random rates, so
trains range from silent to strongly driven.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from edsim.certify import InputTrains, compare, drive_engine, lockstep_spikes

H_REF = 2.0**-6  # ms


@dataclass(frozen=True)
class Trains(InputTrains):
    """:class:`edsim.certify.InputTrains` plus the synaptic state at t = 0 (the trains' stationary
    means, so slow synapses do not start from an unrepresentative transient)."""

    s1_0: np.ndarray | None = None
    s2_0: np.ndarray | None = None


def random_input_trains(model, n_trains: int, duration: float, seed: int) -> Trains:
    """Poisson trains whose synaptic variables span the model's ``syn_range``."""
    cls = type(model)
    rng = np.random.default_rng(seed)
    weights, trains, starts = [], [], []
    for k, receptor in enumerate(("excitatory", "inhibitory")):
        rate_lo, rate_hi = ((300.0, 5000.0), (50.0, 1500.0))[k]
        rate = rng.uniform(rate_lo, rate_hi, n_trains)
        frac = rng.uniform(0.02, 0.5, n_trains)
        if k < len(cls.syn_names):
            lo, hi = cls.syn_bounds[k]
            span = hi if abs(hi) >= abs(lo) else lo
            tau = getattr(model, cls.syn_taus[k])
            w = frac * span / (rate / 1000.0 * tau)
            w = np.clip(w, -0.3 * abs(span), 0.3 * abs(span))
            starts.append(w * rate / 1000.0 * tau * rng.uniform(0.5, 1.5, n_trains))
        else:
            w = np.zeros(n_trains)
            rate = np.zeros(n_trains)
            starts.append(np.zeros(n_trains))
        weights.append(w)
        out = []
        for j in range(n_trains):
            n = rng.poisson(rate[j] * duration / 1000.0)
            t = np.sort(np.round(rng.uniform(0.0, duration, n) / H_REF) * H_REF)
            out.append(t[(t > 0) & (t < duration)])
        trains.append(out)
    span_v = model.v_thresh - model.v_reset
    v0 = rng.uniform(model.v_reset, model.v_thresh - 0.05 * span_v, n_trains)
    return Trains(duration, trains[0], trains[1], weights[0], weights[1], v0, starts[0], starts[1])


def _s0(trains, n: int) -> tuple[np.ndarray, np.ndarray]:
    s1 = getattr(trains, "s1_0", None)
    s2 = getattr(trains, "s2_0", None)
    return (np.zeros(n) if s1 is None else np.asarray(s1, float),
            np.zeros(n) if s2 is None else np.asarray(s2, float))


def shifted(trains: InputTrains) -> Trains:
    """The same trains with every input H_REF later (as the engine receives them), from the same
    state at t = 0."""
    n = len(trains.exc)
    s1, s2 = _s0(trains, n)
    return Trains(trains.duration + H_REF, [t + H_REF for t in trains.exc],
                  [t + H_REF for t in trains.inh], trains.w_exc, trains.w_inh, trains.v0, s1, s2)


def run_table(lut, trains: InputTrains) -> tuple[list[np.ndarray], dict]:
    """Spike times of each train's neuron simulated by the C engine with ``lut`` (a GenLUT)."""
    from edsim._engine import Sim

    n = len(trains.exc)
    sim = Sim(seed=0)
    first = sim.add_gen(lut, n)
    s1, s2 = _s0(trains, n)
    return drive_engine(sim, first, trains, s1, s2, H_REF)


def reference_spikes(model, trains: InputTrains, h: float = H_REF) -> list[np.ndarray]:
    """Spike times of every train by lockstep RK4 of the declared ``dv_dt``."""
    cls = type(model)
    n = len(trains.exc)
    two = len(cls.syn_names) > 1
    tau1 = getattr(model, cls.syn_taus[0])
    tau2 = getattr(model, cls.syn_taus[1]) if two else 1.0

    def f(v, s1, s2):
        return model.dv_dt_all(v, s1, s2 if two else None)

    def advance(v, s1, s2, span):
        """RK4 over `span` (array) from (v, s1, s2); s decays exactly."""
        half1, half2 = np.exp(-0.5 * span / tau1), np.exp(-0.5 * span / tau2)
        k1 = f(v, s1, s2)
        k2 = f(v + 0.5 * span * k1, s1 * half1, s2 * half2)
        k3 = f(v + 0.5 * span * k2, s1 * half1, s2 * half2)
        k4 = f(v + span * k3, s1 * half1 * half1, s2 * half2 * half2)
        return v + span / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    s1, s2 = _s0(trains, n)
    if not two:
        s2 = np.zeros(n)
    with np.errstate(all="ignore"):  # lanes that are refractory or idle may overflow harmlessly
        return lockstep_spikes(trains, h, s1, s2, tau1, tau2, model, advance, f)


def compare_spikes(reference, test, match_window: float = 1.0) -> dict:
    """:func:`edsim.certify.compare` (spike-time errors, missed and extra spikes)."""
    return compare(reference, test, match_window)


def v_error(model, lut, n: int, seed: int) -> dict:
    """Error of the table's v after an interval, from random states inside the table, against
    RK4 of the declared equations with 1000 steps per interval (<= 0.05 ms)."""
    from edsim.tables.generic import Dynamics

    cls = type(model)
    dyn = Dynamics(model)
    rng = np.random.default_rng(seed)
    v0 = rng.uniform(cls.v_lo, model.v_thresh, n)
    s = [rng.uniform(lo, hi, n) for lo, hi in dyn.bounds]
    dt = np.exp(rng.uniform(np.log(0.01), np.log(50.0), n))
    got = np.array([lut.advance(a, b, c, d)[0] for a, b, c, d in zip(v0, s[0], s[1], dt)])
    v = v0.copy()
    steps = 1000
    h = dt / steps
    with np.errstate(all="ignore"):
        for j in range(steps):
            t = j * h
            a = dyn.syn_at(s[0], s[1], t)
            m = dyn.syn_at(s[0], s[1], t + 0.5 * h)
            e = dyn.syn_at(s[0], s[1], t + h)
            k1 = dyn(v, *a)
            k2 = dyn(v + 0.5 * h * k1, *m)
            k3 = dyn(v + 0.5 * h * k2, *m)
            k4 = dyn(v + h * k3, *e)
            v = v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    below = v <= model.v_thresh  # the extension above threshold is not the model
    err = np.abs(got - v)[below]
    if err.size == 0:
        err = np.zeros(1)
    return {"v_error_mean_mV": float(err.mean()), "v_error_p99_mV": float(np.percentile(err, 99)),
            "v_error_max_mV": float(err.max()), "v_samples": int(below.sum())}
