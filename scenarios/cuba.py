"""Brette et al. (2007) benchmark 2: the CUBA network of Vogels & Abbott (2005).

IF_curr_exp cells: C = 200 pF, tau_m = 20 ms, E_L = -49 mV (above threshold: neurons fire on
their own), threshold -50 mV, reset -60 mV, refractory 5 ms; current jumps of +16.2 pA
(excitatory, tau 5 ms) and -90 pA (inhibitory, tau 10 ms), Brette et al.'s published values
(NEST's example uses -139.5 pA). Event-driven in closed form: exact states and spike times.

Variant: NEST's structure (see brette2007.py) without a kick (E_L > threshold needs none).
Peers: Brian2 5.5-5.8 Hz, CV 0.5-0.7; NEST with -90 pA 5.8 Hz, CV 0.5 (shared/BENCHMARKS.md).

Run ``python scenarios/cuba.py --help``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import edsim  # noqa: E402
from brette2007 import Benchmark, entry_points, summarize  # noqa: E402,F401

CELL = dict(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
            tau_syn_E=5.0, tau_syn_I=10.0, i_offset=0.0)
BENCHMARK = Benchmark(
    name="cuba", title="CUBA (Brette et al. 2007, benchmark 2)", model=edsim.IF_curr_exp(**CELL),
    w_exc=0.0162, w_inh=-0.090,  # nA
    peers="Brian2 5.5-5.8 Hz, CV 0.5-0.7; NEST (-90 pA) 5.8 Hz, CV 0.5",
)


build, main = entry_points(BENCHMARK)


if __name__ == "__main__":
    main()
