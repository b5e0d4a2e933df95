"""IF_curr_exp and IF_curr_delta: closed-form event-driven neurons against independent solutions.

References: scipy's DOP853 (rtol 1e-12) with threshold events for IF_curr_exp; for IF_curr_delta
the textbook closed form, checked through the free-running period 5 ms + 20 ms ln 11 that
shared/BENCHMARKS.md quotes for benchmark 4, and a small recurrent network against an event-driven
simulation of the same closed form in 40-digit decimal arithmetic.
"""

from __future__ import annotations

import heapq
import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import edsim
from edsim._engine import Sim

CURR = dict(cm=0.25, tau_m=10.0, v_rest=-65.0, v_thresh=-55.0, v_reset=-70.0, tau_refrac=2.0,
            tau_syn_E=3.0, tau_syn_I=6.0, i_offset=0.3)


def dop853_curr_exp(m, inputs, duration, v0):
    """Spike times of IF_curr_exp driven by (time, weight, inhibitory) inputs, by DOP853."""
    events = sorted(inputs) + [(duration, 0.0, 0)]

    def rhs(t, y):
        v, ie, ii = y
        return [(m.v_rest - v) / m.tau_m + (ie + ii + m.i_offset) / m.cm, -ie / m.tau_syn_E,
                -ii / m.tau_syn_I]

    def threshold(t, y):
        return y[0] - m.v_thresh

    threshold.terminal, threshold.direction = True, 1
    y, t, refr_end, spikes = np.array([v0, 0.0, 0.0]), 0.0, -1.0, []
    for t_in, w, inh in events:
        while t < t_in:
            if t < refr_end:
                t_next = min(refr_end, t_in)
                y = np.array([m.v_reset, y[1] * math.exp(-(t_next - t) / m.tau_syn_E),
                              y[2] * math.exp(-(t_next - t) / m.tau_syn_I)])
                t = t_next
                continue
            sol = solve_ivp(rhs, (t, t_in), y, method="DOP853", rtol=1e-12, atol=1e-12,
                            events=threshold)
            if sol.t_events[0].size:
                t = sol.t_events[0][0]
                spikes.append(t)
                y = sol.y_events[0][0].copy()
                y[0] = m.v_reset
                refr_end = t + m.tau_refrac
            else:
                y, t = sol.y[:, -1].copy(), t_in
        y[2 if inh else 1] += w
    return np.array(spikes)


@pytest.mark.parametrize("seed", range(6))
def test_curr_exp_spikes_match_dop853(seed):
    rng = np.random.default_rng(seed)
    m = edsim.IF_curr_exp(**dict(CURR, tau_syn_E=float(rng.choice([3.0, 10.0, 10.0 + 1e-9]))))
    n_in = 120
    times = np.sort(rng.uniform(0.0, 300.0, n_in))
    inh = rng.random(n_in) < 0.3
    w_e, w_i = rng.uniform(0.2, 1.5), -rng.uniform(0.1, 1.0)  # nA, one weight per receptor
    net = edsim.Network(seed=seed)
    pop = net.population(1, m, name="n")
    pop.initialize(v=-60.0)
    for receptor, sel, w in (("excitatory", ~inh, w_e), ("inhibitory", inh, w_i)):
        src = net.source(edsim.SpikeTimes(times[sel]), name=receptor)
        net.connect(src, pop, edsim.AllToAll(), weight=w, delay=1.0, receptor_type=receptor)
    rec = net.record(pop)
    net.run(320.0)
    inputs = [(t + 1.0, w_i if i else w_e, int(i)) for t, i in zip(times, inh)]
    ref = dop853_curr_exp(m, inputs, 320.0, -60.0)
    got = rec.spikes.t
    assert ref.size >= 5
    assert got.size == ref.size
    # DOP853 locates events to ~1e-8 ms and the error carries over resets: ~1e-5 ms after 50
    # spikes; edsim's closed form is exact to ~1e-13 ms (test_curr_delta_*, the offset-only case)
    assert np.max(np.abs(got - ref)) < 5e-5


