"""``IF_cond_exp_nmda``: a conductance-based LIF with a voltage-dependent (NMDA) excitation.

Declared with :class:`edsim.EquationModel`: its tables are generated from the equation below,
sized to a mean spike-time error of 0.01 ms and certified; nothing is compiled for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edsim.equations import EquationModel

MG_HALF = 3.57      # mM, Jahr & Stevens (1990)
MG_SLOPE = 0.062    # 1/mV


@dataclass(frozen=True)
class IF_cond_exp_nmda(EquationModel):
    """Leaky integrate-and-fire neuron with an NMDA-like excitatory and a GABA-A conductance.

    Between events::

        cm dv/dt = g_leak (v_rest - v) + g_nmda B(v) (e_rev_E - v) + g_gaba (e_rev_I - v) + i_offset
        B(v) = 1 / (1 + mg / 3.57 mM * exp(-0.062 v / mV))          (Jahr & Stevens 1990)
        dg_nmda/dt = -g_nmda / tau_nmda,   dg_gaba/dt = -g_gaba / tau_gaba

    with ``g_leak = cm / tau_m``. An excitatory (inhibitory) input of weight ``w`` (µS) adds ``w``
    to ``g_nmda`` (``g_gaba``). The magnesium block ``B(v)`` makes the excitation nonlinear in
    ``v``, so ``v`` is not exact in ``v0`` as for ``IF_cond_exp``: the table spans ``v0``,
    ``g_nmda``, ``g_gaba`` and time. When ``v`` reaches ``v_thresh`` the neuron fires and ``v`` is
    held at ``v_reset`` for ``tau_refrac``.

    Tabulated ranges: ``v`` from -80 mV to ``v_thresh``, ``g_nmda`` in [0, 0.5] µS and ``g_gaba``
    in [0, 0.2] µS (50 and 20 times the default leak conductance); states beyond them are
    integrated numerically (slower, counted in ``Network.stats()["n_fallback"]``).

    Parameters
    ----------
    cm : float
        Membrane capacitance (nF). Default 0.2.
    tau_m : float
        Membrane time constant (ms). Default 20.0.
    v_rest, v_thresh, v_reset : float
        Resting, threshold and reset potentials (mV). Defaults -65, -50, -65.
    tau_refrac : float
        Refractory period (ms). Default 2.0.
    tau_nmda, tau_gaba : float
        Decay time constants of the NMDA and GABA conductances (ms). Defaults 100.0 and 10.0.
    e_rev_E, e_rev_I : float
        Reversal potentials (mV). Defaults 0.0 and -80.0.
    mg : float
        Extracellular magnesium concentration (mM). Default 1.0.
    i_offset : float
        Constant injected current (nA). Default 0.0.
    """

    cm: float = 0.2
    tau_m: float = 20.0
    v_rest: float = -65.0
    v_thresh: float = -50.0
    v_reset: float = -65.0
    tau_refrac: float = 2.0
    tau_nmda: float = 100.0
    tau_gaba: float = 10.0
    e_rev_E: float = 0.0
    e_rev_I: float = -80.0
    mg: float = 1.0
    i_offset: float = 0.0

    name = "IF_cond_exp_nmda"
    units = {
        "cm": "nF", "tau_m": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV",
        "tau_refrac": "ms", "tau_nmda": "ms", "tau_gaba": "ms", "e_rev_E": "mV", "e_rev_I": "mV",
        "mg": "mM", "i_offset": "nA",
    }
    synapses = {"excitatory": ("g_nmda", "tau_nmda", "uS"),
                "inhibitory": ("g_gaba", "tau_gaba", "uS")}
    v_range = (-80.0, None)
    syn_range = {"g_nmda": (0.0, 0.5), "g_gaba": (0.0, 0.2)}
    tolerance = 0.01
    positive = ("cm", "tau_m")
    non_negative = ("mg",)

    def dv_dt(self, v, g_nmda, g_gaba):
        """Membrane equation right-hand side (mV/ms)."""
        block = 1.0 / (1.0 + self.mg / MG_HALF * np.exp(-MG_SLOPE * v))
        return (self.cm / self.tau_m * (self.v_rest - v) + g_nmda * block * (self.e_rev_E - v)
                + g_gaba * (self.e_rev_I - v) + self.i_offset) / self.cm


__all__ = ["IF_cond_exp_nmda"]
