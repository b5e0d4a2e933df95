"""Closed loop: stepping, injection, changes between steps, and the real-time runner.

Exactness is the point: a loop that injects before each step the spikes falling inside it must
give, bit for bit, the spikes of one run with all inputs given up front, whatever the slot size,
for every kind of neuron; changes made at t = 0 must equal a network built with those values; and
changes made mid-run must match a closed form. The runner's shedding is tested with a simulated
clock, so the assertions are on order and counts, never on timings.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edsim
from edsim.errors import ParameterError, StateError
from edsim.realtime import SlotSpikes
from tests.conftest import COBA_CELL

T = 120.0          # ms simulated per exactness check
N_SRC = 12


# ---- networks ---------------------------------------------------------------------------------

def _inputs(seed: int = 0):
    """Sensor spikes: half on a 0.5 ms grid (many sources at the same instant), half anywhere."""
    rng = np.random.default_rng(seed)
    grid = np.repeat(np.arange(0.0, T, 0.5), N_SRC)
    src = np.tile(np.arange(N_SRC), grid.size // N_SRC)
    keep = rng.random(grid.size) < 0.12
    t_free = rng.uniform(0.0, T, 300)
    times = np.concatenate([grid[keep], t_free])
    index = np.concatenate([src[keep], rng.integers(0, N_SRC, t_free.size)])
    return times, index


MODELS = {
    "IF_cond_exp": (lambda: edsim.IF_cond_exp(**COBA_CELL), None, (0.004, 0.012), (0.02, 0.06)),
    "IF_curr_exp": (lambda: edsim.IF_curr_exp(cm=0.25, tau_refrac=2.0, v_rest=-60.0),
                    None, (0.4, 1.2), (-2.0, -0.8)),
    "IF_curr_delta": (lambda: edsim.IF_curr_delta(v_rest=-52.0, tau_refrac=2.0), None,
                      (1.0, 4.0), (-4.0, -1.0)),
    "IF_cond_exp, dt 0.1": (lambda: edsim.IF_cond_exp(**COBA_CELL), 0.1, (0.004, 0.012),
                            (0.02, 0.06)),
}


def build(kind: str, trains=None, seed: int = 5):
    """Sensors onto a small recurrent network; unequal weights of both signs from the sensors,
    so that the order of equal-time inputs can decide who fires."""
    make, dt, w_exc, w_inh = MODELS[kind]
    model = make()
    net = edsim.Network(seed=seed)
    src = net.source(edsim.SpikeTimes(trains if trains is not None else []), n=N_SRC, name="src")
    exc = net.population(40, model, name="exc", dt=dt)
    inh = net.population(10, model, name="inh", dt=dt)
    rng = np.random.default_rng(seed)
    exc.initialize(v=rng.uniform(model.v_reset, model.v_thresh, exc.size))
    pre, post = np.nonzero(rng.random((N_SRC, exc.size)) < 0.5)
    inhibitory = pre >= N_SRC // 2
    w = np.where(inhibitory, rng.uniform(*w_inh, pre.size), rng.uniform(*w_exc, pre.size))
    if model.weight_sign == "conductance":
        w = np.abs(w)
    for flag, receptor in ((False, "excitatory"), (True, "inhibitory")):
        sel = inhibitory == flag
        rows = np.column_stack([pre[sel], post[sel], w[sel], np.full(sel.sum(), 0.5)])
        net.connect(src, exc, edsim.FromList(rows), receptor_type=receptor)
    net.connect(src, inh, edsim.FixedProbability(0.5), weight=w_exc[0], delay=1.0)
    net.connect(exc, inh, edsim.FixedInDegree(8), weight=w_exc[0], delay=0.2)
    net.connect(exc, exc, edsim.FixedInDegree(6), weight=w_exc[0], delay=0.2)
    w_ie = abs(w_inh[1]) if model.weight_sign == "conductance" else w_inh[1]
    net.connect(inh, exc, edsim.FixedProbability(0.3), weight=w_ie, delay=0.3,
                receptor_type="inhibitory")
    return net, src, (net.record(exc), net.record(inh), net.record(src))


def spikes_of(recs):
    return [(r.spikes.t, r.spikes.i) for r in recs]


def same_spikes(a, b) -> bool:
    return all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))


_REFERENCE: dict[str, list] = {}


def reference(kind: str):
    """One uninterrupted run with every input given up front (cached per model)."""
    if kind not in _REFERENCE:
        times, index = _inputs()
        trains = [times[index == j] for j in range(N_SRC)]
        net, _, recs = build(kind, trains)
        net.run(T)
        _REFERENCE[kind] = spikes_of(recs)
    return _REFERENCE[kind]


def stepped(kind: str, slot: float, vectorised: bool = True, seed: int = 0):
    """The same network stepped in slots, each slot's inputs injected just before it."""
    times, index = _inputs()
    net, src, recs = build(kind)
    rng = np.random.default_rng(seed)
    k = 0
    while net.t < T:
        t0, t1 = net.t, min(T, (k + 1) * slot)
        sel = (times >= t0) & (times < t1)
        if vectorised:
            order = rng.permutation(int(sel.sum()))
            net.inject(src, times[sel][order], index[sel][order])
        else:
            for j in rng.permutation(np.unique(index[sel])):
                net.inject(src, times[sel][index[sel] == j], int(j))
        net.run_until(t1)
        for r in recs:
            r.new_spikes()
        k += 1
    return spikes_of(recs)


