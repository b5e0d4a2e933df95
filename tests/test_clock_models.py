"""Time-driven models (edsim.clockmodels) against an independent high-precision integration.

Reference: scipy's DOP853 (rtol 1e-10, atol 1e-12) on the equations written out again below, with
terminal threshold events, the reset applied between segments and inputs applied at their arrival
times. Inputs arrive on the step grid (source time + delay is exactly k dt in floating point), so
the time-driven input rule adds no error and what is measured is the integrator's. The chaotic
Hindmarsh-Rose regime is compared by burst statistics instead of spike times.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import edsim
from edsim.errors import ParameterError
from tests.conftest import COBA_CELL

DELAY = 1.0  # ms, of every input connection below


# ---- the reference -------------------------------------------------------------------------

def dop853(rhs, y0, t_end, threshold, inputs=(), reset=None, refrac=0.0, max_spikes=20):
    """Spike times of ``dy/dt = rhs(y, clamped)`` from ``y0`` over [0, t_end].

    ``inputs``: (time, function y -> y) applied at that time. With ``reset`` (y -> y), a spike is
    y[0] reaching ``threshold``, continuously or by an input's jump; ``clamped`` is true for
    ``refrac`` ms after it. Without, every upward crossing is a spike and the trajectory goes on.
    """
    y, t, k, spikes, refr_until = np.array(y0, float), 0.0, 0, [], -math.inf
    inputs = sorted(inputs, key=lambda e: e[0])

    def crossing(_, yy):
        return yy[0] - threshold

    crossing.direction, crossing.terminal = 1.0, reset is not None
    while t < t_end and len(spikes) < max_spikes:
        while k < len(inputs) and inputs[k][0] <= t:
            y = np.array(inputs[k][1](y.copy()), float)
            k += 1
        if reset is not None and y[0] >= threshold and t >= refr_until:  # a jump to threshold
            spikes.append(t)
            y, refr_until = np.array(reset(y.copy()), float), t + refrac
        end = min(t_end, inputs[k][0] if k < len(inputs) else math.inf)
        clamped = t < refr_until
        if clamped:
            end = min(end, refr_until)
        sol = solve_ivp(lambda _, yy: rhs(yy, clamped), (t, end), y, method="DOP853",
                        rtol=1e-10, atol=1e-12, events=None if clamped else crossing)
        assert sol.success, sol.message
        if reset is not None and sol.status == 1:
            t = float(sol.t_events[0][0])
            spikes.append(t)
            y = np.array(reset(sol.y_events[0][0].copy()), float)
            refr_until = t + refrac
        else:
            if reset is None and not clamped:
                spikes.extend(float(s) for s in sol.t_events[0])
            y, t = sol.y[:, -1], end
    return np.array(spikes[:max_spikes])


def on_grid(start, stop, every, dt):
    """Regular arrival times k dt in [start, stop) that source spikes at t - DELAY hit exactly."""
    out = []
    for k in range(round(start / dt), round(stop / dt), round(every / dt)):
        for kk in (k, k + 1, k + 2):
            t = kk * dt
            if t - DELAY >= 0 and (t - DELAY) + DELAY == t:
                out.append(t)
                break
    return out


def edsim_spikes(model, duration, dt=None, inputs=(), init=None):
    """Spike times of one neuron; inputs: (arrival time, weight, receptor type)."""
    net = edsim.Network()
    pop = net.population(1, model, dt=dt)
    if init:
        pop.initialize(**init)
    trains: dict = {}
    for t, w, receptor in inputs:
        trains.setdefault((w, receptor), []).append(t - DELAY)
    for (w, receptor), times in trains.items():
        src = net.source(edsim.SpikeTimes(times))
        net.connect(src, pop, edsim.AllToAll(), weight=w, delay=DELAY, receptor_type=receptor)
    rec = net.record(pop)
    net.run(duration)
    return rec.spikes.t


def max_error(got, ref, n=20):
    assert len(ref) >= n, f"the reference fired only {len(ref)} spikes"
    assert len(got) >= n, f"edsim fired {len(got)} spikes, the reference {len(ref)}"
    return float(np.max(np.abs(got[:n] - ref[:n])))


def add(index, w):
    def apply(y):
        y[index] += w
        return y

    return apply


# ---- the equations, written again ----------------------------------------------------------

def vtrap(x, k):
    return k * (1 - x / (2 * k)) if abs(x / k) < 1e-6 else x / math.expm1(x / k)


def hh_rates(m, v):
    u = v - m.v_offset
    return (0.32 * vtrap(13 - u, 4), 0.28 * vtrap(u - 40, 5), 0.128 * math.exp((17 - u) / 18),
            4 / (1 + math.exp((40 - u) / 5)), 0.032 * vtrap(15 - u, 5),
            0.5 * math.exp((10 - u) / 40))


def hh_rhs(m):
    def rhs(y, _clamped):
        v, mm, h, n, ge, gi = y
        am, bm, ah, bh, an, bn = hh_rates(m, v)
        dv = (m.g_leak * (m.e_rev_leak - v) + m.gbar_Na * mm**3 * h * (m.e_rev_Na - v)
              + m.gbar_K * n**4 * (m.e_rev_K - v) + ge * (m.e_rev_E - v) + gi * (m.e_rev_I - v)
              + m.i_offset) / m.cm
        return [dv, am * (1 - mm) - bm * mm, ah * (1 - h) - bh * h, an * (1 - n) - bn * n,
                -ge / m.tau_syn_E, -gi / m.tau_syn_I]

    return rhs


def hh_rest(m):
    am, bm, ah, bh, an, bn = hh_rates(m, m.e_rev_leak)
    return [m.e_rev_leak, am / (am + bm), ah / (ah + bh), an / (an + bn), 0.0, 0.0]


def hh_reported(crossings, tau_refrac):
    out = []
    for t in crossings:
        if not out or t - out[-1] >= tau_refrac:
            out.append(t)
    return np.array(out)


def izh_rhs(m):
    def rhs(y, _clamped):
        v, u = y
        return [0.04 * v * v + 5 * v + 140 - u + 1000 * m.i_offset, m.a * (m.b * v - u)]

    return rhs


def izh_reset(m):
    return lambda y: [m.c, y[1] + m.d]


def adex_rhs(m):
    gl = m.cm / m.tau_m

    def rhs(y, clamped):
        v, w, ge, gi = y
        v_eff = m.v_reset if clamped else v
        dw = (1e-3 * m.a * (v_eff - m.v_rest) - w) / m.tau_w
        dg = [-ge / m.tau_syn_E, -gi / m.tau_syn_I]
        if clamped:
            return [0.0, dw, *dg]
        spike = gl * m.delta_T * math.exp((v - m.v_thresh) / m.delta_T) if m.delta_T > 0 else 0.0
        dv = (gl * (m.v_rest - v) + spike - w + ge * (m.e_rev_E - v) + gi * (m.e_rev_I - v)
              + m.i_offset) / m.cm
        return [dv, dw, *dg]

    return rhs


def adex_reference(m, duration, inputs=()):
    threshold = m.v_spike if m.delta_T > 0 else m.v_thresh
    return dop853(adex_rhs(m), [m.v_rest, 0.0, 0.0, 0.0], duration, threshold, inputs,
                  reset=lambda y: [m.v_reset, y[1] + m.b, y[2], y[3]], refrac=m.tau_refrac)


def fhn_rhs(m):
    return lambda y, _: [y[0] - y[0] ** 3 / 3 - y[1] + m.I, (y[0] + m.a - m.b * y[1]) / m.tau]


def hr_rhs(m):
    def rhs(y, _clamped):
        x, yy, z = y
        return [yy - m.a * x**3 + m.b * x**2 - z + m.I, m.c - m.d * x * x - yy,
                m.r * (m.s * (x - m.x_R) - z)]

    return rhs


def hr_rest(m):
    return [m.x_R, m.c - m.d * m.x_R**2, 0.0]


# ---- spike times against DOP853 ------------------------------------------------------------

B3_CELL = dict(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, v_offset=-63.0, e_rev_Na=50.0,
               e_rev_K=-90.0, e_rev_leak=-60.0, e_rev_E=0.0, e_rev_I=-80.0, tau_syn_E=5.0,
               tau_syn_I=10.0, v_thresh=-20.0, tau_refrac=3.0)


# The accuracy HH_cond_exp's docstring states: the largest error over the first 20 spikes was
# 3.3e-3 ms (dt 0.1) and 8.2e-6 ms (dt 0.01) driven by a current, 1.2e-3 and 1.4e-5 ms driven
# by conductance inputs (the RK4 it replaced: 2.6e-2, 3.2e-5, 1.1e-2, 2.6e-5 ms).
HH_TOLERANCE = {0.1: 0.01, 0.01: 5e-5}


@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_hh_cond_exp_driven_by_current_matches_dop853(dt):
    m = edsim.HH_cond_exp(i_offset=0.5, **B3_CELL)
    ref = hh_reported(dop853(hh_rhs(m), hh_rest(m), 240.0, m.v_thresh, max_spikes=40),
                      m.tau_refrac)
    got = edsim_spikes(m, 240.0, dt=dt)
    assert len(got) == len(ref)
    assert max_error(got, ref) < HH_TOLERANCE[dt]


@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_hh_cond_exp_past_its_rate_table_matches_dop853(dt):
    # e_rev_Na 90 mV: the spikes' peaks reach v - v_offset ~ 150 mV, past the end of the rate
    # table (128 mV, csrc/hh_rates_table.h), where the closed forms take over
    m = edsim.HH_cond_exp(i_offset=0.5, **dict(B3_CELL, e_rev_Na=90.0))
    ref = hh_reported(dop853(hh_rhs(m), hh_rest(m), 240.0, m.v_thresh, max_spikes=40),
                      m.tau_refrac)
    net = edsim.Network()
    pop = net.population(1, m, dt=dt)
    trace = net.record(pop, spikes=False, v=dt)
    net.run(20.0)
    assert np.max(trace.trace("v").values) - m.v_offset > 140.0
    got = edsim_spikes(m, 240.0, dt=dt)
    assert len(got) == len(ref)
    assert max_error(got, ref) < HH_TOLERANCE[dt]


@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_hh_cond_exp_driven_by_conductance_inputs_matches_dop853(dt):
    m = edsim.HH_cond_exp(**B3_CELL)
    exc, inh = on_grid(5.0, 120.0, 3.0, dt), on_grid(6.5, 120.0, 7.0, dt)
    inputs = [(t, 0.02, "excitatory") for t in exc] + [(t, 0.01, "inhibitory") for t in inh]
    ref = dop853(hh_rhs(m), hh_rest(m), 120.0, m.v_thresh, max_spikes=40,
                 inputs=[(t, add(4, 0.02)) for t in exc] + [(t, add(5, 0.01)) for t in inh])
    ref = hh_reported(ref, m.tau_refrac)
    got = edsim_spikes(m, 120.0, dt=dt, inputs=inputs)
    assert len(got) == len(ref)
    assert max_error(got, ref) < HH_TOLERANCE[dt]


@pytest.mark.parametrize("params", [
    dict(a=0.02, b=0.2, c=-65.0, d=8.0, i_offset=0.01),   # regular spiking, adapting
    dict(a=0.02, b=0.2, c=-50.0, d=2.0, i_offset=0.01),   # chattering (bursts)
    dict(a=0.1, b=0.2, c=-65.0, d=2.0, i_offset=0.015),   # fast spiking
], ids=["regular", "chattering", "fast"])
def test_izhikevich_driven_by_current_matches_dop853(params):
    m = edsim.Izhikevich(**params)
    ref = dop853(izh_rhs(m), [-70.0, m.b * -70.0], 900.0, 30.0, reset=izh_reset(m))
    got = edsim_spikes(m, 900.0, dt=0.1)
    assert max_error(got, ref) < 0.1


def test_izhikevich_driven_by_voltage_jumps_matches_dop853():
    m = edsim.Izhikevich(a=0.1, d=2.0, i_offset=0.004)
    exc, inh = on_grid(5.0, 500.0, 1.0, 0.1), on_grid(5.5, 500.0, 4.0, 0.1)
    inputs = [(t, 2.0, "excitatory") for t in exc] + [(t, -3.0, "inhibitory") for t in inh]
    ref = dop853(izh_rhs(m), [-70.0, -14.0], 500.0, 30.0, reset=izh_reset(m),
                 inputs=[(t, add(0, 2.0)) for t in exc] + [(t, add(0, -3.0)) for t in inh])
    got = edsim_spikes(m, 500.0, dt=0.1, inputs=inputs)
    assert max_error(got, ref) < 0.1


def test_izhikevich_runs_from_initialized_state():
    m = edsim.Izhikevich(a=0.02, b=0.2, c=-50.0, d=2.0, i_offset=0.01)
    ref = dop853(izh_rhs(m), [-60.0, -5.0], 300.0, 30.0, reset=izh_reset(m))
    got = edsim_spikes(m, 300.0, init=dict(v=-60.0, u=-5.0))
    assert max_error(got, ref) < 0.1


@pytest.mark.parametrize("params", [
    dict(i_offset=1.0),                                      # PyNN's defaults, adapting
    dict(i_offset=0.8, tau_refrac=2.0),
    dict(cm=0.2, tau_m=20.0, v_rest=-70.0, v_thresh=-50.0, v_reset=-58.0, v_spike=0.0,
         delta_T=2.0, a=2.0, b=0.1, tau_w=30.0, i_offset=0.5, tau_refrac=0.0),
    dict(i_offset=1.0, delta_T=0.0),                         # no exponential: fires at v_thresh
], ids=["default", "refractory", "high-v_spike", "delta_T=0"])
def test_adex_driven_by_current_matches_dop853(params):
    m = edsim.EIF_cond_exp_isfa_ista(**params)
    ref = adex_reference(m, 1300.0)
    got = edsim_spikes(m, 1300.0)
    assert max_error(got, ref) < 0.1


def test_adex_driven_by_conductance_inputs_matches_dop853():
    m = edsim.EIF_cond_exp_isfa_ista(i_offset=0.3)
    exc, inh = on_grid(5.0, 900.0, 2.0, 0.1), on_grid(6.3, 900.0, 5.0, 0.1)
    inputs = [(t, 0.01, "excitatory") for t in exc] + [(t, 0.02, "inhibitory") for t in inh]
    ref = adex_reference(m, 900.0, [(t, add(2, 0.01)) for t in exc]
                         + [(t, add(3, 0.02)) for t in inh])
    got = edsim_spikes(m, 900.0, inputs=inputs)
    assert max_error(got, ref) < 0.1


@pytest.mark.parametrize("current", [0.35, 0.5, 1.0])
def test_fitzhugh_nagumo_driven_by_current_matches_dop853(current):
    m = edsim.FitzHughNagumo(I=current)
    ref = dop853(fhn_rhs(m), [-1.2, -0.625], 1000.0, m.v_thresh)
    got = edsim_spikes(m, 1000.0)
    assert max_error(got, ref) < 0.1


def test_fitzhugh_nagumo_driven_by_jumps_matches_dop853():
    m = edsim.FitzHughNagumo()
    exc, inh = on_grid(5.0, 1200.0, 50.0, 0.1), on_grid(20.0, 1200.0, 45.0, 0.1)
    inputs = [(t, 0.6, "excitatory") for t in exc] + [(t, -0.2, "inhibitory") for t in inh]
    ref = dop853(fhn_rhs(m), [-1.2, -0.625], 1200.0, m.v_thresh,
                 inputs=[(t, add(0, 0.6)) for t in exc] + [(t, add(0, -0.2)) for t in inh])
    got = edsim_spikes(m, 1200.0, inputs=inputs)
    assert max_error(got, ref) < 0.1


def test_hindmarsh_rose_regular_bursting_matches_dop853():
    m = edsim.HindmarshRose(I=2.0, r=0.006)
    ref = dop853(hr_rhs(m), hr_rest(m), 700.0, m.x_thresh)
    got = edsim_spikes(m, 700.0)
    assert max_error(got, ref) < 0.1


def bursts(t, gap):
    """Spikes per burst and inter-burst intervals; a burst ends at an ISI > gap (ms)."""
    starts = np.concatenate([[0], np.nonzero(np.diff(t) > gap)[0] + 1])
    sizes = np.diff(np.concatenate([starts, [t.size]]))[:-1]  # the last burst may be cut
    return sizes, np.diff(t[starts])


def test_hindmarsh_rose_chaotic_bursting_has_the_reference_burst_statistics():
    m = edsim.HindmarshRose(I=3.0, r=0.006)
    ref = dop853(hr_rhs(m), hr_rest(m), 7000.0, m.x_thresh, max_spikes=10**6)
    got = edsim_spikes(m, 31000.0)
    ref_sizes, ref_ibi = bursts(ref[ref > 1000.0], 45.0)
    sizes, ibi = bursts(got[got > 1000.0], 45.0)
    assert len(set(ref_sizes)) >= 3 and len(ref_sizes) > 30  # irregular bursts, enough of them
    assert sizes.mean() == pytest.approx(ref_sizes.mean(), rel=0.1)
    assert ibi.mean() == pytest.approx(ref_ibi.mean(), rel=0.1)


# ---- clock-driven IF_cond_exp against the event-driven one ---------------------------------

def coba_network(dt):
    net = edsim.Network(seed=11)
    pop = net.population(20, edsim.IF_cond_exp(**COBA_CELL), dt=dt)
    rng = np.random.default_rng(5)
    grid = np.array(on_grid(2.0, 400.0, 0.1, 0.1))
    exc = [np.sort(rng.choice(grid, 16, replace=False)) - DELAY for _ in range(40)]
    inh = [np.sort(rng.choice(grid, 8, replace=False)) - DELAY for _ in range(10)]
    e = net.source(edsim.SpikeTimes(exc), n=40)
    i = net.source(edsim.SpikeTimes(inh), n=10)
    net.connect(e, pop, edsim.FixedProbability(0.5), weight=0.02, delay=DELAY)
    net.connect(i, pop, edsim.FixedProbability(0.5), weight=0.03, delay=DELAY,
                receptor_type="inhibitory")
    rec = net.record(pop)
    net.run(400.0)
    return rec.spikes.spike_trains()


def test_clock_driven_if_cond_exp_matches_event_driven():
    event, clock = coba_network(None), coba_network(0.1)
    assert sum(len(t) for t in event) > 40
    for a, b in zip(event, clock):
        assert len(a) == len(b)
        if len(a):
            assert np.max(np.abs(a - b)) < 0.1


# ---- parameters, state, sampling -----------------------------------------------------------

@pytest.mark.parametrize("model, params, named", [
    (edsim.HH_cond_exp, dict(cm=0.0), "cm"),
    (edsim.HH_cond_exp, dict(gbar_Na=-1.0), "gbar_Na"),
    (edsim.HH_cond_exp, dict(tau_refrac=-1.0), "tau_refrac"),
    (edsim.Izhikevich, dict(c=30.0), "c"),
    (edsim.Izhikevich, dict(a=-0.02), "a"),
    (edsim.Izhikevich, dict(d=float("nan")), "d"),
    (edsim.EIF_cond_exp_isfa_ista, dict(v_spike=-60.0), "v_spike"),
    (edsim.EIF_cond_exp_isfa_ista, dict(v_reset=-30.0), "v_reset"),
    (edsim.EIF_cond_exp_isfa_ista, dict(delta_T=-1.0), "delta_T"),
    (edsim.EIF_cond_exp_isfa_ista, dict(tau_w=0.0), "tau_w"),
    (edsim.EIF_cond_exp_isfa_ista, dict(v_spike=100.0, delta_T=0.1), "v_spike"),  # exp overflow
    (edsim.FitzHughNagumo, dict(tau=0.0), "tau"),
    (edsim.FitzHughNagumo, dict(b=-0.8), "b"),
    (edsim.HindmarshRose, dict(a=0.0), "a"),
    (edsim.HindmarshRose, dict(r=-0.001), "r"),
    (edsim.HindmarshRose, dict(I="3"), "I"),
])
def test_bad_parameter_raises_naming_it(model, params, named):
    with pytest.raises(ParameterError, match=rf"^{named} of {model.name} must"):
        model(**params)


@pytest.mark.parametrize("model", [edsim.HH_cond_exp(), edsim.Izhikevich(),
                                   edsim.EIF_cond_exp_isfa_ista(), edsim.FitzHughNagumo(),
                                   edsim.HindmarshRose(), edsim.IF_curr_exp(),
                                   edsim.IF_curr_delta()], ids=lambda m: m.name)
def test_c_core_rejects_what_the_model_rejects(model):
    from edsim import _engine

    n_params, n_state = _engine.clock_model_info(model.clock_model)
    assert n_params == len(model.clock_params()) and n_state == len(model.clock_state)
    sim = _engine.Sim(0)
    bad = model.clock_params()
    rule = model.positive[0] if model.positive else model.non_negative[0]
    bad[[f.name for f in fields(model)].index(rule)] = -1.0
    with pytest.raises(ParameterError):
        sim.add_clock(model.clock_model, 1, 0.1, bad)


def test_unknown_parameter_lists_valid_names():
    with pytest.raises(ParameterError, match="valid names are: a, b, c, d, i_offset"):
        edsim.Izhikevich.from_dict({"a": 0.02, "tau_m": 10.0})


def test_current_based_inhibition_must_be_negative():
    net = edsim.Network()
    pop = net.population(1, edsim.Izhikevich())
    src = net.source(edsim.SpikeTimes([1.0]))
    with pytest.raises(ParameterError, match="inhibitory weight onto Izhikevich must be <= 0 mV"):
        net.connect(src, pop, edsim.AllToAll(), weight=1.0, receptor_type="inhibitory")


@pytest.mark.parametrize("model, first", [
    (edsim.HH_cond_exp(**B3_CELL), None),
    (edsim.Izhikevich(), [-70.0, -14.0]),
    (edsim.EIF_cond_exp_isfa_ista(), [-70.6, 0.0, 0.0]),
    (edsim.FitzHughNagumo(), [-1.2, -0.625]),
    (edsim.HindmarshRose(), [-1.6, 1.0 - 5.0 * 2.56, 0.0]),
], ids=lambda x: getattr(x, "name", ""))
def test_sampler_records_the_state_variables(model, first):
    net = edsim.Network()
    pop = net.population(2, model)
    rec = net.record(pop, v=0.5)
    net.run(10.0)
    names = list(model.state_variables)[:3]
    assert list(rec.variables) == names
    for name in names:
        trace = rec.trace(name)
        assert trace.values.shape == (20, 2) and np.all(np.isfinite(trace.values))
        assert trace.t[0] == 0.0
    if first is None:  # HH: v at e_rev_leak, no conductance
        first = [B3_CELL["e_rev_leak"], 0.0, 0.0]
    for name, value in zip(names, first):
        assert rec.trace(name).values[0] == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_hh_initial_state_is_rest_of_the_gates():
    m = edsim.HH_cond_exp(**B3_CELL)
    net = edsim.Network()
    pop = net.population(1, m)
    state = pop.state()
    assert list(state) == list(m.clock_state)
    expected = hh_rest(m)[:4]
    for name, value in zip(["v", "m", "h", "n"], expected):
        assert state[name][0] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("model", [edsim.HH_cond_exp(), edsim.Izhikevich(),
                                   edsim.EIF_cond_exp_isfa_ista(), edsim.FitzHughNagumo(),
                                   edsim.HindmarshRose()], ids=lambda m: m.name)
def test_initialize_takes_every_clock_state_name(model):
    net = edsim.Network()
    pop = net.population(3, model)
    values = {name: np.array([0.1, 0.2, 0.3]) * (k + 1) for k, name in enumerate(model.clock_state)}
    pop.initialize(**values)
    state = pop.state()
    for name in model.clock_state:
        assert np.array_equal(state[name], values[name])
    with pytest.raises(ParameterError, match="valid names are: " + ", ".join(model.clock_state)):
        pop.initialize(bogus=1.0)


def test_jump_over_threshold_is_one_spike_at_the_next_step():
    m = edsim.FitzHughNagumo()
    net = edsim.Network()
    pop = net.population(1, m)
    src = net.source(edsim.SpikeTimes([9.0]))
    net.connect(src, pop, edsim.AllToAll(), weight=3.0, delay=DELAY)  # v: -1.2 -> 1.8 at 10 ms
    rec = net.record(pop)
    net.run(30.0)
    assert rec.spikes.t.tolist() == [10.0]


@pytest.mark.parametrize("model, tol", [
    (edsim.IF_curr_delta(tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0,
                         tau_refrac=2.0), 1e-9),
    (edsim.IF_curr_delta(tau_m=10.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-70.0,
                         tau_refrac=2.0), 1e-9),
    (edsim.IF_curr_exp(cm=0.25, tau_m=10.0, v_rest=-65.0, v_thresh=-55.0, v_reset=-70.0,
                       tau_refrac=2.0, tau_syn_E=3.0, tau_syn_I=6.0, i_offset=0.3), 1e-3),
    (edsim.IF_curr_exp(cm=0.25, tau_m=10.0, v_rest=-65.0, v_thresh=-55.0, v_reset=-70.0,
                       tau_refrac=2.0, tau_syn_E=10.0, tau_syn_I=10.0), 1e-3),
], ids=["delta tonic", "delta", "curr_exp", "curr_exp tau_syn = tau_m"])
def test_current_models_stepped_at_dt_match_their_event_driven_solution(model, tol):
    """The time-driven IF_curr_delta and IF_curr_exp (the bench's edsim-clock) step the exact
    propagator and find crossings at the end of each piece of a step: against the event-driven
    closed form, the delta model's spikes agree to rounding (v is monotonic between inputs) and
    IF_curr_exp's to the cubic interpolation of the crossing."""
    rng = np.random.default_rng(3)
    n_src, n, duration = 8, 12, 300.0
    trains = [np.sort(rng.uniform(0.0, duration, 60)) for _ in range(n_src)]
    pre, post = np.nonzero(rng.random((n_src, n)) < 0.5)
    inh = rng.random(pre.size) < 0.3
    big = 6.0 if model.name == "IF_curr_delta" else 1.2  # mV or nA
    w = np.where(inh, -rng.uniform(0.2, 0.6, pre.size), rng.uniform(0.3, 1.0, pre.size)) * big
    w = w.astype(np.float32).astype(np.float64)
    d = rng.uniform(0.1, 2.0, pre.size)

    def run(dt):
        net = edsim.Network(seed=0)
        src = net.source(edsim.SpikeTimes(trains), n=n_src, name="src")
        pop = net.population(n, model, name="cells", dt=dt)
        pop.initialize(v=np.linspace(model.v_reset, model.v_thresh - 0.5, n))
        for sel, receptor in ((~inh, "excitatory"), (inh, "inhibitory")):
            net.connect(src, pop, edsim.FromList(np.column_stack([pre[sel], post[sel], w[sel],
                                                                  d[sel]])),
                        receptor_type=receptor)
        rec = net.record(pop)
        net.run(duration)
        return rec.spikes

    exact, stepped = run(None), run(0.1)
    exact = exact.window(0.0, duration - 0.1)  # a step's spikes are found at its end
    stepped = stepped.window(0.0, duration - 0.1)
    assert len(exact) > 60
    assert np.array_equal(stepped.i, exact.i)
    assert np.max(np.abs(stepped.t - exact.t)) < tol
