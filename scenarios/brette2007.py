"""Shared construction of the Brette et al. (2007) benchmark networks (J Comput Neurosci 23:349).

4000 integrate-and-fire neurons, 3200 excitatory and 800 inhibitory, tau_m = 20 ms, threshold
-50 mV, reset -60 mV, refractory 5 ms, each neuron receiving 64 excitatory and 16 inhibitory
inputs. The benchmarks differ in the synapse (conductance, current, voltage jump) and in E_L.

Variant (as NEST's ``pynest/examples/brette_et_al_2007``): fixed in-degree drawn with replacement
(multapses and autapses allowed, like NEST's ``fixed_indegree``), delay 0.1 ms, initial potentials
uniform in [v_reset, v_thresh) as in Brian's versions. Benchmark 1, whose E_L is below threshold,
also gets NEST's kick: 300 Hz Poisson input onto the first 50 excitatory neurons for 1-51 ms.
The scripts ``coba.py``, ``cuba.py`` and ``event_driven_cuba.py`` pick the synapse.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import edsim
from common import plot, summarize  # noqa: F401 - summarize is part of the scenario API

N_EXC, N_INH = 3200, 800
K_EXC, K_INH = 64, 16
DELAY = 0.1  # ms


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its cell model, weights (model units) and whether it needs the kick."""

    name: str
    title: str
    model: Any
    w_exc: float
    w_inh: float
    kick: bool = False
    peers: str = ""
    v_init: tuple[float, float] | None = None   # initial v range (mV); default [v_reset, v_thresh)
    dt: float | None = None                     # time-driven step (ms); None: event-driven
    default_seed: int = 1                       # the command line's default seed


def build(bench: Benchmark, seed: int = 1, scale: float = 1.0, record_v: int = 0, table_dir=None,
          keep_connectivity: bool = False):
    """The benchmark network; ``scale`` shrinks populations and in-degrees together.

    ``keep_connectivity`` keeps each projection's edges so the network can be exported
    (``edsim bench`` runs the identical network in NEST and Brian2).
    """
    net = edsim.Network(seed=seed, table_dir=table_dir, keep_connectivity=keep_connectivity)
    n_exc, n_inh = int(round(N_EXC * scale)), int(round(N_INH * scale))
    exc = net.population(n_exc, bench.model, name="exc", dt=bench.dt)
    inh = net.population(n_inh, bench.model, name="inh", dt=bench.dt)
    rng = np.random.default_rng(seed)
    lo, hi = bench.v_init or (bench.model.v_reset, bench.model.v_thresh)
    for pop in (exc, inh):
        pop.initialize(v=rng.uniform(lo, hi, pop.size))
    k_exc, k_inh = max(1, int(round(K_EXC * scale))), max(1, int(round(K_INH * scale)))
    for post in (exc, inh):
        net.connect(exc, post, edsim.FixedInDegree(k_exc, with_replacement=True),
                    weight=bench.w_exc, delay=DELAY)
        net.connect(inh, post, edsim.FixedInDegree(k_inh, with_replacement=True),
                    weight=bench.w_inh, delay=DELAY, receptor_type="inhibitory")
    if bench.kick:
        n_kick = min(50, n_exc)
        kick = net.source(edsim.Poisson(300.0, start=1.0, duration=50.0), n=n_kick, name="kick")
        net.connect(kick, exc[:n_kick], edsim.OneToOne(), weight=bench.w_exc, delay=DELAY)
    rec_exc, rec_inh = net.record(exc), net.record(inh)
    rec_v = net.record(exc[:record_v], spikes=False, v=0.1) if record_v else None
    return net, {"exc": rec_exc, "inh": rec_inh, "v": rec_v}


def main(bench: Benchmark, argv=None) -> dict:
    parser = argparse.ArgumentParser(description=bench.title)
    parser.add_argument("--duration", type=float, default=1000.0, help="biological time (ms)")
    parser.add_argument("--seed", type=int, default=bench.default_seed)
    parser.add_argument("--scale", type=float, default=1.0, help="network size factor")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    net, recs = build(bench, args.seed, args.scale, record_v=10)
    t0 = time.perf_counter()
    net.run(args.duration, progress=not args.quiet and sys.stderr.isatty())
    wall = time.perf_counter() - t0
    summary = summarize(net, recs, args.duration, wall)
    args.out.mkdir(parents=True, exist_ok=True)
    recs["exc"].save(args.out / f"{bench.name}_exc.h5")
    recs["inh"].save(args.out / f"{bench.name}_inh.h5")
    plot(recs, args.duration, args.out / f"{bench.name}.png", bench.title)
    (args.out / f"{bench.name}_summary.json").write_text(json.dumps(summary, indent=2))
    print(f"{bench.title}, seed {args.seed}, {args.duration:g} ms")
    for key in ("neurons", "synapses", "spikes", "rate_hz", "rate_exc_last_s_hz", "cv_isi_mean",
                "build_s", "wall_s", "realtime_factor", "synaptic_events_per_s",
                "bytes_per_synapse", "peak_rss_mb"):
        value = summary[key]
        print(f"  {key:24s} {value:.4g}" if isinstance(value, float) else f"  {key:24s} {value}")
    if bench.peers:
        print(f"  peers: {bench.peers}")
    print(f"  spikes in {args.out}/{bench.name}_exc.h5, {bench.name}_inh.h5; plot {args.out}/{bench.name}.png")
    return summary


def entry_points(bench: Benchmark):
    """``build(seed, scale, record_v, table_dir, keep_connectivity)`` and ``main(argv)`` of one benchmark's script."""

    def build_one(seed: int = 1, scale: float = 1.0, record_v: int = 0, table_dir=None,
                  keep_connectivity: bool = False):
        return build(bench, seed, scale, record_v, table_dir, keep_connectivity)

    def main_one(argv=None) -> dict:
        return main(bench, argv)

    return build_one, main_one