# ---- stepping == one run ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(MODELS))
def test_stepping_in_1ms_slots_equals_one_run_with_inputs_up_front(kind):
    want = reference(kind)
    assert sum(len(t) for t, _ in want[:2]) > 30, "the network must be active"
    assert same_spikes(stepped(kind, 1.0), want)


@settings(max_examples=30)
@given(slot=st.floats(min_value=0.05, max_value=17.0), kind=st.sampled_from(sorted(MODELS)))
def test_stepping_in_any_slot_size_equals_one_run(slot, kind):
    assert same_spikes(stepped(kind, slot), reference(kind))


def test_vectorised_inject_equals_a_loop_of_scalar_injects():
    assert same_spikes(stepped("IF_curr_delta", 1.0, vectorised=True, seed=1),
                       stepped("IF_curr_delta", 1.0, vectorised=False, seed=2))
    assert same_spikes(stepped("IF_cond_exp", 0.7, vectorised=False, seed=3),
                       reference("IF_cond_exp"))


def test_equal_time_jumps_act_as_their_sum_in_any_call_order():
    """Handing equal-time spikes to the core in call order (the immediate path,
    eds_sim_add_spike_times) changes at most the rounding: an IF_curr_delta cell sums the jumps
    of one instant before its threshold decides (JUMP_FIRE), as NEST and Brian2 do. (The
    stepping tests above compare bits, so they still see the staged order.)"""
    times, index = _inputs()
    net, src, recs = build("IF_curr_delta")
    rng = np.random.default_rng(4)
    for k in range(int(T)):
        sel = (times >= k) & (times < k + 1)
        for j in rng.permutation(np.unique(index[sel])):
            net._sim.add_spike_times(src.first + int(j), times[sel][index[sel] == j])
        net.run_until(k + 1.0)
    for (t_got, i_got), (t_want, i_want) in zip(spikes_of(recs), reference("IF_curr_delta")):
        assert np.array_equal(i_got, i_want)
        assert np.max(np.abs(t_got - t_want), initial=0.0) < 1e-9
    assert sum(len(t) for t, _ in spikes_of(recs)[:2]) > 30


def test_run_until_refuses_the_past_and_non_numbers():
    net, _, _ = build("IF_curr_exp")
    net.run_until(5.0)
    net.run_until(5.0)  # a zero-length step is fine
    for bad in (4.0, float("nan"), float("inf"), "6", True):
        with pytest.raises(ParameterError, match="run_until"):
            net.run_until(bad)
    assert net.t == 5.0


def test_run_until_drains_only_what_is_recorded_and_new_spikes_reads_once():
    net, src, (rec_exc, rec_inh, rec_src) = build("IF_curr_exp")
    times, index = _inputs()
    net.inject(src, times, index)
    seen = []
    for k in range(1, 61):
        net.run_until(k * 1.0)
        new = rec_exc.new_spikes()
        assert np.all((new.t >= k - 1.0) & (new.t < k))
        seen.append(new)
    assert sum(len(s) for s in seen) == len(rec_exc.spikes)
    assert len(rec_exc.new_spikes()) == 0



def test_recorders_read_late_or_never_during_a_loop_get_what_one_run_records():
    """Stepping reads only the recorder it needs; the others (a view with scattered ids, a
    sampled one, one made mid-loop) take their share when read, and then hold exactly what the
    same recorders hold after one uninterrupted run. Once all have read, no spike is held twice."""
    times, index = _inputs()
    trains = [times[index == j] for j in range(N_SRC)]

    def with_views(net):
        exc = net.populations[1]
        return net.record(exc[::3]), net.record(exc[5:9], spikes=False, v=0.5)

    ref, _, ref_recs = build("IF_curr_exp", trains)
    ref_view, ref_v = with_views(ref)
    ref.run(30.0)
    ref_late = ref.record(ref.populations[2])
    ref.run(T - 30.0)

    net, src, recs = build("IF_curr_exp")
    view, sampled = with_views(net)
    net.inject(src, times, index)
    late = None
    sampler = net._samplers[0][0]
    for k in range(1, int(T) + 1):
        net.run_until(float(k))
        recs[0].new_spikes()
        # the core holds few rows: its buffer never grows by a large copy in a slot
        assert net._sim.samples_pending(sampler) < edsim.network.SAMPLE_BATCH
        if k == 30:
            late = net.record(net.populations[2])
        if k == 45:
            assert np.array_equal(sampled.v.t, ref_v.v.t[ref_v.v.t < 45.0])
    assert same_spikes(spikes_of([*recs, view, late]), spikes_of([*ref_recs, ref_view, ref_late]))
    assert len(view.spikes) > 10 and len(late.spikes) > 0
    assert np.array_equal(sampled.v.values, ref_v.v.values)
    assert net._spike_log == []


