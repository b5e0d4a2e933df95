"""The Brunel (2000) scenario, scaled down (its benchmark runs are in test_bench.py).

Published figures (shared/BENCHMARKS.md: NEST 32 Hz, CV 0.17 with reset 0 mV; Brian2 37 Hz,
CV 0.41 with reset 10 mV) hold for the full network only: scaling shrinks the in-degrees with J
fixed, which changes the balance. So these tests check that a small network runs, is
reproducible and stores its synapses compactly, not its rate against the peers.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scenarios"))
import brunel  # noqa: E402


SCALE, DURATION = 0.05, 300.0


def _run(seed: int = 1, reset: float = 0.0):
    net, recs = brunel.build(seed=seed, scale=SCALE, reset=reset)
    net.run(DURATION)
    return net, recs


@pytest.fixture(scope="module")
def small_run():
    return _run()


def test_scaled_brunel_has_the_scaled_structure(small_run):
    net, recs = small_run
    n_exc, n_inh = recs["exc"].size, recs["inh"].size
    assert (n_exc, n_inh) == (500, 125)
    k = round(brunel.CE * SCALE) + round(brunel.CI * SCALE)
    # recurrent in-degrees plus one external Poisson source per neuron
    assert net.stats()["n_synapses"] == (n_exc + n_inh) * (k + 1)


def test_scaled_brunel_stores_synapses_compactly(small_run):
    net, _ = small_run
    stats = net.stats()
    assert stats["bytes_synapses"] / stats["n_synapses"] <= 12.0


def test_scaled_brunel_fires_at_a_finite_positive_rate(small_run):
    net, recs = small_run
    summary = brunel.summarize(net, recs, DURATION, wall=1.0)
    assert math.isfinite(summary["rate_hz"]) and summary["rate_hz"] > 0
    assert recs["exc"].spikes.mean_rate(0.0, DURATION) > 0
    assert recs["inh"].spikes.mean_rate(0.0, DURATION) > 0


def test_scaled_brunel_is_deterministic(small_run):
    _, recs = small_run
    _, again = _run()
    for pop in ("exc", "inh"):
        a, b = recs[pop].spikes, again[pop].spikes
        assert len(a) > 0
        np.testing.assert_array_equal(a.t, b.t)
        np.testing.assert_array_equal(a.i, b.i)


def test_paper_reset_is_selectable():
    net, _ = brunel.build(seed=1, scale=0.01, reset=10.0)
    assert net.populations[0].model.v_reset == 10.0
