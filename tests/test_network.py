"""The Python API: building, running, determinism, recording, and errors on bad input."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import edsim
from edsim.errors import ConnectionError_, EdsimError, ParameterError, StateError, TableError
from tests.conftest import COBA_CELL


def small_net(seed=3, duration=None, split=None, record_v=None):
    net = edsim.Network(seed=seed)
    model = edsim.IF_cond_exp(**COBA_CELL)
    exc = net.population(80, model, name="exc")
    inh = net.population(20, model, name="inh")
    drive = net.source(edsim.Poisson(rate=40.0), n=50, name="drive")
    net.connect(drive, exc, edsim.FixedProbability(0.3), weight=0.012, delay=0.5)
    net.connect(drive, inh, edsim.FixedProbability(0.3), weight=0.012, delay=1.5)
    net.connect(exc, inh, edsim.FixedInDegree(10), weight=0.01, delay=0.2)
    net.connect(inh, exc, edsim.FixedProbability(0.2), weight=0.05, delay=0.3,
                receptor_type="inhibitory")
    rec = net.record(exc)
    rv = net.record(exc[:3], spikes=False, v=record_v) if record_v else None
    if duration is not None:
        for part in (split or [duration]):
            net.run(part)
    return net, rec, rv


def test_same_seed_gives_bit_identical_spikes():
    _, a, _ = small_net(seed=5, duration=300.0)
    _, b, _ = small_net(seed=5, duration=300.0)
    assert len(a.spikes) > 50
    assert np.array_equal(a.spikes.t, b.spikes.t) and np.array_equal(a.spikes.i, b.spikes.i)


def test_different_seeds_give_different_spikes():
    _, a, _ = small_net(seed=5, duration=200.0)
    _, b, _ = small_net(seed=6, duration=200.0)
    assert not (len(a.spikes) == len(b.spikes) and np.array_equal(a.spikes.t, b.spikes.t))


def test_run_twice_equals_one_long_run():
    _, whole, _ = small_net(seed=9, duration=300.0)
    _, parts, _ = small_net(seed=9, duration=300.0, split=[37.3, 100.0, 0.0, 162.7])
    assert np.array_equal(whole.spikes.t, parts.spikes.t)
    assert np.array_equal(whole.spikes.i, parts.spikes.i)


def test_sampling_does_not_change_spikes():
    _, plain, _ = small_net(seed=4, duration=200.0)
    _, sampled, rv = small_net(seed=4, duration=200.0, record_v=0.1)
    assert np.array_equal(plain.spikes.t, sampled.spikes.t)
    assert rv.v.values.shape == (2000, 3)
    assert np.allclose(rv.v.t, np.arange(2000) * 0.1)


def test_spikes_are_sorted_by_time_then_index():
    _, rec, _ = small_net(seed=2, duration=200.0)
    t, i = rec.spikes.t, rec.spikes.i
    assert np.all((np.diff(t) > 0) | ((np.diff(t) == 0) & (np.diff(i) > 0)))


def test_new_spikes_returns_only_spikes_since_last_call():
    net, rec, _ = small_net(seed=2)
    net.run(100.0)
    first = rec.new_spikes()
    net.run(100.0)
    second = rec.new_spikes()
    assert len(first) + len(second) == len(rec.spikes)
    assert np.all(second.t >= 100.0) and np.all(first.t < 100.0)
    assert len(rec.new_spikes()) == 0


def test_isolated_neuron_membrane_matches_dop853():
    """A neuron driven by given input spikes: sampled v against an ODE solution."""
    net = edsim.Network(seed=0)
    m = edsim.IF_cond_exp(**COBA_CELL)
    pop = net.population(1, m, name="n")
    times = [2.0, 5.0, 5.5, 9.25]
    src = net.source(edsim.SpikeTimes(times), name="src")
    net.connect(src, pop, edsim.OneToOne(), weight=0.004, delay=1.0)
    pop.initialize(v=-58.0, gsyn_inh=0.02)
    rec = net.record(pop, v=0.5)
    net.run(20.0)
    y, t, vs = [-58.0, 0.0, 0.02], 0.0, [-58.0]
    arrivals = [x + 1.0 for x in times] + [20.0]
    samples = np.arange(0, 20.0, 0.5)
    for arrival in arrivals:
        pts = samples[(samples > t) & (samples <= arrival)]
        if arrival > t:
            sol = solve_ivp(lambda _, s: [m.dv_dt(s[0], s[1], s[2]), -s[1] / m.tau_syn_E,
                                          -s[2] / m.tau_syn_I],
                            (t, arrival), y, method="DOP853", rtol=1e-12, atol=1e-12,
                            dense_output=True)
            vs.extend(sol.sol(p)[0] for p in pts if p < 20.0)
            y = list(sol.y[:, -1])
        y[1] += 0.004
        t = arrival
    assert len(rec.spikes) == 0
    assert np.max(np.abs(rec.v.values[:, 0] - np.array(vs))) < 1e-3


def test_recording_round_trips_through_hdf5(tmp_path):
    _, rec, _ = small_net(seed=1, duration=100.0)
    rec.save(tmp_path / "out.h5")
    back = edsim.load(tmp_path / "out.h5")
    assert np.array_equal(back.spikes.t, rec.spikes.t)
    assert np.array_equal(back.spikes.i, rec.spikes.i)
    assert back.population == "exc" and back.size == 80
    assert back.parameters["tau_m"] == 20.0


def test_two_networks_coexist_independently():
    net_a, a, _ = small_net(seed=7)
    net_b, b, _ = small_net(seed=7)
    net_a.run(150.0)
    net_b.run(50.0)
    net_b.run(100.0)
    assert np.array_equal(a.spikes.t, b.spikes.t)


def test_poisson_source_rate_is_as_asked():
    net = edsim.Network(seed=11)
    src = net.source(edsim.Poisson(rate=80.0, start=100.0, duration=500.0), n=400, name="p")
    rec = net.record(src)
    net.run(1000.0)
    s = rec.spikes
    assert s.t.min() >= 100.0 and s.t.max() < 600.0
    expected = 80.0 * 0.5 * 400
    assert abs(len(s) - expected) < 5 * math.sqrt(expected)


def test_poisson_stream_matches_numpy_philox():
    """The source's intervals are -ln(u)/rate with u from Philox4x64-10 keyed (seed, id)."""
    seed = 1234
    net = edsim.Network(seed=seed)
    src = net.source(edsim.Poisson(rate=100.0), n=1, name="p")
    rec = net.record(src)
    net.run(500.0)
    gen = np.random.Philox(key=[seed, int(src.ids[0])], counter=[2**64 - 1] * 4)
    t, expected = 0.0, []
    while True:
        u = ((gen.random_raw() >> 11) + 0.5) * 2.0**-53
        t = t - math.log(u) * (1000.0 / 100.0)
        if t >= 500.0:
            break
        expected.append(t)
    assert np.array_equal(rec.spikes.t, np.array(expected))


