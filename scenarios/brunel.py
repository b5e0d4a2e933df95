"""Brunel (2000) sparsely connected network of excitatory and inhibitory voltage-jump neurons.

Brunel N (2000) J Comput Neurosci 8:183, model A. NE = 10,000 excitatory and NI = 2,500
inhibitory IF_curr_delta cells: tau_m = 20 ms, E_L = 0 mV, threshold 20 mV, refractory 2 ms;
each neuron receives CE = 1000 excitatory inputs of J = 0.1 mV and CI = 250 inhibitory inputs
of -g J = -0.5 mV (g = 5), all with delay D = 1.5 ms: 15.6 M recurrent synapses. External drive
eta = 2, i.e. nu_ext = eta theta / (J CE tau_m) = 20 Hz on each of CE external synapses, which
is one independent Poisson train of 20 kHz of J-sized inputs per neuron.

Variant: NEST's ``pynest/examples/brunel_delta_nest.py``: reset 0 mV, fixed in-degree drawn
with replacement (multapses and autapses allowed), the external drive a Poisson generator of
20 kHz per neuron. Here the drive is one ``edsim.Poisson`` source per neuron (a population of
N sources, OneToOne, weight J, delay D): an event-driven simulator processes **one event per
external spike**, 2.5e8 external input events per biological second at full size, on top of
~5e8 recurrent synaptic events (the counters report both together). ``--reset 10`` selects the
paper's reset. Inputs during refractoriness are lost (iaf_psc_delta's default). Initial
potentials uniform in [0, 20) mV.

Target state: with eta = 2, g = 5 this is the paper's synchronous-regular side of the phase
diagram at NEST's reset 0 mV: neurons fire regularly (~32 Hz, CV of ISIs ~0.17) with a strong
~116 Hz population oscillation, *not* asynchronous-irregular (shared/BENCHMARKS.md). Peers:
NEST 32 Hz, CV 0.17 (reset 0); Brian2 37 Hz, CV 0.41 (reset 10).

``--scale s`` multiplies NE, NI, CE and CI by s with J and the 20 kHz drive kept fixed: the
recurrent input (and its balance against the drive) then shrinks with s, so the dynamics change
and the published rate and CV apply to the full size only. Scaled networks are for tests and
timing.

Run ``python scenarios/brunel.py --help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

import edsim
from common import plot, summarize

NE, NI = 10_000, 2_500
CE, CI = 1_000, 250
J = 0.1          # mV
G = 5.0
DELAY = 1.5      # ms
THETA = 20.0     # mV
TAU_M = 20.0     # ms
ETA = 2.0
NU_EXT = ETA * THETA / (J * CE * TAU_M) * 1000.0 * CE   # Hz per neuron: 20 kHz
TITLE = "Brunel (2000) balanced network (NEST brunel_delta_nest variant)"
PEERS = "NEST 32 Hz, CV 0.17 (reset 0); Brian2 37 Hz, CV 0.41 (reset 10); full size only"


def cell(reset: float = 0.0) -> edsim.IF_curr_delta:
    return edsim.IF_curr_delta(cm=0.25, tau_m=TAU_M, v_rest=0.0, v_thresh=THETA, v_reset=reset,
                               tau_refrac=2.0, i_offset=0.0)


def build(seed: int = 1, scale: float = 1.0, reset: float = 0.0, record_v: int = 0,
          table_dir=None, keep_connectivity: bool = False):
    """The network and its recorders ``{"exc", "inh", "v"}``; ``scale`` shrinks N and in-degrees.

    ``keep_connectivity`` keeps each projection's edges so the network can be exported.
    """
    if not scale > 0:
        raise edsim.errors.ParameterError(f"scale must be > 0 (got {scale})")
    net = edsim.Network(seed=seed, table_dir=table_dir, keep_connectivity=keep_connectivity)
    model = cell(reset)
    n_exc, n_inh = max(1, int(round(NE * scale))), max(1, int(round(NI * scale)))
    exc = net.population(n_exc, model, name="exc")
    inh = net.population(n_inh, model, name="inh")
    rng = np.random.default_rng(seed)
    for pop in (exc, inh):
        pop.initialize(v=rng.uniform(0.0, THETA, pop.size))
    k_exc, k_inh = max(1, int(round(CE * scale))), max(1, int(round(CI * scale)))
    for post in (exc, inh):
        net.connect(exc, post, edsim.FixedInDegree(k_exc, with_replacement=True),
                    weight=J, delay=DELAY)
        net.connect(inh, post, edsim.FixedInDegree(k_inh, with_replacement=True),
                    weight=-G * J, delay=DELAY, receptor_type="inhibitory")
    for post in (exc, inh):
        drive = net.source(edsim.Poisson(NU_EXT), n=post.size, name=f"drive_{post.name}")
        net.connect(drive, post, edsim.OneToOne(), weight=J, delay=DELAY)
    rec_exc, rec_inh = net.record(exc), net.record(inh)
    rec_v = net.record(exc[:record_v], spikes=False, v=0.1) if record_v else None
    return net, {"exc": rec_exc, "inh": rec_inh, "v": rec_v}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--duration", type=float, default=1000.0, help="biological time (ms)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="size factor on N and in-degrees (J fixed: changes the dynamics)")
    parser.add_argument("--reset", type=float, default=0.0,
                        help="reset potential (mV): 0 as NEST's example, 10 as the paper")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    t0 = time.perf_counter()
    net, recs = build(args.seed, args.scale, args.reset, record_v=10)
    build_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.run(args.duration, progress=not args.quiet and sys.stderr.isatty())
    wall = time.perf_counter() - t0
    summary = summarize(net, recs, args.duration, wall, build_wall)
    summary.update(scale=args.scale, reset_mv=args.reset, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    recs["exc"].save(args.out / "brunel_exc.h5")
    recs["inh"].save(args.out / "brunel_inh.h5")
    plot(recs, args.duration, args.out / "brunel.png", TITLE, bin_ms=1.0)  # 1 ms: the ~116 Hz rhythm
    (args.out / "brunel_summary.json").write_text(json.dumps(summary, indent=2))
    print(f"{TITLE}, reset {args.reset:g} mV, scale {args.scale:g}, seed {args.seed}, "
          f"{args.duration:g} ms")
    for key in ("neurons", "synapses", "spikes", "rate_hz", "rate_exc_hz", "rate_inh_hz",
                "cv_isi_mean", "build_s", "wall_s", "realtime_factor", "synaptic_events_per_s",
                "bytes_per_synapse", "peak_rss_mb"):
        value = summary[key]
        print(f"  {key:24s} {value:.4g}" if isinstance(value, float) else f"  {key:24s} {value}")
    print(f"  peers: {PEERS}")
    if args.scale != 1.0:
        print("  (scaled network: in-degrees shrink with J fixed, so rate and CV differ from the peers')")
    print(f"  spikes in {args.out}/brunel_exc.h5, brunel_inh.h5; plot {args.out}/brunel.png")
    return summary


if __name__ == "__main__":
    main()