def test_curr_exp_state_matches_dop853_between_events():
    m = edsim.IF_curr_exp(**dict(CURR, i_offset=0.0))
    net = edsim.Network(seed=0)
    pop = net.population(1, m, name="n")
    pop.initialize(v=-62.0, isyn_exc=0.4, isyn_inh=-0.2)
    rec = net.record(pop, v=0.25)
    net.run(40.0)
    sol = solve_ivp(lambda t, y: [(m.v_rest - y[0]) / m.tau_m + (y[1] + y[2] + m.i_offset) / m.cm,
                                  -y[1] / m.tau_syn_E, -y[2] / m.tau_syn_I],
                    (0, 40.0), [-62.0, 0.4, -0.2], method="DOP853", rtol=1e-12, atol=1e-12,
                    dense_output=True)
    assert len(rec.spikes) == 0
    t = rec.v.t
    assert np.max(np.abs(rec.v.values[:, 0] - sol.sol(t)[0])) < 1e-9
    assert np.max(np.abs(rec.isyn_exc.values[:, 0] - sol.sol(t)[1])) < 1e-9


def test_curr_delta_free_running_period_is_textbook():
    m = edsim.IF_curr_delta(tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0)
    net = edsim.Network(seed=0)
    pop = net.population(1, m, name="n")
    pop.initialize(v=-60.0)
    rec = net.record(pop)
    net.run(1000.0)
    period = 5.0 + 20.0 * math.log(11.0)
    t = rec.spikes.t
    assert np.allclose(t[0], 20.0 * math.log(11.0), atol=1e-12)
    assert np.allclose(np.diff(t), period, atol=1e-9)


def test_tonic_cells_refractory_periods_across_parameter_and_state_changes():
    """Tonic IF_curr_delta cells, uncoupled, against their closed form: a period's end is fixed
    when the cell fires (with the tau_refrac of that time), so a shorter tau_refrac makes later
    periods end before earlier ones; a state set ends a period at once."""
    cell = dict(cm=1.0, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                i_offset=0.0)
    v0 = [-50.2, -50.3, -50.5, -50.608, -52.0, -55.0]  # first fires 3.6, 5.2, 8.1, 9.5, 22, 36
    t_change, t_set, v_set, cell_set, duration = 9.0, 11.0, -50.1, 2, 300.0
    sim = Sim(0)
    first = sim.add_exact("curr_delta", cell, len(v0))
    sim.record_spikes(first, len(v0))
    zeros = np.zeros(len(v0))
    sim.set_state(first, np.array(v0), zeros, zeros)
    sim.run(t_change)
    sim.check_queue()
    sim.set_curr_params(first, dict(cell, tau_refrac=1.0))
    sim.run(t_set)
    sim.check_queue()
    sim.set_state(first + cell_set, [v_set], [0.0], [0.0])   # refractory until 13.1 until now
    sim.run(duration)
    sim.check_queue()
    t, ids = sim.drain_spikes()

    def to_threshold(v):
        return 20.0 * math.log((-49.0 - v) / 1.0)

    expected = []
    for i, v in enumerate(v0):
        t_fire = to_threshold(v)
        while t_fire < duration:
            if i == cell_set and t_fire < t_set < t_fire + (5.0 if t_fire < t_change else 1.0):
                expected.append((t_fire, i))
                t_fire = t_set + to_threshold(v_set)
                continue
            expected.append((t_fire, i))
            t_fire += (5.0 if t_fire < t_change else 1.0) + to_threshold(-60.0)
    expected.sort()
    order = np.lexsort((ids, t))
    assert [int(i) - first for i in ids[order]] == [i for _, i in expected]
    assert np.max(np.abs(t[order] - [t for t, _ in expected])) < 1e-9


def recurrent_net(model, v0, syn, src_t, src_syn):
    """Cells of ``model`` starting at v0, recurrent synapses syn = (pre, post, w mV or nA, d ms)
    whose sign of w picks the receptor, and spike sources with trains src_t and synapses src_syn
    = (pre, post, w, d); returns (network, population, its recorder)."""
    pre, post, w, d = syn
    net = edsim.Network(seed=0)
    pop = net.population(len(v0), model, name="cells")
    pop.initialize(v=v0)
    src = net.source(edsim.SpikeTimes(src_t), n=len(src_t), name="src")
    for sel, receptor in ((w > 0, "excitatory"), (w < 0, "inhibitory")):
        net.connect(pop, pop, edsim.FromList(np.column_stack([pre[sel], post[sel], w[sel], d[sel]])),
                    receptor_type=receptor)
    net.connect(src, pop, edsim.FromList(np.column_stack(src_syn)))
    return net, pop, net.record(pop)


