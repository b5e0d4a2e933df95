"""The cffi layer: bad dtypes, wrong lengths and closed handles give typed errors, never crashes."""

from __future__ import annotations

import numpy as np
import pytest

from edsim import _engine
from edsim.errors import CausalityError, CoreError, ParameterError, StateError


@pytest.fixture
def sim(coba_lut):
    s = _engine.Sim(seed=1)
    s.first = s.add_cond_exp(coba_lut, 4)
    s.src = s.add_spike_source(2)
    return s


def test_every_status_maps_to_an_exception_with_its_name():
    for rc in range(1, int(_engine.lib.EDS_N_STATUS)):
        name = _engine.status_name(rc)
        with pytest.raises(Exception, match=f"EDS_{name}") as info:
            _engine.check(rc, "doing something")
        assert "doing something" in str(info.value)
    _engine.check(0, "fine")


def test_event_kind_ranks_are_documented_in_order():
    lib = _engine.lib
    ranks = [getattr(lib, f"EDS_EV_{k}") for k in _engine.EVENT_KINDS]
    assert ranks == list(range(len(_engine.EVENT_KINDS)))


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([1.5, 2.0]), np.array([-1, 2]),
                                 np.zeros((2, 2)), [2**40, 1]])
def test_bad_id_arrays_are_refused(sim, bad):
    with pytest.raises(ParameterError):
        sim.add_synapses(bad, [0, 1], [0.1, 0.1], [1.0, 1.0], [0, 0])


def test_wrong_lengths_are_refused(sim):
    with pytest.raises(ParameterError, match="length 2"):
        sim.add_synapses([4, 5], [0, 1], [0.1], [1.0, 1.0], [0, 0])
    with pytest.raises(ParameterError, match="length 1"):
        sim.set_state(sim.first, [-60.0], [0.0, 0.0], [0.0])


def test_out_of_range_ids_and_bad_values_are_typed_errors(sim):
    with pytest.raises(ParameterError, match="EDS_RANGE"):
        sim.add_synapses([4], [99], [0.1], [1.0], [0])
    with pytest.raises(ParameterError, match="EDS_INVALID"):
        sim.add_synapses([4], [0], [0.1], [0.0], [0])
    with pytest.raises(ParameterError, match="EDS_INVALID"):
        sim.add_synapses([4], [0], [np.nan], [1.0], [0])
    with pytest.raises(ParameterError, match="EDS_INVALID"):
        sim.add_synapses([4], [5], [0.1], [1.0], [0])  # onto a source
    with pytest.raises(ParameterError, match="EDS_RANGE"):
        sim.get_state(100, 1)
    with pytest.raises(ParameterError, match="EDS_INVALID"):
        sim.get_state(sim.first + 3, 2)  # runs past the population


def test_causality_after_a_run(sim):
    sim.run(10.0)
    with pytest.raises(CausalityError):
        sim.add_spike_times(sim.src, [5.0])
    with pytest.raises(CausalityError):
        sim.run(5.0)
    with pytest.raises(StateError):
        sim.add_synapses([4], [0], [0.1], [1.0], [0])


def test_closed_handle_is_a_state_error(sim):
    sim.close()
    with pytest.raises(StateError, match="closed"):
        sim.run(1.0)
    sim.close()  # twice is fine


def test_seed_out_of_range_is_refused():
    with pytest.raises(ParameterError):
        _engine.Sim(seed=-1)
    with pytest.raises(ParameterError):
        _engine.Sim(seed=2**64)


def test_malformed_table_arrays_are_refused(coba_table):
    t = coba_table
    with pytest.raises(Exception) as info:
        _engine.CondLUT(t.parameters, t.axes(), t.q[:-1], t.reach, t.reach_margin)
    assert "EDS_TABLE" in str(info.value)
    q = np.array(t.q)
    q[0, 0, 5] = np.nan
    with pytest.raises(Exception, match="EDS_TABLE"):
        _engine.CondLUT(t.parameters, t.axes(), q, t.reach, t.reach_margin)
    bad = dict(t.parameters, cm=-1.0)
    with pytest.raises(ParameterError, match="EDS_INVALID"):
        _engine.CondLUT(bad, t.axes(), t.q, t.reach, t.reach_margin)


def test_core_errors_are_runtime_errors():
    assert issubclass(CoreError, RuntimeError)
