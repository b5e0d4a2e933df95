"""Brette et al. (2007) benchmark 3: the COBA network with Traub-Miles Hodgkin-Huxley neurons.

HH_cond_exp cells (area 20,000 um^2): C = 200 pF, g_Na = 20 uS (100 mS/cm^2), g_K = 6 uS
(30 mS/cm^2), g_L = 10 nS, E_Na = 50 mV, E_K = -90 mV, E_L = -60 mV, V_T = -63 mV; a spike is an
upward crossing of -20 mV, refractory 3 ms (Brian's benchmark). Synapses as benchmark 1:
6 nS (tau 5 ms, E_rev 0 mV) and 67 nS (tau 10 ms, E_rev -80 mV). Time-driven: RK4 at dt = 0.1 ms,
Brian's step for this benchmark (its method is exponential Euler); the HH tests check the model
itself at 0.01 ms.

Variant: NEST's structure (see brette2007.py) with its kick; initial potentials uniform in
[-70, -60) mV (Brian: E_L - 5 + 5 randn mV). Peer: Brian2, about 38 Hz over 2 s
(shared/BENCHMARKS.md).

Run ``python scenarios/coba_hh.py --help``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import edsim  # noqa: E402
from brette2007 import Benchmark, entry_points, summarize  # noqa: E402,F401

CELL = dict(cm=0.2, gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, e_rev_Na=50.0, e_rev_K=-90.0,
            e_rev_leak=-60.0, v_offset=-63.0, e_rev_E=0.0, e_rev_I=-80.0, tau_syn_E=5.0,
            tau_syn_I=10.0, i_offset=0.0, v_thresh=-20.0, tau_refrac=3.0)
BENCHMARK = Benchmark(
    name="coba_hh", title="COBA-HH (Brette et al. 2007, benchmark 3)",
    model=edsim.HH_cond_exp(**CELL), w_exc=0.006, w_inh=0.067, kick=True,  # µS
    peers="Brian2 ~38 Hz (2 s)", v_init=(-70.0, -60.0), dt=0.1,
)


build, main = entry_points(BENCHMARK)


if __name__ == "__main__":
    main()