def assert_matches_decimal(net, pop, rec, want, v_end):
    """The recorded spikes are the decimal simulation's (t, j) within 1e-9 ms (an active network),
    the queues are consistent, and v at the end is its v_end within 1e-9 mV."""
    want_t = np.array([t for t, _ in want])
    want_i = np.array([j for _, j in want])
    got = rec.spikes
    order = np.lexsort((want_i, want_t))
    assert len(want) > 100, "the network must be active"
    assert np.array_equal(got.i, want_i[order])
    assert np.max(np.abs(got.t - want_t[order])) < 1e-9
    net._sim.check_queue()  # raises if a heap or the first-cell entries are inconsistent
    np.testing.assert_allclose(pop.state()["v"], v_end, atol=1e-9)


def decimal_delta_network(cell, n, v0, synapses, inputs, duration):
    """Spikes (t, i) of IF_curr_delta cells, event by event in 40-digit decimals.

    synapses: (pre, post, w mV, delay ms) among the cells; inputs: (arrival ms, post, w mV). Cells
    with v_inf > v_thresh fire on their own at t + tau ln((v_inf - v) / (v_inf - v_thresh)); an
    input lifting v to threshold fires the cell at once; inputs while refractory are lost.
    """
    with localcontext() as ctx:
        ctx.prec = 40
        D = Decimal
        tau, v_inf, theta = D(cell["tau_m"]), D(cell["v_rest"]), D(cell["v_thresh"])
        v_reset, t_ref = D(cell["v_reset"]), D(cell["tau_refrac"])
        v = [D(float(x)) for x in v0]
        t_last = [D(0)] * n
        free_at = [D(0)] * n  # end of refractoriness
        out_syn = [[] for _ in range(n)]
        for pre, post, w, d in synapses:
            out_syn[int(pre)].append((int(post), D(float(w)), D(float(d))))
        queue = [(D(float(t)), int(j), D(float(w))) for t, j, w in inputs]
        heapq.heapify(queue)

        def fire_time(j):
            start = max(t_last[j], free_at[j])
            vj = v[j] if t_last[j] >= free_at[j] else v_reset
            return start + tau * ((v_inf - vj) / (v_inf - theta)).ln()

        pending = [fire_time(j) for j in range(n)]
        spikes = []

        def fire(j, t):
            spikes.append((float(t), j))
            v[j], t_last[j], free_at[j] = v_reset, t, t + t_ref
            for post, w, d in out_syn[j]:
                heapq.heappush(queue, (t + d, post, w))
            pending[j] = fire_time(j)

        end = D(duration)
        while True:
            j_next = min(range(n), key=lambda j: pending[j])
            t_in = queue[0][0] if queue else end
            if min(pending[j_next], t_in) >= end:
                break
            if pending[j_next] < t_in:
                fire(j_next, pending[j_next])
                continue
            t, j, w = heapq.heappop(queue)
            if t < free_at[j]:
                continue
            start = max(t_last[j], free_at[j])
            vj = v[j] if t_last[j] >= free_at[j] else v_reset
            v[j] = v_inf + (vj - v_inf) * (-(t - start) / tau).exp() + w
            t_last[j] = t
            if v[j] >= theta:
                fire(j, t)
            else:
                pending[j] = fire_time(j)
        v_end = []  # v at `duration`: held at v_reset while refractory, else relaxed
        for j in range(n):
            if free_at[j] >= end:
                v_end.append(float(v_reset))
                continue
            start = max(t_last[j], free_at[j])
            vj = v[j] if t_last[j] >= free_at[j] else v_reset
            v_end.append(float(v_inf + (vj - v_inf) * (-(end - start) / tau).exp()))
        return spikes, np.array(v_end)


