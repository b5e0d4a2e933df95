"""Neuron models, declared as PyNN declares them: default parameters and their units.

A model is a frozen dataclass; constructing it validates every parameter and names the rule a bad
value breaks. Parameter names, defaults and units are PyNN's (``pyNN.standardmodels.cells``), so
a PyNN script's parameter dictionary can be passed unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from edsim.errors import ParameterError


def _check_params(model: str, cls: type, given: dict[str, Any]) -> None:
    valid = [f.name for f in fields(cls) if f.init]
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {unknown} for {model}; valid names are: {', '.join(valid)}"
        )


@dataclass(frozen=True)
class IF_cond_exp:
    """Leaky integrate-and-fire neuron with exponentially decaying conductances (PyNN ``IF_cond_exp``).

    Between events the state ``(v, g_e, g_i)`` follows::

        cm dv/dt = (cm / tau_m) (v_rest - v) + g_e (e_rev_E - v) + g_i (e_rev_I - v) + i_offset
        dg_e/dt = -g_e / tau_syn_E
        dg_i/dt = -g_i / tau_syn_I

    An excitatory (inhibitory) input of weight ``w`` (µS) adds ``w`` to ``g_e`` (``g_i``). When ``v``
    reaches ``v_thresh`` the neuron fires, ``v`` is set to ``v_reset`` and held there for
    ``tau_refrac``; the conductances keep decaying and integrating inputs meanwhile.

    The conductances have a closed form and ``v`` is linear in itself, so edsim tabulates only the
    forced response of ``v`` over ``(g_e, g_i, elapsed time)``; the dependence on ``v`` is exact.

    Parameters
    ----------
    cm : float
        Membrane capacitance (nF). Default 1.0.
    tau_m : float
        Membrane time constant (ms). Default 20.0.
    v_rest : float
        Resting potential (mV). Default -65.0.
    v_thresh : float
        Spike threshold (mV). Default -50.0.
    v_reset : float
        Reset potential after a spike (mV). Default -65.0.
    tau_refrac : float
        Refractory period (ms). Default 0.1.
    tau_syn_E, tau_syn_I : float
        Decay time constants of the excitatory and inhibitory conductances (ms). Default 5.0.
    e_rev_E, e_rev_I : float
        Reversal potentials (mV). Defaults 0.0 and -70.0.
    i_offset : float
        Constant injected current (nA). Default 0.0.

    Examples
    --------
    >>> m = IF_cond_exp(cm=0.2, v_rest=-60.0, tau_syn_I=10.0, e_rev_I=-80.0)
    >>> m.g_leak  # µS
    0.01
    """

    cm: float = 1.0
    tau_m: float = 20.0
    v_rest: float = -65.0
    v_thresh: float = -50.0
    v_reset: float = -65.0
    tau_refrac: float = 0.1
    tau_syn_E: float = 5.0
    tau_syn_I: float = 5.0
    e_rev_E: float = 0.0
    e_rev_I: float = -70.0
    i_offset: float = 0.0

    units: ClassVar[dict[str, str]] = {
        "cm": "nF", "tau_m": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV",
        "tau_refrac": "ms", "tau_syn_E": "ms", "tau_syn_I": "ms", "e_rev_E": "mV",
        "e_rev_I": "mV", "i_offset": "nA",
    }
    receptor_types: ClassVar[tuple[str, ...]] = ("excitatory", "inhibitory")
    state_variables: ClassVar[dict[str, str]] = {"v": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS"}
    name: ClassVar[str] = "IF_cond_exp"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(
                    f"{f.name} of {self.name} must be a number in {self.units[f.name]} "
                    f"(got {value!r})"
                )
            if not math.isfinite(value):
                raise ParameterError(f"{f.name} of {self.name} must be finite (got {value})")
            object.__setattr__(self, f.name, float(value))
        for name in ("cm", "tau_m", "tau_syn_E", "tau_syn_I"):
            if getattr(self, name) <= 0:
                raise ParameterError(
                    f"{name} of {self.name} must be > 0 {self.units[name]} (got {getattr(self, name)})"
                )
        if self.tau_refrac < 0:
            raise ParameterError(f"tau_refrac of {self.name} must be >= 0 ms (got {self.tau_refrac})")
        if not self.v_reset < self.v_thresh:
            raise ParameterError(
                f"v_reset of {self.name} must be below v_thresh (got v_reset={self.v_reset} mV, "
                f"v_thresh={self.v_thresh} mV)"
            )
        if not self.e_rev_I < self.v_thresh:
            raise ParameterError(
                f"e_rev_I of {self.name} must be below v_thresh (got {self.e_rev_I} mV)"
            )

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> "IF_cond_exp":
        """Build from a PyNN-style parameter dictionary, rejecting unknown names."""
        _check_params(cls.name, cls, params)
        return cls(**params)

    @property
    def g_leak(self) -> float:
        """Leak conductance ``cm / tau_m`` (µS)."""
        return self.cm / self.tau_m

    @property
    def v_inf(self) -> float:
        """Potential the membrane relaxes to without synaptic input (mV)."""
        return self.v_rest + self.i_offset / self.g_leak

    def parameters(self) -> dict[str, float]:
        return asdict(self)

    # -- equations, vectorised over numpy arrays -------------------------------------------
    def dv_dt(self, v, g_e, g_i):
        """Membrane equation right-hand side (mV/ms)."""
        return (
            self.g_leak * (self.v_rest - v) + g_e * (self.e_rev_E - v)
            + g_i * (self.e_rev_I - v) + self.i_offset
        ) / self.cm


MODELS: dict[str, type] = {"IF_cond_exp": IF_cond_exp}