# ---- inject ----------------------------------------------------------------------------------

def test_inject_errors_name_the_source_the_value_and_the_rule():
    net, src, _ = build("IF_curr_exp")
    exc = net.populations[1]
    net.run_until(10.0)
    with pytest.raises(ParameterError, match=r"'src' must be >= now = 10.0 ms \(got 9.5\)"):
        net.inject(src, [11.0, 9.5], np.array([0, 1]))
    with pytest.raises(ParameterError, match=r"index 12 is out of range for 'src' \(12 sources"):
        net.inject(src, [11.0], 12)
    with pytest.raises(ParameterError, match=r"index 12 is out of range"):
        net.inject(src, [11.0, 12.0], np.array([3, 12]))
    with pytest.raises(ParameterError, match=r"one entry per spike time \(2\) \(got 3\)"):
        net.inject(src, [11.0, 12.0], np.array([0, 1, 2]))
    with pytest.raises(ParameterError, match="integer array"):
        net.inject(src, [11.0, 12.0], np.array([0.0, 1.0]))
    with pytest.raises(ParameterError, match="must be finite"):
        net.inject(src, [11.0, float("nan")], 0)
    with pytest.raises(ParameterError, match="'exc' is not a SpikeTimes source"):
        net.inject(exc, [11.0], 0)
    with pytest.raises(ParameterError, match="numbers in ms"):
        net.inject(src, ["soon"], 0)
    other = edsim.Network()
    with pytest.raises(edsim.EdsimError, match="another network"):
        other.inject(src, [11.0])
    # nothing was staged by the refused calls
    net.run_until(30.0)
    assert net.stats()["n_source_spikes"] == 0


def test_inject_into_a_view_uses_the_view_indices():
    net, src, (_, _, rec_src) = build("IF_curr_exp")
    net.inject(src[4:8], [1.0, 2.0], np.array([0, 3]))
    net.inject(src[[10, 2]], [3.0], 0)
    net.run_until(5.0)
    assert rec_src.spikes.t.tolist() == [1.0, 2.0, 3.0]
    assert rec_src.spikes.i.tolist() == [4, 7, 10]


# ---- changes between steps ---------------------------------------------------------------------

def _weights_net(weights=None, seed=2):
    net = edsim.Network(seed=seed)
    src = net.source(edsim.SpikeTimes(list(np.arange(1.0, 100.0, 3.7))), n=6, name="src")
    pop = net.population(20, edsim.IF_curr_exp(tau_refrac=2.0, v_rest=-58.0), name="pop")
    w = 0.9 if weights is None else weights
    proj = net.connect(src, pop, edsim.FixedProbability(0.6), weight=w, delay=0.7,
                       keep_connectivity=True)
    net.connect(pop, pop, edsim.FixedProbability(0.2), weight=-0.4, delay=0.4,
                receptor_type="inhibitory")
    return net, proj, net.record(pop)


def test_set_weights_at_t0_equals_a_network_built_with_those_weights():
    net, proj, rec = _weights_net()
    new = np.random.default_rng(0).uniform(0.2, 1.6, proj.n_connections)
    proj.set_weights(new)
    net.run_until(100.0)
    net2, proj2, rec2 = _weights_net(weights=new)
    net2.run(100.0)
    assert len(rec.spikes) > 20
    assert same_spikes([(rec.spikes.t, rec.spikes.i)], [(rec2.spikes.t, rec2.spikes.i)])
    assert np.array_equal(proj.get_weights(), new.astype(np.float32))
    assert np.array_equal(proj.weight, proj2.weight)


def test_weights_by_pre_post_pairs_and_by_edge():
    net, proj, _ = _weights_net()
    pre, post = proj.pre_index[:5], proj.post_index[:5]
    proj.set_weights([0.1, 0.2, 0.3, 0.4, 0.5], pre=pre, post=post)
    assert np.allclose(proj.get_weights(edges=np.arange(5)), [0.1, 0.2, 0.3, 0.4, 0.5])
    proj.set_weights(1.25, edges=[7])
    assert proj.get_weights(pre=proj.pre_index[7], post=proj.post_index[7])[0] == 1.25
    net.run_until(10.0)  # frozen now: the same through the core's CSR
    assert np.allclose(proj.get_weights(pre=pre, post=post), [0.1, 0.2, 0.3, 0.4, 0.5])
    assert proj.get_weights()[7] == 1.25