@pytest.mark.parametrize("tau_m", [20.0, 2.5])
def test_curr_delta_network_that_fires_on_its_own_matches_decimal_arithmetic(tau_m):
    """v_inf above threshold (benchmark 4's regime), recurrent excitation and inhibition, inputs
    from spike sources; tau_m = 2.5 ms spans several of the core's 32 tau_m epochs."""
    cell = dict(tau_m=tau_m, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=2.0)
    rng = np.random.default_rng(11)
    n, n_src, duration = 24, 6, 240.0
    pre, post = np.nonzero(rng.random((n, n)) < 0.25)
    w = np.where(rng.random(pre.size) < 0.7, rng.uniform(0.2, 1.2, pre.size),
                 rng.uniform(-2.5, -0.5, pre.size))
    w = w.astype(np.float32).astype(np.float64)  # the core stores weights as float32
    d = rng.uniform(0.5, 3.0, pre.size)
    src_t = [np.sort(rng.uniform(0.0, duration, 40)) for _ in range(n_src)]
    src_pre, src_post = np.nonzero(rng.random((n_src, n)) < 0.3)
    src_w = rng.uniform(0.3, 1.5, src_pre.size).astype(np.float32).astype(np.float64)
    src_d = rng.uniform(0.5, 2.0, src_pre.size)
    v0 = rng.uniform(-60.0, -50.0, n)

    net, pop, rec = recurrent_net(edsim.IF_curr_delta(**cell), v0, (pre, post, w, d), src_t,
                                  (src_pre, src_post, src_w, src_d))
    for k in range(1, 9):  # in steps, so that epochs and run ends interleave
        net.run_until(duration * k / 8)

    inputs = [(t + dd, j, ww) for i, j, ww, dd in zip(src_pre, src_post, src_w, src_d)
              for t in src_t[i]]
    want, v_end = decimal_delta_network(cell, n, v0, zip(pre, post, w, d), inputs, duration)
    assert_matches_decimal(net, pop, rec, want, v_end)  # v read from X in the core



@pytest.mark.parametrize("v_rest", [19.95, 20.5])  # below threshold; above (fires on its own)
@pytest.mark.parametrize("exc_first", [True, False])
def test_simultaneous_jumps_act_as_their_sum(exc_first, v_rest):
    """The membrane equation has one jump at an instant: the sum of that instant's inputs (NEST's
    iaf_psc_delta_ps and Brian2 sum them too). +0.1 and -0.5 mV at once from just below
    threshold: no spike, whichever source was made first; reference: the closed form."""
    net = edsim.Network(seed=1)
    cell = net.population(1, edsim.IF_curr_delta(cm=0.25, tau_m=20.0, v_rest=v_rest,
                                                 v_thresh=20.0, v_reset=0.0, tau_refrac=2.0),
                          name="cell")
    cell.initialize(v=[19.95])
    srcs = {}
    for k in (("exc", "inh") if exc_first else ("inh", "exc")):
        srcs[k] = net.source(edsim.SpikeTimes([0.5]), n=1, name=k)
    net.connect(srcs["exc"], cell, edsim.OneToOne(), weight=0.1, delay=1.0)
    net.connect(srcs["inh"], cell, edsim.OneToOne(), weight=-0.5, delay=1.0,
                receptor_type="inhibitory")
    rec = net.record(cell)
    net.run(1.5 + 1e-9)
    v_in = v_rest + (19.95 - v_rest) * math.exp(-1.5 / 20.0)
    assert len(rec.spikes) == 0
    np.testing.assert_allclose(cell.state()["v"], [v_in - 0.4], atol=1e-9)
    if v_rest < 20.0:
        net.run(8.5)
        assert len(rec.spikes) == 0
        np.testing.assert_allclose(cell.state()["v"],
                                   [v_rest + (v_in - 0.4 - v_rest) * math.exp(-8.5 / 20.0)],
                                   atol=1e-12)


def test_curr_delta_jumps_and_refractory_loss():
    m = edsim.IF_curr_delta(tau_m=20.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-70.0, tau_refrac=2.0)
    net = edsim.Network(seed=0)
    pop = net.population(1, m, name="n")
    src = net.source(edsim.SpikeTimes([10.0, 11.0, 11.5, 20.0]), name="s")
    net.connect(src, pop, edsim.AllToAll(), weight=16.0, delay=1.0)
    rec = net.record(pop, v=0.5)
    net.run(30.0)
    # 11 ms: -65 + 16 crosses -50 -> spike; 12 ms and 12.5 ms fall in the refractory period
    assert np.allclose(rec.spikes.t, [11.0])
    v = rec.v.values[:, 0]
    t = rec.v.t
    after = (t > 13.0) & (t < 21.0)  # released at 13 ms from -70 towards -65
    expected = -65.0 + (-70.0 + 65.0) * np.exp(-(t[after] - 13.0) / 20.0)
    assert np.max(np.abs(v[after] - expected)) < 1e-12