def test_poisson_population_is_the_superposition_drawn_from_numpy_philox():
    """n sources: one process of rate n r from stream (seed, first id); draw k gives the interval,
    draw k + 1 the source as floor(bits n / 2^64)."""
    seed, n, rate = 99, 7, 40.0
    net = edsim.Network(seed=seed)
    src = net.source(edsim.Poisson(rate=rate, start=5.0, duration=300.0), n=n, name="p")
    rec = net.record(src)
    net.run(400.0)
    gen = np.random.Philox(key=[seed, int(src.ids[0])], counter=[2**64 - 1] * 4)
    t, expected_t, expected_i = 5.0, [], []
    while True:
        u = ((gen.random_raw() >> 11) + 0.5) * 2.0**-53
        t = t - math.log(u) * (1000.0 / (rate * n))
        i = (int(gen.random_raw()) * n) >> 64
        if t >= 305.0:
            break
        expected_t.append(t)
        expected_i.append(i)
    order = np.lexsort((expected_i, expected_t))
    assert np.array_equal(rec.spikes.t, np.array(expected_t)[order])
    assert np.array_equal(rec.spikes.i, np.array(expected_i)[order])


def test_poisson_population_sources_are_independent_and_uniform():
    """Per-source counts of the superposed process: mean r T, Poisson spread (index of
    dispersion ~1), and no correlation between neighbouring sources' counts."""
    net = edsim.Network(seed=5)
    src = net.source(edsim.Poisson(rate=50.0), n=500, name="p")
    rec = net.record(src)
    net.run(4000.0)
    counts = rec.spikes.count().astype(float)
    assert abs(counts.mean() - 200.0) < 5 * math.sqrt(200.0 / 500)
    assert 0.8 < counts.var() / counts.mean() < 1.2
    assert abs(np.corrcoef(counts[:-1], counts[1:])[0, 1]) < 0.15


def test_prepare_freezes_the_network_and_changes_no_spike():
    def build():
        net = edsim.Network(seed=4)
        m = edsim.IF_curr_delta(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0,
                                tau_refrac=5.0)
        pop = net.population(100, m, name="pop")
        pop.initialize(v=np.linspace(-60.0, -50.5, 100))
        net.connect(pop, pop, edsim.FixedProbability(0.1), weight=0.5, delay=0.5)
        return net, pop, net.record(pop)

    net_a, _, rec_a = build()
    net_a.run(200.0)
    net_b, pop_b, rec_b = build()
    net_b.prepare()
    net_b.prepare()
    with pytest.raises(edsim.EdsimError):
        net_b.connect(pop_b, pop_b, edsim.OneToOne(), weight=0.1)
    net_b.run(200.0)
    assert len(rec_a.spikes) > 0
    assert np.array_equal(rec_a.spikes.t, rec_b.spikes.t)
    assert np.array_equal(rec_a.spikes.i, rec_b.spikes.i)


