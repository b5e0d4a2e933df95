"""Brette et al. (2007) benchmark 1: the COBA network of Vogels & Abbott (2005).

4000 IF_cond_exp neurons (3200 excitatory, 800 inhibitory): C = 200 pF, g_L = 10 nS
(tau_m = 20 ms), E_L = -60 mV, threshold -50 mV, reset -60 mV, refractory 5 ms; conductance jumps of
6 nS (excitatory, tau 5 ms, E_rev 0 mV) and 67 nS (inhibitory, tau 10 ms, E_rev -80 mV).

Variant: NEST's (``pynest/examples/brette_et_al_2007``): fixed in-degree 64 excitatory + 16
inhibitory inputs per neuron, drawn with replacement as NEST's ``fixed_indegree`` does (multapses
and autapses allowed), delay 0.1 ms, and a 300 Hz Poisson kick onto the first 50
excitatory neurons between 1 and 51 ms; initial potentials uniform in [v_reset, v_thresh) as in
Brian's version, initial conductances 0. (Brian's own variant only stays active because its
``randn()`` initial conductances are negative for ~5 % of the neurons, which edsim refuses.)
Measured elsewhere on this variant: NEST 3.10, 14.6-19.7 Hz with a CV of ISIs of about 1.5
(shared/BENCHMARKS.md); whether the activity self-sustains depends on the random draw.

Run ``python scenarios/coba.py --help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np

import edsim

CELL = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
            tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0, i_offset=0.0)
N_EXC, N_INH = 3200, 800
W_EXC, W_INH = 0.006, 0.067     # µS
DELAY = 0.1                     # ms
KICK = dict(rate=300.0, start=1.0, duration=50.0, n_targets=50)


def build(seed: int = 1, scale: float = 1.0, record_v: int = 0, table_dir=None):
    """The COBA network; ``scale`` shrinks populations and in-degrees together (1.0 = published)."""
    net = edsim.Network(seed=seed, table_dir=table_dir)
    model = edsim.IF_cond_exp(**CELL)
    n_exc, n_inh = int(round(N_EXC * scale)), int(round(N_INH * scale))
    exc = net.population(n_exc, model, name="exc")
    inh = net.population(n_inh, model, name="inh")
    rng = np.random.default_rng(seed)
    for pop in (exc, inh):
        pop.initialize(v=rng.uniform(CELL["v_reset"], CELL["v_thresh"], pop.size))
    k_exc, k_inh = int(round(64 * scale)), int(round(16 * scale))
    for post in (exc, inh):
        net.connect(exc, post, edsim.FixedInDegree(k_exc, with_replacement=True), weight=W_EXC, delay=DELAY)
        net.connect(inh, post, edsim.FixedInDegree(k_inh, with_replacement=True), weight=W_INH, delay=DELAY,
                    receptor_type="inhibitory")
    kick = net.source(edsim.Poisson(KICK["rate"], KICK["start"], KICK["duration"]),
                      n=KICK["n_targets"], name="kick")
    net.connect(kick, exc[: KICK["n_targets"]], edsim.OneToOne(), weight=W_EXC, delay=DELAY)
    rec_exc, rec_inh = net.record(exc), net.record(inh)
    rec_v = net.record(exc[:record_v], spikes=False, v=0.1) if record_v else None
    return net, {"exc": rec_exc, "inh": rec_inh, "v": rec_v}


def summarize(net, recs, duration: float, wall: float) -> dict:
    spikes_e, spikes_i = recs["exc"].spikes, recs["inh"].spikes
    n = spikes_e.n + spikes_i.n
    stats = net.stats()
    last = max(0.0, duration - 1000.0)
    cv = np.concatenate([spikes_e.cv_isi(), spikes_i.cv_isi()])
    return {
        "neurons": n,
        "synapses": stats["n_synapses"],
        "spikes": len(spikes_e) + len(spikes_i),
        "rate_hz": (len(spikes_e) + len(spikes_i)) / n / (duration / 1000.0),
        "rate_exc_last_s_hz": spikes_e.mean_rate(last, duration),
        "cv_isi_mean": float(cv.mean()) if cv.size else float("nan"),
        "duration_ms": duration,
        "build_s": net.build_seconds,
        "wall_s": wall,
        "realtime_factor": wall / (duration / 1000.0),
        "synaptic_events": stats["n_synaptic_events"],
        "synaptic_events_per_s": stats["n_synaptic_events"] / wall if wall > 0 else float("nan"),
        "stale_events": stats["n_stale"],
        "queue_max": stats["heap_max"],
        "synapse_bytes": stats["bytes_synapses"],
        "bytes_per_synapse": stats["bytes_synapses"] / max(stats["n_synapses"], 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def plot(recs, duration: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = recs["exc"].spikes
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    show = s.i < 400
    ax1.plot(s.t[show], s.i[show], ",k")
    ax1.set_ylabel("excitatory neuron")
    ax1.set_title("COBA (Brette et al. 2007, benchmark 1): first 400 excitatory neurons")
    bins = np.arange(0.0, duration + 5.0, 5.0)
    counts, _ = np.histogram(s.t, bins)
    ax2.plot(bins[:-1], counts / s.n / 0.005, "k-", lw=0.8)
    ax2.set_xlabel("time (ms)")
    ax2.set_ylabel("rate (Hz)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1000.0, help="biological time (ms)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="network size factor")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    net, recs = build(args.seed, args.scale, record_v=10)
    t0 = time.perf_counter()
    net.run(args.duration, progress=not args.quiet and sys.stderr.isatty())
    wall = time.perf_counter() - t0
    summary = summarize(net, recs, args.duration, wall)
    args.out.mkdir(parents=True, exist_ok=True)
    recs["exc"].save(args.out / "coba_exc.h5")
    recs["inh"].save(args.out / "coba_inh.h5")
    plot(recs, args.duration, args.out / "coba.png")
    (args.out / "coba_summary.json").write_text(json.dumps(summary, indent=2))
    print(f"COBA (Brette et al. 2007 benchmark 1), seed {args.seed}, {args.duration:g} ms")
    for key in ("neurons", "synapses", "spikes", "rate_hz", "rate_exc_last_s_hz", "cv_isi_mean",
                "build_s", "wall_s", "realtime_factor", "synaptic_events_per_s",
                "bytes_per_synapse", "peak_rss_mb"):
        value = summary[key]
        print(f"  {key:24s} {value:.4g}" if isinstance(value, float) else f"  {key:24s} {value}")
    print(f"  spikes in {args.out / 'coba_exc.h5'} and {args.out / 'coba_inh.h5'}; plot {args.out / 'coba.png'}")
    return summary


if __name__ == "__main__":
    main()
