"""Neuron models, declared as PyNN declares them: default parameters and their units.

A model is a frozen dataclass; constructing it validates every parameter and names the rule a bad
value breaks. Parameter names, defaults and units are PyNN's (``pyNN.standardmodels.cells``), so
a PyNN script's parameter dictionary can be passed unchanged.

How each model is simulated is a property of the model class:

* ``IF_cond_exp``: event-driven from lookup tables (``engine = "table"``);
* ``IF_curr_exp``, ``IF_curr_delta``: event-driven in closed form (``engine = "exact"``);
* any model with a ``clock_model`` id can also run time-driven at a fixed step (``dt``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from edsim.errors import ParameterError


class Model:
    """Shared validation of model dataclasses: numbers, finiteness, signs, threshold order."""

    name: ClassVar[str]
    units: ClassVar[dict[str, str]]
    positive: ClassVar[tuple[str, ...]] = ()
    non_negative: ClassVar[tuple[str, ...]] = ()
    receptor_types: ClassVar[tuple[str, ...]] = ("excitatory", "inhibitory")
    #: what weights mean for this model, and the sign rule (see Network.connect)
    weight_unit: ClassVar[str] = "uS"
    weight_sign: ClassVar[str] = "conductance"   # or "current": inhibitory weights <= 0
    engine: ClassVar[str] = "clock"
    clock_model: ClassVar[int | None] = None
    default_dt: ClassVar[float] = 0.1

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
        for name in self.positive:
            if getattr(self, name) <= 0:
                raise ParameterError(
                    f"{name} of {self.name} must be > 0 {self.units[name]} (got {getattr(self, name)})"
                )
        for name in self.non_negative:
            if getattr(self, name) < 0:
                raise ParameterError(
                    f"{name} of {self.name} must be >= 0 {self.units[name]} (got {getattr(self, name)})"
                )
        self._check()

    def _check(self) -> None:
        """Model-specific rules beyond signs."""

    @classmethod
    def from_dict(cls, params: dict[str, Any]):
        """Build from a PyNN-style parameter dictionary, rejecting unknown names."""
        valid = [f.name for f in fields(cls) if f.init]
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ParameterError(
                f"unknown parameter(s) {unknown} for {cls.name}; valid names are: {', '.join(valid)}"
            )
        return cls(**params)

    def parameters(self) -> dict[str, float]:
        return asdict(self)

    def clock_params(self) -> list[float]:
        """Parameters in the order the C model reads them (time-driven models)."""
        return [getattr(self, f.name) for f in fields(self)]


def _threshold_order(model) -> None:
    if not model.v_reset < model.v_thresh:
        raise ParameterError(
            f"v_reset of {model.name} must be below v_thresh (got v_reset={model.v_reset} mV, "
            f"v_thresh={model.v_thresh} mV)"
        )


@dataclass(frozen=True)
class IF_cond_exp(Model):
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
    With ``dt`` given to :meth:`Network.population` the same equations run time-driven (RK4).

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

    name: ClassVar[str] = "IF_cond_exp"
    units: ClassVar[dict[str, str]] = {
        "cm": "nF", "tau_m": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV",
        "tau_refrac": "ms", "tau_syn_E": "ms", "tau_syn_I": "ms", "e_rev_E": "mV",
        "e_rev_I": "mV", "i_offset": "nA",
    }
    positive: ClassVar[tuple[str, ...]] = ("cm", "tau_m", "tau_syn_E", "tau_syn_I")
    non_negative: ClassVar[tuple[str, ...]] = ("tau_refrac",)
    state_variables: ClassVar[dict[str, str]] = {"v": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS"}
    engine: ClassVar[str] = "table"
    clock_model: ClassVar[int | None] = 0  # EDS_CLOCK_LIF_COND
    clock_state: ClassVar[tuple[str, ...]] = ("v", "gsyn_exc", "gsyn_inh", "refractory_left")

    def _check(self) -> None:
        _threshold_order(self)
        if not self.e_rev_I < self.v_thresh:
            raise ParameterError(
                f"e_rev_I of {self.name} must be below v_thresh (got {self.e_rev_I} mV)"
            )

    @property
    def g_leak(self) -> float:
        """Leak conductance ``cm / tau_m`` (µS)."""
        return self.cm / self.tau_m

    @property
    def v_inf(self) -> float:
        """Potential the membrane relaxes to without synaptic input (mV)."""
        return self.v_rest + self.i_offset / self.g_leak

    # -- equations, vectorised over numpy arrays -------------------------------------------
    def dv_dt(self, v, g_e, g_i):
        """Membrane equation right-hand side (mV/ms)."""
        return (
            self.g_leak * (self.v_rest - v) + g_e * (self.e_rev_E - v)
            + g_i * (self.e_rev_I - v) + self.i_offset
        ) / self.cm


@dataclass(frozen=True)
class IF_curr_exp(Model):
    """Leaky integrate-and-fire neuron with exponentially decaying currents (PyNN ``IF_curr_exp``).

    ::

        cm dv/dt = (cm / tau_m) (v_rest - v) + i_e + i_i + i_offset
        di_e/dt = -i_e / tau_syn_E,   di_i/dt = -i_i / tau_syn_I

    An input of weight ``w`` (nA; negative for inhibition, as in PyNN) adds ``w`` to ``i_e`` or
    ``i_i``. The equations are linear with exponential forcing, so edsim uses their closed form:
    no table, exact states, and firing times found by Newton's method on the exact ``v(t)``.

    Parameters
    ----------
    cm : float
        Membrane capacitance (nF). Default 1.0.
    tau_m : float
        Membrane time constant (ms). Default 20.0.
    v_rest, v_thresh, v_reset : float
        Resting, threshold and reset potentials (mV). Defaults -65, -50, -65.
    tau_refrac : float
        Refractory period (ms). Default 0.1.
    tau_syn_E, tau_syn_I : float
        Decay time constants of the synaptic currents (ms). Default 5.0.
    i_offset : float
        Constant injected current (nA). Default 0.0.
    """

    cm: float = 1.0
    tau_m: float = 20.0
    v_rest: float = -65.0
    v_thresh: float = -50.0
    v_reset: float = -65.0
    tau_refrac: float = 0.1
    tau_syn_E: float = 5.0
    tau_syn_I: float = 5.0
    i_offset: float = 0.0

    name: ClassVar[str] = "IF_curr_exp"
    units: ClassVar[dict[str, str]] = {
        "cm": "nF", "tau_m": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV",
        "tau_refrac": "ms", "tau_syn_E": "ms", "tau_syn_I": "ms", "i_offset": "nA",
    }
    positive: ClassVar[tuple[str, ...]] = ("cm", "tau_m", "tau_syn_E", "tau_syn_I")
    non_negative: ClassVar[tuple[str, ...]] = ("tau_refrac",)
    state_variables: ClassVar[dict[str, str]] = {"v": "mV", "isyn_exc": "nA", "isyn_inh": "nA"}
    weight_unit: ClassVar[str] = "nA"
    weight_sign: ClassVar[str] = "current"
    engine: ClassVar[str] = "exact"
    clock_model: ClassVar[int | None] = 6  # EDS_CLOCK_LIF_CURR
    clock_state: ClassVar[tuple[str, ...]] = ("v", "isyn_exc", "isyn_inh", "refractory_left")

    def _check(self) -> None:
        _threshold_order(self)

    @property
    def v_inf(self) -> float:
        """Potential the membrane relaxes to without synaptic input (mV)."""
        return self.v_rest + self.i_offset * self.tau_m / self.cm


@dataclass(frozen=True)
class IF_curr_delta(Model):
    """Leaky integrate-and-fire neuron whose inputs make the potential jump (PyNN ``IF_curr_delta``).

    ::

        cm dv/dt = (cm / tau_m) (v_rest - v) + i_offset;   an input of weight w (mV) adds w to v

    Inputs arriving during the refractory period are lost (as NEST's ``iaf_psc_delta`` by
    default); inputs arriving at the same instant act as one jump, their sum, before the
    threshold decides (as NEST's ``iaf_psc_delta_ps`` and Brian2). Exact: ``v`` relaxes
    exponentially, the firing time is a logarithm. This is the model of Brette et al. (2007)
    benchmark 4.

    Parameters
    ----------
    cm : float
        Membrane capacitance (nF), only used with ``i_offset``. Default 1.0.
    tau_m : float
        Membrane time constant (ms). Default 20.0.
    v_rest, v_thresh, v_reset : float
        Resting, threshold and reset potentials (mV). Defaults -65, -50, -65.
    tau_refrac : float
        Refractory period (ms). Default 0.1.
    i_offset : float
        Constant injected current (nA). Default 0.0.
    """

    cm: float = 1.0
    tau_m: float = 20.0
    v_rest: float = -65.0
    v_thresh: float = -50.0
    v_reset: float = -65.0
    tau_refrac: float = 0.1
    i_offset: float = 0.0

    name: ClassVar[str] = "IF_curr_delta"
    units: ClassVar[dict[str, str]] = {
        "cm": "nF", "tau_m": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV",
        "tau_refrac": "ms", "i_offset": "nA",
    }
    positive: ClassVar[tuple[str, ...]] = ("cm", "tau_m")
    non_negative: ClassVar[tuple[str, ...]] = ("tau_refrac",)
    state_variables: ClassVar[dict[str, str]] = {"v": "mV"}
    weight_unit: ClassVar[str] = "mV"
    weight_sign: ClassVar[str] = "current"
    engine: ClassVar[str] = "exact"
    clock_model: ClassVar[int | None] = 7  # EDS_CLOCK_LIF_DELTA
    clock_state: ClassVar[tuple[str, ...]] = ("v", "refractory_left")

    def _check(self) -> None:
        _threshold_order(self)

    @property
    def v_inf(self) -> float:
        return self.v_rest + self.i_offset * self.tau_m / self.cm


MODELS: dict[str, type] = {m.name: m for m in (IF_cond_exp, IF_curr_exp, IF_curr_delta)}


def all_models() -> dict[str, type]:
    """Every shipped model by name: event-driven ones here, time-driven ones in clockmodels."""
    from edsim.clockmodels import CLOCK_MODELS

    return {**MODELS, **CLOCK_MODELS}