def test_connectors_make_the_promised_counts():
    net = edsim.Network(seed=0)
    m = edsim.IF_cond_exp(**COBA_CELL)
    a = net.population(200, m, name="a")
    b = net.population(150, m, name="b")
    assert net.connect(a, b, edsim.AllToAll()).n_connections == 200 * 150
    assert net.connect(a, a, edsim.AllToAll(allow_self_connections=False)).n_connections == 200 * 199
    assert net.connect(a[:150], b, edsim.OneToOne()).n_connections == 150
    assert net.connect(a, b, edsim.FixedInDegree(7)).n_connections == 7 * 150
    n = net.connect(a, b, edsim.FixedProbability(0.1)).n_connections
    assert abs(n - 3000) < 5 * math.sqrt(3000 * 0.9)
    assert net.connect(a, b, edsim.FromList([(0, 1, 0.02, 1.0), (5, 2, 0.01, 2.0)])).n_connections == 2
    with pytest.raises(ParameterError, match="same length"):
        net.connect(a, b, edsim.FromList([(0, 1), (5, 2, 0.01, 2.0)]))


def test_fixed_in_degree_draws_distinct_sources_without_self():
    rule = edsim.FixedInDegree(30, allow_self_connections=False)
    e = rule.edges(100, 100, np.random.default_rng(0), same=True)
    assert np.all(np.bincount(e.post, minlength=100) == 30)
    assert not np.any(e.pre == e.post)
    pairs = e.post * 100 + e.pre
    assert np.unique(pairs).size == pairs.size


# ---- bad input -------------------------------------------------------------------------------

@pytest.fixture
def two_pops():
    net = edsim.Network(seed=0)
    m = edsim.IF_cond_exp(**COBA_CELL)
    return net, net.population(10, m, name="exc"), net.population(10, m, name="inh")