def test_weight_errors_name_the_projection_the_value_and_the_rule():
    net, proj, _ = _weights_net()
    pop = net.populations[1]
    inh = net.projections[1]
    with pytest.raises(ParameterError, match="does not keep its connectivity"):
        inh.get_weights()
    with pytest.raises(ParameterError, match=r"excitatory weight onto IF_curr_exp must be >= 0"):
        proj.set_weights(-0.5, edges=[0])
    with pytest.raises(ParameterError, match=r"one value per selected synapse \(2\)"):
        proj.set_weights([0.1, 0.2, 0.3], edges=[0, 1])
    with pytest.raises(ParameterError, match="must be finite"):
        proj.set_weights(float("inf"), edges=[0])
    with pytest.raises(ParameterError, match=r"edge .* out of range"):
        proj.set_weights(0.1, edges=[proj.n_connections])
    missing = np.setdiff1d(np.arange(pop.size), proj.post_index[proj.pre_index == 0])[0]
    with pytest.raises(ParameterError, match=rf"no synapse from pre 0 to post {missing}"):
        proj.get_weights(pre=[0], post=[missing])
    with pytest.raises(ParameterError, match="both pre and post"):
        proj.get_weights(pre=[0])
    multi = net.connect(net.populations[0], pop, edsim.FromList([(0, 0), (0, 0)]), weight=0.1,
                        keep_connectivity=True)
    with pytest.raises(ParameterError, match="2 synapses from pre 0 to post 0"):
        multi.set_weights(0.3, pre=[0], post=[0])
    multi.set_weights([0.3, 0.4], edges=[0, 1])
    assert multi.get_weights().tolist() == pytest.approx([0.3, 0.4])


def _psp(w: float, t: float, cm: float, tau_m: float, tau_s: float) -> float:
    """PSP of IF_curr_exp (mV) t ms after an input of w nA."""
    if t < 0:
        return 0.0
    return w / cm * tau_m * tau_s / (tau_m - tau_s) * (math.exp(-t / tau_m) - math.exp(-t / tau_s))


def test_weight_change_mid_run_acts_on_later_deliveries_in_flight_included():
    cm, tau_m, tau_s = 0.5, 20.0, 5.0
    net = edsim.Network()
    src = net.source(edsim.SpikeTimes([10.0, 19.5, 30.0]), n=1, name="src")
    pop = net.population(1, edsim.IF_curr_exp(cm=cm, tau_m=tau_m, tau_syn_E=tau_s,
                                              v_rest=-65.0, v_thresh=-40.0), name="pop")
    proj = net.connect(src, pop, edsim.AllToAll(), weight=0.25, delay=1.0,
                       keep_connectivity=True)
    net.run_until(20.0)  # inputs delivered at 11; the spike of 19.5 is in flight (due 20.5)
    proj.set_weights(0.5)
    net.run_until(40.0)
    want = -65.0 + sum(_psp(w, 40.0 - t, cm, tau_m, tau_s)
                       for w, t in ((0.25, 11.0), (0.5, 20.5), (0.5, 31.0)))
    assert pop.state()["v"][0] == pytest.approx(want, abs=1e-9)


def test_set_at_t0_equals_a_population_built_with_those_values(tmp_path):
    # the table-driven case builds a table for its new values: a coarse, quick one
    spec = edsim.TableSpec(g_bits=1, t_bits=1, n_trains=10, train_duration=50.0)

    def run(model, changes, dt=None):
        net = edsim.Network(seed=3, table_dir=tmp_path)
        drive = net.source(edsim.Poisson(rate=300.0), n=20, name="drive")
        table = spec if model.engine == "table" and dt is None else None
        pop = net.population(15, model, name="pop", dt=dt, table=table)
        pop.initialize(v=np.linspace(-65.0, -52.0, 15))
        w = 0.02 if model.weight_sign == "conductance" else 0.6
        net.connect(drive, pop, edsim.FixedProbability(0.4), weight=w, delay=0.5)
        if changes:
            pop.set(**changes)
        rec = net.record(pop)
        net.run(150.0)
        assert len(rec.spikes) > 10
        return rec.spikes.t, rec.spikes.i

    cases = [
        (edsim.IF_curr_exp(tau_refrac=2.0), dict(v_thresh=-52.0, tau_m=15.0, i_offset=0.2,
                                                 tau_syn_E=3.0), None),
        (edsim.IF_curr_delta(tau_refrac=1.0), dict(v_thresh=-53.0, v_reset=-62.0), None),
        (edsim.IF_cond_exp(**COBA_CELL), dict(v_reset=-63.0, tau_refrac=2.0), None),
        (edsim.IF_cond_exp(**COBA_CELL), dict(v_thresh=-51.0, tau_m=18.0), 0.1),
    ]
    for model, changes, dt in cases:
        built = run(dataclasses.replace(model, **changes), None, dt)
        changed = run(model, changes, dt)
        assert same_spikes([built], [changed]), (model.name, changes, dt)


