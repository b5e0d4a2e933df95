"""A model declared by its equations: the example of docs/adding_a_model.md.

Run: python docs/qif_model.py  (or build its table: edsim tables build docs.qif_model:QIF)
"""

import edsim


class QIF(edsim.EquationModel):
    """Quadratic integrate-and-fire neuron with exponential synaptic currents."""

    tau_m: float = 10.0        # membrane time constant
    v_rest: float = -65.0      # stable fixed point without input
    v_crit: float = -50.0      # unstable fixed point without input
    r_m: float = 40.0          # membrane resistance
    v_thresh: float = -30.0
    v_reset: float = -68.0
    tau_refrac: float = 2.0
    tau_e: float = 5.0
    tau_i: float = 10.0

    units = {"tau_m": "ms", "v_rest": "mV", "v_crit": "mV", "r_m": "MOhm", "v_thresh": "mV",
             "v_reset": "mV", "tau_refrac": "ms", "tau_e": "ms", "tau_i": "ms"}
    synapses = {"excitatory": ("i_e", "tau_e", "nA"), "inhibitory": ("i_i", "tau_i", "nA")}
    v_range = (-100.0, None)   # tabulate v from -100 mV up to v_thresh
    syn_range = {"i_e": (0.0, 2.0), "i_i": (-2.0, 0.0)}
    tolerance = 0.01           # ms: mean spike-time error; the 99th percentile must be <= 10x

    def dv_dt(self, v, i_e, i_i):
        quad = (v - self.v_rest) * (v - self.v_crit) / (self.v_crit - self.v_rest)
        return (quad + self.r_m * (i_e + i_i)) / self.tau_m


if __name__ == "__main__":
    net = edsim.Network(seed=1)
    pop = net.population(200, QIF(tau_m=12.0), name="qif")
    drive = net.source(edsim.Poisson(rate=20.0), n=100, name="drive")
    net.connect(drive, pop, edsim.FixedProbability(0.1), weight=0.2, delay=1.0)   # nA, ms
    net.connect(pop, pop, edsim.FixedProbability(0.05), weight=-0.3, delay=2.0,
                receptor_type="inhibitory")
    rec = net.record(pop)
    net.run(1000.0)
    print(f"{len(rec.spikes)} spikes, mean rate {rec.spikes.mean_rate(0, 1000):.1f} Hz")