def test_current_weight_signs_follow_pynn():
    net = edsim.Network(seed=0)
    a = net.population(2, edsim.IF_curr_exp(), name="a")
    with pytest.raises(edsim.ParameterError, match="inhibitory weight onto IF_curr_exp must be <= 0"):
        net.connect(a, a, edsim.AllToAll(), weight=0.1, receptor_type="inhibitory")
    with pytest.raises(edsim.ParameterError, match="excitatory weight onto IF_curr_exp must be >= 0"):
        net.connect(a, a, edsim.AllToAll(), weight=-0.1)


def test_curr_exp_with_constant_drive_fires_at_the_closed_form_times():
    m = edsim.IF_curr_exp(**CURR)
    net = edsim.Network(seed=0)
    pop = net.population(1, m, name="n")
    pop.initialize(v=-60.0)
    rec = net.record(pop)
    net.run(200.0)
    v_inf = m.v_rest + m.i_offset * m.tau_m / m.cm
    first = m.tau_m * math.log((v_inf + 60.0) / (v_inf - m.v_thresh))
    period = m.tau_refrac + m.tau_m * math.log((v_inf - m.v_reset) / (v_inf - m.v_thresh))
    expected = first + period * np.arange(rec.spikes.t.size)
    assert rec.spikes.t.size >= 8
    assert np.max(np.abs(rec.spikes.t - expected)) < 1e-11


def closed_form_v(m, v0, ie, ii, t):
    """v(t) of IF_curr_exp from (v0, ie, ii) without input, in the kernel form (numpy)."""
    v_inf = m.v_rest + m.i_offset * m.tau_m / m.cm
    em = np.exp(-t / m.tau_m)

    def kernel(tau):
        d = 1.0 / m.tau_m - 1.0 / tau
        return t * em if d == 0.0 else em * np.expm1(t * d) / d

    return v_inf + (v0 - v_inf) * em + (ie * kernel(m.tau_syn_E) + ii * kernel(m.tau_syn_I)) / m.cm


@pytest.mark.parametrize("params", [
    CURR,                                              # v_inf above threshold
    dict(CURR, i_offset=0.0),                          # below: only the currents can make it fire
    dict(CURR, tau_syn_E=10.2),                        # time constants nearly equal
    dict(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
         tau_syn_E=5.0, tau_syn_I=10.0, i_offset=0.0),     # benchmark 2's cell
], ids=["above", "below", "near-equal-taus", "cuba"])
def test_curr_exp_first_firing_from_random_states_is_the_first_root(params):
    """The first spike of neurons started from random (v, ie, ii) is the first root of the closed
    form, bracketed on a 2e-3 ms grid and bisected: to 1e-10 ms, and no earlier crossing missed.
    Most of these firings come after one or more RECHECKs (searches stop at half the fastest time
    constant), so this also checks that the re-predictions lose nothing."""
    m = edsim.IF_curr_exp(**params)
    rng = np.random.default_rng(7)
    n, until = 300, 100.0
    v0 = rng.uniform(-75.0, m.v_thresh - 1e-3, n)
    ie = rng.uniform(0.0, 6.0, n) * m.cm
    ii = -rng.uniform(0.0, 3.0, n) * m.cm
    net = edsim.Network(seed=0)
    pop = net.population(n, m, name="n")
    pop.initialize(v=v0, isyn_exc=ie, isyn_inh=ii)
    rec = net.record(pop)
    net.run(until)
    first = np.full(n, np.inf)
    np.minimum.at(first, rec.spikes.i, rec.spikes.t)
    t = np.arange(0.0, until + 1e-9, 2e-3)
    n_fired = 0
    for j in range(n):
        above = np.nonzero(closed_form_v(m, v0[j], ie[j], ii[j], t) >= m.v_thresh)[0]
        if above.size == 0:
            assert np.isinf(first[j]), f"neuron {j} fired at {first[j]} without crossing"
            continue
        k = above[0]
        assert k > 0
        lo, hi = t[k - 1], t[k]
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if closed_form_v(m, v0[j], ie[j], ii[j], mid) >= m.v_thresh:
                hi = mid
            else:
                lo = mid
        assert abs(first[j] - hi) <= 1e-10 * max(1.0, hi), (j, first[j], hi)
        n_fired += 1
    assert n_fired >= 20