def test_table_model_switches_to_the_table_of_its_new_parameters(tmp_path):
    """IF_cond_exp parameters other than v_reset/tau_refrac live in its table: set() finds or
    builds the table of the new values (a coarse, quick one here) and switches to it."""
    spec = edsim.TableSpec(g_bits=1, t_bits=1, n_trains=10, train_duration=50.0)

    def run(model, changes=None, at=0.0):
        net = edsim.Network(seed=4, table_dir=tmp_path)
        drive = net.source(edsim.Poisson(rate=400.0), n=20, name="drive")
        pop = net.population(10, model, name="pop", table=spec)
        pop.initialize(v=np.linspace(-60.0, -51.0, 10))
        net.connect(drive, pop, edsim.FixedProbability(0.5), weight=0.01, delay=0.5)
        rec = net.record(pop)
        net.run_until(at)
        if changes:
            pop.set(**changes)
        net.run_until(200.0)
        return pop, rec.spikes

    base = edsim.IF_cond_exp(**COBA_CELL)
    changes = dict(v_thresh=-53.0, tau_m=15.0)
    _, built = run(dataclasses.replace(base, **changes))
    pop, changed = run(base, changes)
    assert len(built) > 20 and same_spikes([(built.t, built.i)], [(changed.t, changed.i)])
    assert pop.model.v_thresh == -53.0
    _, plain = run(base)
    _, later = run(base, changes, at=100.0)
    early = plain.t < 100.0
    assert np.array_equal(plain.t[early], later.t[: early.sum()])
    assert not same_spikes([(plain.t, plain.i)], [(later.t, later.i)])


def test_threshold_change_mid_run_matches_the_closed_form():
    tau_m, cm, v_rest, i_off = 20.0, 1.0, -65.0, 0.3  # v_inf = v_rest + i tau_m / cm = -59
    net = edsim.Network()
    pop = net.population(2, edsim.IF_curr_exp(cm=cm, tau_m=tau_m, v_rest=v_rest, v_thresh=-50.0,
                                              v_reset=-70.0, tau_refrac=2.0, i_offset=i_off),
                         name="pop")
    rec = net.record(pop)
    net.run_until(10.0)
    v_inf = v_rest + i_off * tau_m / cm
    v10 = v_inf + (v_rest - v_inf) * math.exp(-10.0 / tau_m)
    assert pop.state()["v"][0] == pytest.approx(v10, abs=1e-12)
    pop[:].set(v_thresh=np.full(2, -62.0))
    net.run_until(60.0)
    t1 = 10.0 + tau_m * math.log((v_inf - v10) / (v_inf + 62.0))
    period = 2.0 + tau_m * math.log((v_inf + 70.0) / (v_inf + 62.0))
    assert rec.spikes.t[::2].tolist() == pytest.approx([t1 + k * period for k in range(
        len(rec.spikes.t[::2]))], abs=1e-9)
    assert len(rec.spikes) >= 4
    assert pop.model.v_thresh == -62.0 and pop[:1].model.v_thresh == -62.0



def test_delta_cells_that_start_and_stop_firing_on_their_own_match_the_closed_form():
    """IF_curr_delta cells whose v_inf crosses the threshold mid-run switch between the core's
    two representations (v and t_last, or the exponential of the firing time): the spikes and v
    follow the closed form through both switches, with inputs arriving in between."""
    tau, theta, v_reset = 20.0, -50.0, -60.0
    net = edsim.Network()
    pop = net.population(3, edsim.IF_curr_delta(tau_m=tau, v_rest=-55.0, v_thresh=theta,
                                                v_reset=v_reset, tau_refrac=2.0), name="pop")
    src = net.source(edsim.SpikeTimes([30.5]), name="src")
    net.connect(src, pop, edsim.AllToAll(), weight=1.0, delay=1.0)  # +1 mV at 31.5 ms
    pop.initialize(v=np.array([-60.0, -58.0, -56.0]))
    rec = net.record(pop)
    net.run_until(10.0)
    v0 = np.array([-60.0, -58.0, -56.0])
    v10 = -55.0 + (v0 + 55.0) * math.exp(-10.0 / tau)
    np.testing.assert_allclose(pop.state()["v"], v10, atol=1e-12)
    assert len(rec.spikes) == 0
    pop.set(v_rest=-45.0)  # now above threshold: each cell fires on its own
    net.run_until(31.0)
    first = 10.0 + tau * np.log((-45.0 - v10) / (-45.0 - theta))
    period = 2.0 + tau * math.log((-45.0 - v_reset) / (-45.0 - theta))
    want = sorted((t, i) for i in range(3) for t in first[i] + period * np.arange(3)
                  if t < 31.0)
    got = rec.spikes
    assert len(got) == len(want) >= 3
    np.testing.assert_allclose(got.t, [t for t, _ in want], atol=1e-9)
    assert got.i.tolist() == [i for _, i in want]
    pop.set(v_rest=-55.0)  # below threshold again: only the input at 31.5 ms can matter
    net.run_until(100.0)
    assert len(rec.spikes) == len(want)

    def v_at(t, i):  # closed form: released at v_reset after the last spike, +1 mV at 31.5
        t_s = max(ts for ts, j in want if j == i)
        free = t_s + 2.0
        v = -45.0 + (v_reset + 45.0) * math.exp(-(min(31.0, t) - free) / tau) if free < 31.0 \
            else v_reset
        start = max(31.0, free)
        for t_in, w in ((31.5, 1.0), (t, 0.0)):
            if t_in >= start:
                v = -55.0 + (v - -55.0) * math.exp(-(t_in - start) / tau) + w
                start = t_in
        return v

    np.testing.assert_allclose(pop.state()["v"], [v_at(100.0, i) for i in range(3)], atol=1e-9)