@pytest.mark.parametrize("delay", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_delay_names_projection_and_rule(two_pops, delay):
    net, exc, inh = two_pops
    with pytest.raises(ParameterError, match=r"delay must be > 0 ms \(got .* in projection 'exc->inh'\)"):
        net.connect(exc, inh, edsim.AllToAll(), weight=0.01, delay=delay)


def test_nan_or_negative_weight_is_refused(two_pops):
    net, exc, inh = two_pops
    with pytest.raises(ParameterError, match="weight must be finite"):
        net.connect(exc, inh, edsim.AllToAll(), weight=float("nan"))
    with pytest.raises(ParameterError, match="inhibitory"):
        net.connect(exc, inh, edsim.AllToAll(), weight=-0.01)


def test_unknown_parameter_lists_valid_names():
    with pytest.raises(ParameterError, match="valid names are: cm, tau_m"):
        edsim.IF_cond_exp.from_dict({"tau_mem": 20.0})
    with pytest.raises(TypeError):
        edsim.IF_cond_exp(tau_mem=20.0)


@pytest.mark.parametrize("params, rule", [
    ({"tau_m": -20.0}, "tau_m of IF_cond_exp must be > 0 ms"),
    ({"cm": 0.0}, "cm of IF_cond_exp must be > 0 nF"),
    ({"v_reset": -40.0}, "v_reset of IF_cond_exp must be below v_thresh"),
    ({"tau_refrac": -1.0}, "tau_refrac of IF_cond_exp must be >= 0 ms"),
    ({"v_thresh": float("nan")}, "must be finite"),
    ({"cm": "1"}, "must be a number in nF"),
])
def test_bad_model_parameters_name_the_rule(params, rule):
    with pytest.raises(ParameterError, match=rule):
        edsim.IF_cond_exp(**params)


def test_connecting_across_networks_is_refused(two_pops):
    net, exc, _ = two_pops
    other = edsim.Network(seed=1)
    foreign = other.population(5, edsim.IF_cond_exp(**COBA_CELL), name="foreign")
    with pytest.raises(ConnectionError_, match="belongs to another network"):
        net.connect(exc, foreign, edsim.AllToAll())
    assert isinstance(ConnectionError_("x"), ValueError)


def test_wrong_array_lengths_are_refused(two_pops):
    net, exc, inh = two_pops
    with pytest.raises(ParameterError, match="one value per connection"):
        net.connect(exc, inh, edsim.OneToOne(), weight=np.ones(3) * 0.01)
    with pytest.raises(ParameterError, match="length 10"):
        exc.initialize(v=np.zeros(4))
    with pytest.raises(ParameterError, match="equal size"):
        net.connect(exc[:3], inh, edsim.OneToOne())


def test_sources_receive_no_synapses(two_pops):
    net, exc, _ = two_pops
    src = net.source(edsim.Poisson(10.0), n=3, name="src")
    with pytest.raises(ConnectionError_, match="sources receive no synapses"):
        net.connect(exc, src, edsim.AllToAll())


def test_structure_is_frozen_after_first_run(two_pops):
    net, exc, inh = two_pops
    net.run(1.0)
    with pytest.raises(StateError, match="frozen"):
        net.connect(exc, inh, edsim.AllToAll())
    with pytest.raises(StateError):
        net.population(3, edsim.IF_cond_exp(**COBA_CELL))


@pytest.mark.parametrize("duration", [-1.0, float("nan"), float("inf"), "10"])
def test_bad_run_duration_is_refused(two_pops, duration):
    net, _, _ = two_pops
    with pytest.raises(ParameterError):
        net.run(duration)


def test_injecting_spikes_in_the_past_is_a_causality_error(two_pops):
    net, exc, _ = two_pops
    src = net.source(edsim.SpikeTimes([]), n=1, name="inject")
    net.connect(src, exc, edsim.AllToAll(), weight=0.01)
    net.run(10.0)
    with pytest.raises(ParameterError, match="must be >= now"):
        net.inject(src, [5.0])
    net.inject(src, [10.0, 12.0])


def test_bad_connector_and_receptor_names(two_pops):
    net, exc, inh = two_pops
    with pytest.raises(ParameterError, match="valid: excitatory, inhibitory"):
        net.connect(exc, inh, edsim.AllToAll(), receptor_type="gaba")
    with pytest.raises(ParameterError, match="connection rule"):
        net.connect(exc, inh, "all_to_all")
    with pytest.raises(ParameterError, match="p_connect must be in"):
        edsim.FixedProbability(1.5)


def test_every_error_is_an_edsim_error_and_a_builtin():
    for cls in (ParameterError, ConnectionError_, TableError):
        assert issubclass(cls, EdsimError) and issubclass(cls, ValueError)
    assert issubclass(StateError, RuntimeError)


# ---- table files -----------------------------------------------------------------------------

def _copy_table(coba_table, tmp_path):
    import shutil

    dst = tmp_path / "t.h5"
    shutil.copy(coba_table.path, dst)
    return dst


def test_table_of_wrong_format_is_refused(coba_table, tmp_path):
    from edsim.tables.store import read

    path = _copy_table(coba_table, tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(TableError, match="not an edsim table"):
        read(path)


def test_table_of_wrong_version_names_found_and_expected(coba_table, tmp_path):
    from edsim.tables.store import read

    path = _copy_table(coba_table, tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(TableError, match="format_version 99.*reads version 1"):
        read(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_table_file_is_a_table_error(coba_table, tmp_path, keep):
    from edsim.tables.store import read

    path = _copy_table(coba_table, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TableError):
        read(path)


def test_not_an_hdf5_file_is_a_table_error(tmp_path):
    from edsim.tables.store import read

    path = tmp_path / "junk.h5"
    path.write_text("not a table")
    with pytest.raises(TableError, match="not an HDF5 file"):
        read(path)


def test_recording_file_of_wrong_format_is_refused(tmp_path, coba_table):
    with pytest.raises(edsim.FileFormatError, match="not an edsim recording"):
        edsim.load(coba_table.path)


def test_kept_connectivity_rebuilds_the_identical_network():
    """Exported edges (for NEST/Brian2 side by side) rebuild a network with the same spikes."""
    def build(net, rule_of):
        model = edsim.IF_cond_exp(**COBA_CELL)
        a = net.population(60, model, name="a")
        drive = net.source(edsim.Poisson(rate=40.0), n=30, name="drive")
        p1 = net.connect(drive, a, rule_of(0), weight=0.012, delay=0.5)
        p2 = net.connect(a, a, rule_of(1), weight=0.03, delay=1.0, receptor_type="inhibitory")
        return net.record(a), (p1, p2)

    original = edsim.Network(seed=8, keep_connectivity=True)
    rules = [edsim.FixedProbability(0.3), edsim.FixedInDegree(5)]
    rec, projs = build(original, lambda k: rules[k])
    original.run(200.0)
    lists = [np.column_stack([p.pre_index, p.post_index, p.weight, p.delay]) for p in projs]
    copy = edsim.Network(seed=8)
    rec_copy, _ = build(copy, lambda k: edsim.FromList(lists[k]))
    copy.run(200.0)
    assert len(rec.spikes) > 20
    assert np.array_equal(rec.spikes.t, rec_copy.spikes.t)
    assert edsim.Network(seed=1).keep_connectivity is False