def decimal_curr_exp_network(cells, n, v0, synapses, inputs, duration):
    """Spikes (t, i) and v at the end of IF_curr_exp cells, event by event in 40-digit decimals.

    cells: [(from ms, parameters)], the first from 0 (a later one is ``Population.set`` then: the
    state is kept, refractory periods keep their end). synapses: (pre, post, w nA, delay ms, inh)
    among the cells; inputs: (arrival ms, post, w nA, inh). The state (v, I_e, I_i) is exact at
    t_last; while refractory v is v_reset and the currents integrate their inputs. A firing time
    is the first crossing of the closed form v_inf + a e^{-t/tau_m} + sum_x b_x e^{-t/tau_x},
    approached from below by steps that are each a lower bound on it (v'' is at most the sum of
    its positive terms at the step's start, which only decay) until within 1e-30 mV.
    """
    with localcontext() as ctx:
        ctx.prec = 40
        D = Decimal
        zero, end = D(0), D(duration)
        v = [D(float(x)) for x in v0]
        ie, ii = [zero] * n, [zero] * n
        t_last, free_at = [zero] * n, [D(-1)] * n
        out_syn = [[] for _ in range(n)]
        for pre, post, w, d, inh in synapses:
            out_syn[int(pre)].append((int(post), D(float(w)), D(float(d)), bool(inh)))
        queue = [(D(float(t)), int(j), D(float(w)), bool(inh)) for t, j, w, inh in inputs]
        heapq.heapify(queue)
        changes = [(D(float(t0)), c) for t0, c in cells]

        P = {}  # the parameters in force

        def use(c):
            cm, tau_m = D(c["cm"]), D(c["tau_m"])
            r = (1 / tau_m, 1 / D(c["tau_syn_E"]), 1 / D(c["tau_syn_I"]))
            P.update(cm=cm, r=r, v_inf=D(c["v_rest"]) + D(c["i_offset"]) * tau_m / cm,
                     theta=D(c["v_thresh"]), v_reset=D(c["v_reset"]), t_ref=D(c["tau_refrac"]))

        def terms(vj, iej, iij):
            r, cm = P["r"], P["cm"]
            be, bi = iej / (cm * (r[0] - r[1])), iij / (cm * (r[0] - r[2]))
            return (vj - P["v_inf"] - be - bi, be, bi)

        def bring(j, t):  # state of cell j at t >= t_last[j], without input
            r = P["r"]
            if t_last[j] < free_at[j]:  # refractory: the currents only, v released at v_reset
                u = min(t, free_at[j])
                s = u - t_last[j]
                ie[j], ii[j], t_last[j] = ie[j] * (-r[1] * s).exp(), ii[j] * (-r[2] * s).exp(), u
                v[j] = P["v_reset"]
            s = t - t_last[j]
            if s > 0:
                c = terms(v[j], ie[j], ii[j])
                v[j] = P["v_inf"] + sum(ck * (-rk * s).exp() for ck, rk in zip(c, r))
                ie[j], ii[j], t_last[j] = ie[j] * (-r[1] * s).exp(), ii[j] * (-r[2] * s).exp(), t

        def fire_time(j):
            saved = v[j], ie[j], ii[j], t_last[j]
            start = max(t_last[j], free_at[j])
            bring(j, start)
            c, r = terms(v[j], ie[j], ii[j]), P["r"]
            v[j], ie[j], ii[j], t_last[j] = saved
            theta, v_inf, s = P["theta"], P["v_inf"], zero
            for _ in range(10000):
                x = [ck * (-rk * s).exp() for ck, rk in zip(c, r)]
                gap = theta - v_inf - sum(x)
                if gap <= D("1e-30"):
                    return start + s
                if v_inf + sum(max(xk, zero) for xk in x) < theta or start + s > end:
                    return D("Infinity")
                d = -sum(xk * rk for xk, rk in zip(x, r))
                m = sum(max(xk, zero) * rk * rk for xk, rk in zip(x, r))
                root = (d * d + 2 * m * gap).sqrt()
                if d >= 0:
                    s += 2 * gap / (d + root)
                elif m > 0:
                    s += (root - d) / m
                else:
                    return D("Infinity")
            raise AssertionError("the reference search did not settle")

        use(changes.pop(0)[1])
        pending = [fire_time(j) for j in range(n)]
        spikes = []
        while True:
            j_next = min(range(n), key=lambda j: pending[j])
            t_in = queue[0][0] if queue else end
            t_change = changes[0][0] if changes else end
            t = min(pending[j_next], t_in, t_change)
            if t >= end:
                break
            if t == pending[j_next]:
                bring(j_next, t)
                spikes.append((float(t), j_next))
                v[j_next], free_at[j_next] = P["v_reset"], t + P["t_ref"]
                for post, w, d, inh in out_syn[j_next]:
                    heapq.heappush(queue, (t + d, post, w, inh))
                pending[j_next] = fire_time(j_next)
            elif t == t_in:
                t, j, w, inh = heapq.heappop(queue)
                bring(j, t)
                if inh:
                    ii[j] += w
                else:
                    ie[j] += w
                pending[j] = fire_time(j)
            else:
                for j in range(n):
                    bring(j, t)
                use(changes.pop(0)[1])
                pending = [fire_time(j) for j in range(n)]
        for j in range(n):
            bring(j, end)
        return spikes, np.array([float(x) for x in v])