def test_refractory_neurons_are_held_at_the_new_v_reset():
    net = edsim.Network()
    pop = net.population(1, edsim.IF_curr_exp(i_offset=2.0, tau_refrac=5.0), name="pop")
    rec = net.record(pop)
    while len(rec.spikes) == 0:
        net.run_until(net.t + 1.0)
    pop.set(v_reset=-72.0)
    assert pop.state()["v"][0] == -72.0  # refractory: clamped at the new reset


def test_set_errors_name_the_population_the_value_and_the_rule():
    net = edsim.Network()
    pop = net.population(10, edsim.IF_curr_exp(), name="pop")
    src = net.source(edsim.Poisson(rate=5.0), n=2, name="drive")
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['v_th'\].*valid names "
                                             r"are: cm, tau_m"):
        pop.set(v_th=-50.0)
    with pytest.raises(ParameterError, match=r"one value per population.*got 2 distinct values"):
        pop.set(v_thresh=np.r_[np.full(5, -50.0), np.full(5, -51.0)])
    with pytest.raises(ParameterError, match=r"'pop\[view of 3\]' covers 3 of the 10 neurons"):
        pop[:3].set(v_thresh=-52.0)
    with pytest.raises(ParameterError, match="v_reset of IF_curr_exp must be below v_thresh"):
        pop.set(v_reset=-40.0)
    with pytest.raises(ParameterError, match="tau_m of IF_curr_exp must be > 0 ms"):
        pop.set(tau_m=-1.0)
    with pytest.raises(ParameterError, match="length 10"):
        pop.set(v_thresh=np.zeros(3))
    with pytest.raises(ParameterError, match="is a source"):
        src.set(rate=3.0)
    assert pop.model == edsim.IF_curr_exp()  # nothing changed


# ---- the real-time runner ------------------------------------------------------------------------

def _loop_net(seed=1):
    net = edsim.Network(seed=seed)
    sensors = net.source(edsim.SpikeTimes(), n=8, name="sensors")
    vip = net.source(edsim.SpikeTimes(), n=2, name="vip")
    pop = net.population(30, edsim.IF_curr_exp(tau_refrac=2.0, v_rest=-58.0), name="pop")
    other = net.population(30, edsim.IF_curr_exp(tau_refrac=2.0, v_rest=-58.0), name="other")
    net.connect(sensors, pop, edsim.FixedProbability(0.5), weight=1.5)
    net.connect(vip, other, edsim.AllToAll(), weight=1.5)
    net.connect(pop, other, edsim.FixedProbability(0.3), weight=1.0)
    out = net.record(pop)
    rec_other = net.record(other)
    rec_v = net.record(other[:4], spikes=False, v=0.1)
    rec_vip = net.record(vip)
    return net, sensors, vip, out, rec_other, rec_v, rec_vip


def _controller(sensors, vip, slot, log=None, runner=None):
    rng = np.random.default_rng(9)

    def on_slot(t, spikes):
        n = 2 + len(spikes[0]) % 3
        if log is not None:
            log.append((runner.level, n + 1))
        return [(sensors, t + rng.random(n) * slot, rng.integers(0, 8, n)),
                (vip, [t + 0.5 * slot], 1)]

    return on_slot


def test_unpaced_runner_sheds_nothing_and_equals_plain_stepping():
    net, sensors, vip, out, rec_other, rec_v, _ = _loop_net()
    runner = edsim.RealTimeRunner(net, slot=0.5, speed=None, outputs=[out])
    summary = runner.run(60.0, _controller(sensors, vip, 0.5))
    assert summary.slots == 120 and summary.sim_ms == 60.0 and net.t == 60.0
    assert summary.kept_up and not summary.shed_anything and summary.lag_ms is None
    assert "kept up, shed nothing" in summary.report()
    assert rec_v.v.values.shape == (600, 4)
    # the same loop written by hand
    net2, sensors2, vip2, out2, rec_other2, _, _ = _loop_net()
    on_slot = _controller(sensors2, vip2, 0.5)
    for k in range(120):
        net2.run_until((k + 1) * 0.5)
        for injection in on_slot(net2.t, SlotSpikes([(out2, out2.new_spikes())])):
            net2.inject(*injection)
    assert len(rec_other.spikes) > 10
    assert same_spikes(spikes_of([out, rec_other]), spikes_of([out2, rec_other2]))


