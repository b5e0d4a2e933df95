"""One network mixing table-driven and time-driven populations, connected both ways.

A feed-forward chain, table -> time-driven -> table, so that spike-time differences are not
amplified by recurrent chaos (in a recurrent network any two engines diverge after a while).

The time-driven IF_cond_exp integrates the same equations as the table-driven one, so replacing
one by the other must leave the spikes unchanged within the integrators' errors: time-driven
steps are split at their inputs' exact arrival times, so only RK4 and the tables err. Bars: those
of the tables (mean <= 0.01 ms, 99th percentile <= 0.1 ms, missed + extra <= 0.5 %).
"""

from __future__ import annotations

import numpy as np
import pytest

import edsim
from tests.conftest import COBA_CELL


def hybrid(dt_b):
    net = edsim.Network(seed=12)
    cell = edsim.IF_cond_exp(**COBA_CELL)
    a = net.population(40, cell, name="a")                 # table-driven
    b = net.population(40, cell, name="b", dt=dt_b)       # table- or time-driven
    c = net.population(40, cell, name="c")                 # table-driven
    drive = net.source(edsim.Poisson(1500.0), n=40, name="drive")
    net.connect(drive, a, edsim.OneToOne(), weight=0.012, delay=0.5)
    net.connect(a, b, edsim.FixedInDegree(4), weight=0.016, delay=1.0)
    net.connect(drive, b, edsim.FixedInDegree(2), weight=0.004, delay=0.7, receptor_type="inhibitory")
    net.connect(b, c, edsim.FixedInDegree(4), weight=0.016, delay=1.5)
    rb, rc = net.record(b), net.record(c)
    net.run(300.0)
    return rb.spikes, rc.spikes


@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_clock_driven_part_gives_the_table_driven_spikes(dt):
    from edsim.certify import compare

    b_event, c_event = hybrid(None)
    b_mixed, c_mixed = hybrid(dt)
    assert len(b_event) > 200 and len(c_event) > 200
    for ref, got in ((b_event, b_mixed), (c_event, c_mixed)):
        acc = compare(ref.spike_trains(), got.spike_trains(), match_window=0.5)
        assert acc["spike_time_error_mean_ms"] <= 0.01
        assert acc["spike_time_error_p99_ms"] <= 0.1
        assert acc["missed_plus_extra_fraction"] <= 0.005
    assert not np.array_equal(b_event.t, b_mixed.t)  # the two engines really differ


def test_hybrid_network_is_deterministic():
    x = hybrid(0.1)
    y = hybrid(0.1)
    assert np.array_equal(x[1].t, y[1].t) and np.array_equal(x[0].t, y[0].t)


def test_projection_from_time_driven_population_needs_delay_of_a_step():
    net = edsim.Network(seed=0)
    cell = edsim.IF_cond_exp(**COBA_CELL)
    a = net.population(2, cell, name="a", dt=0.1)
    with pytest.raises(edsim.ParameterError, match=r"delay must be >= dt = 0.1 ms"):
        net.connect(a, a, edsim.AllToAll(), weight=0.01, delay=0.05)
