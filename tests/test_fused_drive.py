"""Poisson drive fused into IF_curr_delta neurons (csrc/drive.c) against the same spike trains
delivered through the queue as spike-time sources: the trains are drawn here with numpy's own
Philox4x64-10 (an independent implementation of each source's stream), so equal spikes show that
fusing changes nothing but the cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

import edsim

CELL = dict(cm=0.25, tau_m=20.0, v_rest=0.0, v_thresh=20.0, v_reset=10.0, tau_refrac=2.0)


def source_trains(seed: int, ids, rate: float, start: float, stop: float) -> list[np.ndarray]:
    """Each source's train: spike k = spike k-1 - ln(u_k) 1000 / rate from `start`, u_k from
    Philox4x64-10 keyed (seed, source id)."""
    trains = []
    for gid in ids:
        gen = np.random.Philox(key=[seed, int(gid)], counter=[2**64 - 1] * 4)
        t, out = start, []
        while True:
            u = ((gen.random_raw() >> 11) + 0.5) * 2.0**-53
            t = t - math.log(u) * (1000.0 / rate)
            if not t < stop:
                break
            out.append(t)
        trains.append(np.array(out))
    return trains


def build(seed, drive_kind, n_exc=160, n_inh=40, rate=9000.0, start=0.0, stop=1e9, record_v=3,
          w_inh=-1.0, v_lo=0.0, v_rest=0.0):
    net = edsim.Network(seed=seed)
    model = edsim.IF_curr_delta(**{**CELL, "v_rest": v_rest})
    exc = net.population(n_exc, model, name="exc")
    inh = net.population(n_inh, model, name="inh")
    rng = np.random.default_rng(seed)
    for pop in (exc, inh):
        pop.initialize(v=rng.uniform(v_lo, 20.0, pop.size))
    for post in (exc, inh):
        net.connect(exc, post, edsim.FixedInDegree(40), weight=0.2, delay=1.5)
        net.connect(inh, post, edsim.FixedInDegree(10), weight=w_inh, delay=1.5,
                    receptor_type="inhibitory")
    drives = []
    for post in (exc, inh):
        if drive_kind == "poisson":
            src = net.source(edsim.Poisson(rate, start=start, duration=stop - start), n=post.size,
                             name=f"drive_{post.name}")
        else:
            src = net.source(edsim.SpikeTimes(drive_kind[post.name]), n=post.size,
                             name=f"drive_{post.name}")
        net.connect(src, post, edsim.OneToOne(), weight=0.1, delay=1.5)
        drives.append(src)
    recs = {"exc": net.record(exc), "inh": net.record(inh),
            "v": net.record(exc[:record_v], spikes=False, v=0.25)}
    return net, drives, recs


@pytest.mark.parametrize("seed,start,stop,v_lo,v_rest", [
    (1, 0.0, 1e9, 0.0, 0.0), (7, 20.0, 180.0, 0.0, 0.0), (11, 0.0, 1e9, -60.0, 0.0),
    (5, 0.0, 1e9, 0.0, 19.5)])
def test_fused_drive_gives_the_spikes_of_the_same_trains_through_the_queue(seed, start, stop,
                                                                          v_lo, v_rest):
    """Cells below v_inf = v_rest relax upwards between arrivals (v_lo < 0; v_rest just below
    threshold), which the wake must allow for."""
    fused, drives, rec_f = build(seed, "poisson", start=start, stop=stop, v_lo=v_lo,
                                 v_rest=v_rest)
    for k in range(4):                     # split runs: the drive's state carries over
        fused.run(50.0)
    horizon = min(stop, 200.0)  # later spikes cannot matter within the 200 ms run
    trains = {d.name.removeprefix("drive_"): source_trains(seed, d.ids, 9000.0, start, horizon)
              for d in drives}
    queued, _, rec_q = build(seed, trains, v_lo=v_lo, v_rest=v_rest)
    queued.run(200.0)
    sf, sq = fused.stats(), queued.stats()
    assert sf["n_fused_sources"] == 200 and sq["n_fused_sources"] == 0
    for name in ("exc", "inh"):
        a, b = rec_f[name].spikes, rec_q[name].spikes
        assert len(a) > 10
        assert np.array_equal(a.t, b.t) and np.array_equal(a.i, b.i)
    np.testing.assert_array_equal(rec_f["v"].v.values, rec_q["v"].v.values)
    if v_lo < 0:
        assert rec_f["v"].v.values.min() < -10.0
    np.testing.assert_array_equal(fused.populations[0].state()["v"],
                                  queued.populations[0].state()["v"])
    n_arrivals = sum(int(np.sum(t + 1.5 < 200.0)) for tr in trains.values() for t in tr)
    assert sf["n_source_spikes"] <= n_arrivals <= sq["n_source_spikes"]
    if v_rest == 0.0:  # (near threshold, cells fire so often that their own events dominate)
        assert sf["n_events"] < sq["n_events"] / 10


def test_a_recorded_poisson_source_is_not_fused_and_a_fused_one_cannot_be_recorded():
    net, drives, _ = build(3, "poisson")
    net.record(drives[0])
    net.run(20.0)
    s = net.stats()
    assert s["n_fused_sources"] == 40             # only the unrecorded one (onto inh)
    with pytest.raises(edsim.EdsimError, match="cannot record 'drive_inh'.*before the first run"):
        net.record(drives[1])
