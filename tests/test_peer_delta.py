"""IF_curr_delta with a fused Poisson drive (Brunel's cell and drive) against NEST's precise
``iaf_psc_delta_ps`` given the very same input trains (``spike_generator`` with precise times):
the spikes must be the same, one by one. The trains are drawn here with numpy's Philox4x64-10,
an independent implementation of each fused source's stream (as tests/test_fused_drive.py does).
Skipped where NEST is not installed (``pip install -e '.[compare]'``; ``make test`` never installs
it)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import edsim
from test_fused_drive import source_trains  # the trains a fused drive draws, by numpy

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nest") is None,
                                reason="NEST not installed")

N, T, RATE, W, D = 12, 300.0, 20000.0, 0.1, 1.5
CELL = dict(cm=0.25, tau_m=20.0, v_rest=0.0, v_thresh=20.0, v_reset=0.0, tau_refrac=2.0,
            i_offset=0.0)


def test_fused_drive_gives_nest_iaf_psc_delta_ps_spikes_on_the_same_trains():
    import nest

    seed = 3
    v0 = np.random.default_rng(seed).uniform(0.0, 20.0, N)
    net = edsim.Network(seed=seed)
    cells = net.population(N, edsim.IF_curr_delta(**CELL), name="cells")
    cells.initialize(v=v0)
    drive = net.source(edsim.Poisson(RATE), n=N, name="drive")
    net.connect(drive, cells, edsim.OneToOne(), weight=W, delay=D)
    rec = net.record(cells)
    net.run(T)
    assert net.stats()["n_fused_sources"] == N
    trains = source_trains(seed, drive.ids, RATE, 0.0, T)

    nest.ResetKernel()
    nest.set(resolution=0.1, local_num_threads=1)
    nc = nest.Create("iaf_psc_delta_ps", N, params=dict(
        C_m=250.0, tau_m=20.0, E_L=0.0, V_th=20.0, V_reset=0.0, t_ref=2.0, I_e=0.0))
    nc.V_m = v0.tolist()
    sr = nest.Create("spike_recorder")
    nest.Connect(nc, sr)
    sg = nest.Create("spike_generator", N, params={"precise_times": True})
    for k in range(N):
        sg[k].spike_times = trains[k].tolist()
    nest.Connect(sg, nc, "one_to_one", {"weight": W, "delay": D})
    nest.Simulate(T)
    ev = sr.get("events")
    t_nest, i_nest = np.asarray(ev["times"]), np.asarray(ev["senders"]) - nc[0].global_id
    n_spikes = 0
    for k in range(N):
        ours = np.sort(rec.spikes.t[rec.spikes.i == k])
        theirs = np.sort(t_nest[i_nest == k])
        assert ours.size == theirs.size, f"cell {k}: {ours.size} vs NEST {theirs.size} spikes"
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
        n_spikes += ours.size
    assert n_spikes > N * 10     # ~63 Hz each: the drive lifts them well past threshold
