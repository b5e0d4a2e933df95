"""Brette et al. (2007) benchmark 4: integrate-and-fire neurons with voltage-jump synapses.

IF_curr_delta cells: tau_m = 20 ms, E_L = -49 mV (above threshold), threshold -50 mV, reset
-60 mV, refractory 5 ms; an input makes v jump by +0.25 mV (excitatory) or -2.25 mV
(inhibitory). Between events v relaxes in closed form, so the simulation is exact: this is the
benchmark built for event-driven simulators. Inputs during refractoriness are lost (NEST's
iaf_psc_delta default). Without input a neuron fires at 1 / (5 ms + 20 ms ln 11) = 18.9 Hz.

Variant: NEST's structure (see brette2007.py), no kick. Peers: NEST 3.10 with precise spike
times 9.55 Hz, CV 0.51; Brian2 on a 0.1 ms grid 9.7 Hz, CV 0.52 (shared/BENCHMARKS.md).

Run ``python scenarios/event_driven_cuba.py --help``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import edsim  # noqa: E402
from brette2007 import Benchmark, entry_points, summarize  # noqa: E402,F401

CELL = dict(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
            i_offset=0.0)
BENCHMARK = Benchmark(
    name="event_driven_cuba", title="Voltage-jump IF network (Brette et al. 2007, benchmark 4)",
    model=edsim.IF_curr_delta(**CELL), w_exc=0.25, w_inh=-2.25,  # mV
    peers="NEST 3.10 (precise) 9.55 Hz, CV 0.51; Brian2 (grid) 9.7 Hz, CV 0.52",
)


build, main = entry_points(BENCHMARK)


if __name__ == "__main__":
    main()