@pytest.mark.parametrize("tau_syn_E", [5.0, 0.7])
def test_curr_exp_network_that_fires_on_its_own_matches_decimal_arithmetic(tau_syn_E):
    """Benchmark 2's cell (v_inf above threshold) in a recurrent network with spike sources:
    inputs share their time's exponentials (the core keeps each cell's since its last input, in
    epochs of 16 fastest time constants: with tau_syn_E = 0.7 ms one every 11 ms), run in steps,
    and the time constants change at 150 ms (the kept exponentials must not outlive them)."""
    cell = dict(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                tau_syn_E=tau_syn_E, tau_syn_I=10.0, i_offset=0.0)
    later = dict(cell, tau_m=12.0, tau_syn_E=3.0 * tau_syn_E)
    rng = np.random.default_rng(5)
    n, n_src, duration = 24, 6, 240.0
    pre, post = np.nonzero(rng.random((n, n)) < 0.3)
    inh = rng.random(pre.size) < 0.3
    w = np.where(inh, -rng.uniform(0.05, 0.4, pre.size), rng.uniform(0.02, 0.3, pre.size) * 5.0 /
                 tau_syn_E).astype(np.float32).astype(np.float64)  # the core stores float32
    d = rng.uniform(0.5, 3.0, pre.size)
    src_t = [np.sort(rng.uniform(0.0, duration, 40)) for _ in range(n_src)]
    src_pre, src_post = np.nonzero(rng.random((n_src, n)) < 0.3)
    src_w = (rng.uniform(0.05, 0.3, src_pre.size) * 5.0 / tau_syn_E).astype(np.float32)
    src_w = src_w.astype(np.float64)
    src_d = rng.uniform(0.5, 2.0, src_pre.size)
    v0 = rng.uniform(-60.0, -50.0, n)

    net, pop, rec = recurrent_net(edsim.IF_curr_exp(**cell), v0, (pre, post, w, d), src_t,
                                  (src_pre, src_post, src_w, src_d))  # (inh: exactly w < 0)
    for k in range(1, 9):  # in steps, so that epochs and run ends interleave
        net.run_until(duration * k / 8)
        if k == 5:
            pop.set(tau_m=later["tau_m"], tau_syn_E=later["tau_syn_E"])

    inputs = [(t + dd, j, ww, False) for i, j, ww, dd in zip(src_pre, src_post, src_w, src_d)
              for t in src_t[i]]
    want, v_end = decimal_curr_exp_network([(0.0, cell), (150.0, later)], n, v0,
                                           zip(pre, post, w, d, inh), inputs, duration)
    assert_matches_decimal(net, pop, rec, want, v_end)