def test_steps_iterator_equals_the_callback():
    net, sensors, vip, out, rec_other, _, _ = _loop_net()
    runner = edsim.RealTimeRunner(net, slot=1.0, speed=None, outputs=[out])
    on_slot = _controller(sensors, vip, 1.0)
    for step in runner.steps(40.0):
        for injection in on_slot(step.t, step.spikes):
            step.inject(*injection)
    net2, sensors2, vip2, out2, rec_other2, _, _ = _loop_net()
    edsim.RealTimeRunner(net2, slot=1.0, speed=None, outputs=[out2]).run(
        40.0, _controller(sensors2, vip2, 1.0))
    assert runner.summary.slots == 40
    assert same_spikes(spikes_of([out, rec_other]), spikes_of([out2, rec_other2]))


class FakeClock:
    """Wall clock of a simulated machine: time passes only when work or sleep says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_overloaded_runner_sheds_sampling_then_recording_then_input():
    net, sensors, vip, out, rec_other, rec_v, rec_vip = _loop_net()
    log: list = []
    runner = edsim.RealTimeRunner(net, slot=0.05, speed=1e6, outputs=[out, rec_vip],
                                  shed_after=1)
    runner.set_priority(vip, 5)
    summary = runner.run(20.0, _controller(sensors, vip, 0.05, log, runner))
    assert [(a, b) for _, _, a, b in summary.level_changes] == [(0, 1), (1, 2), (2, 3)]
    assert [k for k, _, _, _ in summary.level_changes] == [0, 1, 2]
    assert summary.deadlines_missed == summary.slots == 400
    shed = summary.shed
    assert shed[1]["slots"] == 399 and shed[2]["slots"] == 398 and shed[3]["slots"] == 397
    # level 1: every sample time of rec_v after the first slot, times its 4 neurons
    assert len(rec_v.v.t) == 1 and shed[1]["dropped"] == (200 - 1) * 4
    # level 2: spikes of 'other' not recorded = its firings minus those recorded
    n_fired = net.stats()["n_spikes"] - len(out.spikes)
    assert shed[2]["dropped"] == n_fired - len(rec_other.spikes) > 0
    # level 3: the sensors' spikes handed over at level 3 were dropped; the vip source's were not
    assert shed[3]["dropped"] == sum(n - 1 for level, n in log if level >= 3) > 0
    assert len(rec_vip.spikes) == 399  # one per slot; the last slot's is due after the run
    assert "level 1 state sampling" in summary.report()
    # shedding is undone when the run ends
    assert runner.level == 0
    net.run_until(21.0)
    assert len(rec_v.v.t) == 11


def test_hysteresis_sheds_when_falling_behind_and_recovers_level_by_level():
    clock = FakeClock()
    net, sensors, vip, out, _, _, _ = _loop_net()
    slot_s = 1e-3  # 1 ms slots at speed 1: 1 ms of wall time each
    cost = np.r_[np.full(30, 1.52 * slot_s), np.full(400, 0.0)]  # overloaded, then idle
    on_slot = _controller(sensors, vip, 1.0)

    def costly(t, spikes):
        clock.now += cost[int(round(t)) - 1]
        return on_slot(t, spikes)

    runner = edsim.RealTimeRunner(net, slot=1.0, speed=1.0, outputs=[out], shed_after=5,
                                  recover_after=50, clock=clock, sleep=clock.sleep)
    summary = runner.run(430.0, costly)
    changes = [(k, a, b) for k, _, a, b in summary.level_changes]
    # slot k ends 1.52 (k + 1) ms after the start, due at k + 1: lag 0.52 (k + 1) ms, over one
    # slot from k = 1 on; 5 late slots, lag growing, at k = 5, then a rise every 5 slots
    assert changes[:3] == [(5, 0, 1), (10, 1, 2), (15, 2, 3)]
    # from slot 30 on, the 15.6 ms backlog melts by 1 ms per slot: under recover_lag (0.5 ms)
    # from slot 45 (lag -0.4 ms), then down one level after every 50 such slots
    assert changes[3:] == [(94, 3, 2), (144, 2, 1), (194, 1, 0)]
    assert summary.deadlines_missed == 45
    assert summary.lag_ms["max"] == pytest.approx(15.6, abs=1e-9)
    assert summary.shed[1]["slots"] == 194 - 5 and summary.shed[3]["slots"] == 94 - 15


def test_a_late_slot_the_loop_absorbs_sheds_nothing():
    clock = FakeClock()
    net, sensors, vip, out, _, _, _ = _loop_net()
    on_slot = _controller(sensors, vip, 1.0)

    def hiccup(t, spikes):
        if round(t) == 10:
            clock.now += 5e-3  # the OS took 5 ms once
        else:
            clock.now += 0.3e-3
        return on_slot(t, spikes)

    runner = edsim.RealTimeRunner(net, slot=1.0, speed=1.0, outputs=[out], clock=clock,
                                  sleep=clock.sleep)
    summary = runner.run(50.0, hiccup)
    assert summary.deadlines_missed > 0 and not summary.shed_anything
    assert "shed nothing" in summary.report()
    # slot 9 (ending at t = 10) overran: 4 ms late; the next ones start late and catch up by
    # 0.7 ms each: late by 3.3, 2.6, 1.9, 1.2, 0.5 ms, then early
    assert summary.overran == 1 and summary.deadlines_missed == 6
    assert "1 overran their slot, 5 started late" in summary.report()


def test_runner_errors():
    net, sensors, vip, out, _, _, _ = _loop_net()
    for kwargs, match in ((dict(slot=0.0), "slot"), (dict(speed=-1.0), "speed"),
                          (dict(outputs=["pop"]), "outputs"), (dict(shed_after=0), "shed_after"),
                          (dict(recover_after=1.5), "recover_after")):
        with pytest.raises(ParameterError, match=match):
            edsim.RealTimeRunner(net, **kwargs)
    runner = edsim.RealTimeRunner(net, speed=None, outputs=[out])
    with pytest.raises(ParameterError, match="duration"):
        runner.run(-1.0)
    with pytest.raises(ParameterError, match="priority"):
        runner.set_priority(sensors, 1.5)
    with pytest.raises(KeyError, match="not an output"):
        runner.run(1.0, lambda t, s: s["other"])
    it = runner.steps(3.0)
    next(it)
    with pytest.raises(StateError, match="already running"):
        runner.steps(1.0)
    it.close()
    assert runner.summary.slots == 0


def test_runner_priority_is_validated_applied_and_restored():
    import os

    net = edsim.Network(seed=1)
    pop = net.population(2, edsim.IF_curr_exp(i_offset=1.0), name="pop")
    rec = net.record(pop)
    with pytest.raises(edsim.EdsimError):
        edsim.RealTimeRunner(net, slot=1.0, speed=50.0, outputs=[rec], rt_priority=0)
    before = os.sched_getscheduler(0)
    runner = edsim.RealTimeRunner(net, slot=1.0, speed=50.0, outputs=[rec], rt_priority=5)
    summary = runner.run(20.0)
    assert os.sched_getscheduler(0) == before
    assert summary.scheduling.startswith(("SCHED_FIFO priority 5", "real-time priority refused"))
    assert summary.slots == 20


def test_bench_loop_runs_small_and_settles_before_pacing():
    from edsim import bench_loop

    r = bench_loop.run_all("b4", n=300, duration=30.0, slot=1.0, speed=1.0, overload_speed=50.0,
                           overload_duration=20.0, idle_steps=50, settle=5.0, probe=0.05)
    paced, overloaded = r["paced"], r["overloaded"]
    assert paced.slots == 30 and paced.sim_ms == pytest.approx(30.0)
    assert overloaded.slots == 20 and r["settle_ms"] == 5.0
    # the unpaced run settled too: its slots are the paced run's (same steps, same spikes)
    assert r["overhead"]["identical_spikes"] and r["overhead"]["steps"] == 30
    assert r["miss_causes"]["missed"] == paced.deadlines_missed
    table = bench_loop.markdown(r)
    assert "after 5 ms settling" in table and "paced: deadlines missed" in table
    assert "the machine: 0.05 s of clock reads" in table


def test_machine_stall_probe_counts_the_gaps_between_clock_reads():
    from edsim.bench_loop import machine_stalls

    # a fake clock (s): reads 1 µs apart, with gaps of 0.3, 0.7 and 2.5 ms
    steps = [1e-6] * 50 + [3e-4] + [1e-6] * 50 + [7e-4, 2.5e-3] + [1e-6] * 5000
    times = iter(np.cumsum([0.0] + steps))
    m = machine_stalls(0.004, clock=lambda: next(times))
    assert m["gaps_over_0.2ms"] == 3 and m["gaps_over_0.5ms"] == 2 and m["gaps_over_1ms"] == 1
    assert m["longest_ms"] == pytest.approx(2.5)


def test_bench_loop_command_line_rejects_bad_values():
    import subprocess
    import sys

    for flag, value in (("--settle", "-1"), ("--overload-speed", "nan"), ("--slot", "0")):
        run = subprocess.run([sys.executable, "-m", "edsim", "bench-loop", flag, value],
                             capture_output=True, text=True)
        assert run.returncode != 0
        assert f"{flag} must be" in run.stderr and value in run.stderr


def test_bench_loop_tells_stalls_from_heavy_slots():
    from edsim.bench_loop import miss_causes

    lag = np.array([0.1, -0.5, 0.2, -0.6, 0.05, 0.3])  # slots 0, 2, 4 and 5 missed (ms)
    paced = np.array([1.1, 0.4, 1.2, 0.3, 1.05, 0.3])
    unpaced = np.array([1.0, 0.4, 0.2, 0.3, 0.49, 4.4])  # the same slots, not paced
    c = miss_causes(lag, paced, unpaced, budget_ms=1.0)
    # slots 2 and 4 took under 0.5 ms unpaced, slot 5 paced (its unpaced run was stalled)
    assert c["missed"] == 4 and c["stalled"] == 3
    assert c["work"] == [(0, 1.1, 1.0)]
