"""Time-driven neuron models: integrated at a fixed step ``dt`` inside the event loop.

Each model is a frozen dataclass like those of :mod:`edsim.models` (PyNN's parameter names and
units where PyNN has the model) and one C implementation in ``csrc/clock.c``. They share the
conventions of that file:

* RK4 at the population's step ``dt`` (HH_cond_exp: adaptive RK3/RK4 substeps, see its
  docstring); exponential synaptic conductances decay exactly;
* at most one spike per step, its time interpolated inside the step (cubic Hermite through the
  values and slopes at both ends of the (sub)step that crossed the threshold); models with a reset
  integrate the rest of the step again from the reset state;
* models whose upswing blows up in finite time (Izhikevich, AdEx) take RK4 substeps in the upswing
  so that the voltage moves by at most a few mV per substep;
* a step is integrated when it ends, split at the exact arrival times of its inputs, so input
  timing adds no error; spikes are found at the end of a step, so delays from a time-driven
  population must be >= dt (as in NEST).

Example
-------
>>> import edsim
>>> net = edsim.Network()
>>> pop = net.population(1, edsim.Izhikevich(i_offset=0.01))  # I = 10 mV/ms
>>> rec = net.record(pop)
>>> net.run(100.0)
>>> len(rec.spikes) > 3
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edsim.errors import ParameterError
from edsim.models import Model

# eds_clock_model in csrc/edsim.h
_HH_COND, _IZHIKEVICH, _ADEX_COND, _FHN, _HR = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class HH_cond_exp(Model):
    """Traub–Miles Hodgkin–Huxley neuron, exponential conductance synapses (PyNN ``HH_cond_exp``).

    The neuron of Brette et al. (2007) benchmark 3 (COBA-HH)::

        cm dv/dt = g_leak (e_rev_leak - v) + gbar_Na m^3 h (e_rev_Na - v) + gbar_K n^4 (e_rev_K - v)
                   + g_e (e_rev_E - v) + g_i (e_rev_I - v) + i_offset
        dx/dt = alpha_x(u) (1 - x) - beta_x(u) x      for x in m, h, n;  u = v - v_offset
        dg_e/dt = -g_e / tau_syn_E,   dg_i/dt = -g_i / tau_syn_I

    with the rates (1/ms; u in mV) ``alpha_m = 0.32 (13 - u) / (exp((13 - u)/4) - 1)``,
    ``beta_m = 0.28 (u - 40) / (exp((u - 40)/5) - 1)``, ``alpha_h = 0.128 exp((17 - u)/18)``,
    ``beta_h = 4 / (1 + exp((40 - u)/5))``, ``alpha_n = 0.032 (15 - u) / (exp((15 - u)/5) - 1)``,
    ``beta_n = 0.5 exp((10 - u)/40)``.

    An excitatory (inhibitory) input of weight ``w`` (µS) adds ``w`` to ``g_e`` (``g_i``). There is
    no reset: a spike is an upward crossing of ``v_thresh``; crossings within ``tau_refrac`` of the
    last reported spike are not reported (Brian's benchmark: -20 mV, 3 ms). The initial state is
    ``v = e_rev_leak`` with the gates at their steady state there.

    Integration (``dt = 0.01`` ms by default): each step of ``(v, m, h, n)`` is cut into substeps
    of at most 2 / (fastest rate of the system) and short enough that ``v`` moves by about 4 mV at
    most (the spike's upstroke and downstroke); a substep along which ``v`` moves by less than
    0.5 mV (between spikes: a step of 0.1 ms is one substep) takes Kutta's third-order method, the
    others classical RK4. The rates are read from a table of cubics in ``u`` (0.5 mV cells over
    -64 <= u < 128 mV, within 7e-8 relative of the formulas; the formulas beyond it). Spike times
    against scipy's DOP853, largest error over the first 20 spikes
    (``tests/test_clock_models.py``): 3.3e-3 ms at ``dt = 0.1`` and 8.2e-6 ms at ``dt = 0.01``
    driven by ``i_offset = 0.5`` nA; 1.2e-3 and 1.4e-5 ms driven by conductance inputs.

    Parameters
    ----------
    gbar_Na, gbar_K : float
        Peak sodium and potassium conductances (µS). Defaults 20.0 and 6.0.
    g_leak : float
        Leak conductance (µS). Default 0.01.
    cm : float
        Membrane capacitance (nF). Default 0.2.
    v_offset : float
        Offset ``VT`` of the rate functions (mV). Default -63.0.
    e_rev_Na, e_rev_K, e_rev_leak : float
        Reversal potentials of the sodium, potassium and leak currents (mV). Defaults 50, -90, -65.
    e_rev_E, e_rev_I : float
        Synaptic reversal potentials (mV). Defaults 0.0 and -80.0.
    tau_syn_E, tau_syn_I : float
        Decay time constants of the synaptic conductances (ms). Defaults 0.2 and 2.0 (PyNN's).
    i_offset : float
        Constant injected current (nA). Default 0.0.
    v_thresh : float
        Spike detection threshold, crossed upwards (mV). Default -20.0.
    tau_refrac : float
        Time after a reported spike during which crossings are not reported (ms). Default 3.0.

    Examples
    --------
    Benchmark 3's cell (area 20,000 µm²):

    >>> cell = HH_cond_exp(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, e_rev_leak=-60.0,
    ...                    tau_syn_E=5.0, tau_syn_I=10.0)
    >>> cell.default_dt
    0.01
    """

    gbar_Na: float = 20.0
    gbar_K: float = 6.0
    g_leak: float = 0.01
    cm: float = 0.2
    v_offset: float = -63.0
    e_rev_Na: float = 50.0
    e_rev_K: float = -90.0
    e_rev_leak: float = -65.0
    e_rev_E: float = 0.0
    e_rev_I: float = -80.0
    tau_syn_E: float = 0.2
    tau_syn_I: float = 2.0
    i_offset: float = 0.0
    v_thresh: float = -20.0
    tau_refrac: float = 3.0

    name: ClassVar[str] = "HH_cond_exp"
    units: ClassVar[dict[str, str]] = {
        "gbar_Na": "uS", "gbar_K": "uS", "g_leak": "uS", "cm": "nF", "v_offset": "mV",
        "e_rev_Na": "mV", "e_rev_K": "mV", "e_rev_leak": "mV", "e_rev_E": "mV", "e_rev_I": "mV",
        "tau_syn_E": "ms", "tau_syn_I": "ms", "i_offset": "nA", "v_thresh": "mV",
        "tau_refrac": "ms",
    }
    positive: ClassVar[tuple[str, ...]] = ("cm", "tau_syn_E", "tau_syn_I")
    non_negative: ClassVar[tuple[str, ...]] = ("gbar_Na", "gbar_K", "g_leak", "tau_refrac")
    state_variables: ClassVar[dict[str, str]] = {"v": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS"}
    clock_state: ClassVar[tuple[str, ...]] = (
        "v", "m", "h", "n", "gsyn_exc", "gsyn_inh", "refractory_left",
    )
    engine: ClassVar[str] = "clock"
    clock_model: ClassVar[int | None] = _HH_COND
    default_dt: ClassVar[float] = 0.01


@dataclass(frozen=True)
class Izhikevich(Model):
    """Izhikevich's (2003) quadratic integrate-and-fire neuron (PyNN ``Izhikevich``).

    ::

        dv/dt = 0.04 v^2 + 5 v + 140 - u + I      (v in mV, t in ms)
        du/dt = a (b v - u)
        when v >= 30 mV:  v <- c,  u <- u + d

    with ``I = 1000 i_offset`` (mV/ms per nA: PyNN's convention, as on NEST, of an implicit 1 pF;
    ``i_offset = 0.01`` nA is Izhikevich's ``I = 10``). Synapses are current-based delta synapses,
    as in PyNN: an input of weight ``w`` (mV; negative for inhibition) adds ``w`` to ``v``.

    RK4 at ``dt = 0.1`` ms by default, with substeps of at most about 1 mV in the upswing (which
    blows up in finite time); the spike time is interpolated and the rest of the step integrated
    from the reset. Initial state ``v = -70`` mV, ``u = b v``.

    Parameters
    ----------
    a : float
        Rate of the recovery variable (1/ms), >= 0. Default 0.02.
    b : float
        Sensitivity of the recovery variable to v (1/ms). Default 0.2.
    c : float
        Reset potential (mV), below the 30 mV cutoff. Default -65.0.
    d : float
        Increment of u at each spike (mV/ms). Default 2.0.
    i_offset : float
        Constant injected current (nA; 1 nA = 1000 mV/ms). Default 0.0.

    Examples
    --------
    >>> chattering = Izhikevich(a=0.02, b=0.2, c=-50.0, d=2.0, i_offset=0.01)
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 2.0
    i_offset: float = 0.0

    V_PEAK: ClassVar[float] = 30.0  # mV, the spike cutoff (IZ_V_PEAK in csrc/clock.c)

    name: ClassVar[str] = "Izhikevich"
    units: ClassVar[dict[str, str]] = {"a": "1/ms", "b": "1/ms", "c": "mV", "d": "mV/ms",
                                       "i_offset": "nA"}
    non_negative: ClassVar[tuple[str, ...]] = ("a",)
    state_variables: ClassVar[dict[str, str]] = {"v": "mV", "u": "mV/ms"}
    clock_state: ClassVar[tuple[str, ...]] = ("v", "u")
    weight_unit: ClassVar[str] = "mV"
    weight_sign: ClassVar[str] = "current"
    engine: ClassVar[str] = "clock"
    clock_model: ClassVar[int | None] = _IZHIKEVICH
    default_dt: ClassVar[float] = 0.1

    def _check(self) -> None:
        if not self.c < self.V_PEAK:
            raise ParameterError(
                f"c of {self.name} must be below the spike cutoff {self.V_PEAK} mV "
                f"(got {self.c} mV)"
            )


@dataclass(frozen=True)
class EIF_cond_exp_isfa_ista(Model):
    """Adaptive exponential integrate-and-fire neuron, AdEx (PyNN ``EIF_cond_exp_isfa_ista``).

    Brette & Gerstner (2005), with exponential conductance synapses::

        cm dv/dt = g_L (v_rest - v) + g_L delta_T exp((v - v_thresh) / delta_T) - w
                   + g_e (e_rev_E - v) + g_i (e_rev_I - v) + i_offset,      g_L = cm / tau_m
        tau_w dw/dt = a (v - v_rest) - w
        dg_e/dt = -g_e / tau_syn_E,   dg_i/dt = -g_i / tau_syn_I

    ``a`` is in nS, so ``a (v - v_rest)`` is in pA and enters as ``1e-3 a (v - v_rest)`` nA. When
    ``v`` reaches ``v_spike`` (``v_thresh`` if ``delta_T = 0``, which drops the exponential) the
    neuron fires: ``v <- v_reset``, held there for ``tau_refrac`` while ``w`` and the conductances
    keep evolving, and ``w <- w + b``. An excitatory (inhibitory) input of weight ``w`` (µS) adds
    ``w`` to ``g_e`` (``g_i``).

    RK4 at ``dt = 0.1`` ms by default, with substeps moving ``v`` by at most ``delta_T / 2`` in the
    exponential upswing. As NEST does, parameters whose exponential would overflow at the spike
    are refused: ``(v_spike - v_thresh) / delta_T`` must be at most 600. Initial state
    ``v = v_rest``, ``w = 0``.

    Parameters
    ----------
    cm : float
        Membrane capacitance (nF). Default 0.281.
    tau_refrac : float
        Refractory period (ms). Default 0.1.
    v_spike : float
        Spike detection threshold (mV), in [v_thresh, v_thresh + 600 delta_T]. Default -40.0.
    v_reset : float
        Reset potential (mV). Default -70.6.
    v_rest : float
        Resting (leak reversal) potential (mV). Default -70.6.
    tau_m : float
        Membrane time constant (ms). Default 9.3667.
    i_offset : float
        Constant injected current (nA). Default 0.0.
    a : float
        Subthreshold adaptation conductance (nS). Default 4.0.
    b : float
        Spike-triggered adaptation increment (nA). Default 0.0805.
    delta_T : float
        Slope factor (mV), >= 0. Default 2.0.
    tau_w : float
        Adaptation time constant (ms). Default 144.0.
    v_thresh : float
        Spike initiation threshold (mV). Default -50.4.
    e_rev_E, e_rev_I : float
        Synaptic reversal potentials (mV). Defaults 0.0 and -80.0.
    tau_syn_E, tau_syn_I : float
        Decay time constants of the synaptic conductances (ms). Default 5.0.

    Examples
    --------
    >>> adex = EIF_cond_exp_isfa_ista(i_offset=1.0)
    >>> round(adex.g_leak, 6)  # µS
    0.03
    """

    cm: float = 0.281
    tau_refrac: float = 0.1
    v_spike: float = -40.0
    v_reset: float = -70.6
    v_rest: float = -70.6
    tau_m: float = 9.3667
    i_offset: float = 0.0
    a: float = 4.0
    b: float = 0.0805
    delta_T: float = 2.0
    tau_w: float = 144.0
    v_thresh: float = -50.4
    e_rev_E: float = 0.0
    tau_syn_E: float = 5.0
    e_rev_I: float = -80.0
    tau_syn_I: float = 5.0

    EXP_SPIKE: ClassVar[float] = 600.0  # largest exponent at v_spike (AD_EXP_SPIKE in csrc/clock.c)

    name: ClassVar[str] = "EIF_cond_exp_isfa_ista"
    units: ClassVar[dict[str, str]] = {
        "cm": "nF", "tau_refrac": "ms", "v_spike": "mV", "v_reset": "mV", "v_rest": "mV",
        "tau_m": "ms", "i_offset": "nA", "a": "nS", "b": "nA", "delta_T": "mV", "tau_w": "ms",
        "v_thresh": "mV", "e_rev_E": "mV", "tau_syn_E": "ms", "e_rev_I": "mV", "tau_syn_I": "ms",
    }
    positive: ClassVar[tuple[str, ...]] = ("cm", "tau_m", "tau_w", "tau_syn_E", "tau_syn_I")
    non_negative: ClassVar[tuple[str, ...]] = ("tau_refrac", "delta_T")
    state_variables: ClassVar[dict[str, str]] = {"v": "mV", "w": "nA", "gsyn_exc": "uS"}
    clock_state: ClassVar[tuple[str, ...]] = ("v", "w", "gsyn_exc", "gsyn_inh", "refractory_left")
    engine: ClassVar[str] = "clock"
    clock_model: ClassVar[int | None] = _ADEX_COND
    default_dt: ClassVar[float] = 0.1

    def _check(self) -> None:
        if not self.v_spike >= self.v_thresh:
            raise ParameterError(
                f"v_spike of {self.name} must be >= v_thresh (got v_spike={self.v_spike} mV, "
                f"v_thresh={self.v_thresh} mV)"
            )
        if self.delta_T > 0 and not self.v_spike - self.v_thresh <= self.EXP_SPIKE * self.delta_T:
            raise ParameterError(
                f"v_spike of {self.name} must be at most {self.EXP_SPIKE:g} delta_T above "
                "v_thresh, "
                f"or exp((v_spike - v_thresh) / delta_T) overflows (got v_spike={self.v_spike} mV, "
                f"v_thresh={self.v_thresh} mV, delta_T={self.delta_T} mV); raise delta_T or "
                "lower v_spike"
            )
        if not self.v_reset < self.spike_threshold:
            raise ParameterError(
                f"v_reset of {self.name} must be below the spike threshold "
                f"{self.spike_threshold} mV (got {self.v_reset} mV)"
            )

    @property
    def g_leak(self) -> float:
        """Leak conductance ``cm / tau_m`` (µS)."""
        return self.cm / self.tau_m

    @property
    def spike_threshold(self) -> float:
        """Where a spike is detected (mV): ``v_spike``, or ``v_thresh`` if ``delta_T = 0``."""
        return self.v_spike if self.delta_T > 0 else self.v_thresh


@dataclass(frozen=True)
class FitzHughNagumo(Model):
    """FitzHugh–Nagumo relaxation oscillator (dimensionless; time in ms).

    ::

        dv/dt = v - v^3 / 3 - w + I
        dw/dt = (v + a - b w) / tau

    The equations carry an implicit time unit of 1 ms, so ``tau`` is in ms and ``v``, ``w``, ``I``
    are dimensionless. There is no reset: a spike is an upward crossing of ``v_thresh``, reported
    once per excursion (the state remembers whether ``v`` is above). An input of weight ``w``
    (dimensionless; negative for inhibition) adds ``w`` to ``v``; a jump over the threshold is
    reported at the start of the next step. RK4 at ``dt = 0.1`` ms by default. Initial state
    ``(v, w) = (-1.2, -0.625)``, the resting point of the standard ``a = 0.7, b = 0.8, I = 0``.

    Parameters
    ----------
    a : float
        Offset of the recovery nullcline. Default 0.7.
    b : float
        Recovery self-coupling, >= 0. Default 0.8.
    tau : float
        Recovery time constant (ms). Default 12.5.
    I : float
        Constant input. Default 0.0 (rest); 0.5 oscillates.
    v_thresh : float
        Spike detection threshold for v, crossed upwards. Default 1.0.

    Examples
    --------
    >>> FitzHughNagumo(I=0.5).tau
    12.5
    """

    a: float = 0.7
    b: float = 0.8
    tau: float = 12.5
    I: float = 0.0  # noqa: E741
    v_thresh: float = 1.0

    name: ClassVar[str] = "FitzHughNagumo"
    units: ClassVar[dict[str, str]] = {"a": "(dimensionless)", "b": "(dimensionless)",
                                       "tau": "ms", "I": "(dimensionless)",
                                       "v_thresh": "(dimensionless)"}
    positive: ClassVar[tuple[str, ...]] = ("tau",)
    non_negative: ClassVar[tuple[str, ...]] = ("b",)
    state_variables: ClassVar[dict[str, str]] = {"v": "1", "w": "1"}
    clock_state: ClassVar[tuple[str, ...]] = ("v", "w", "above_threshold")
    weight_unit: ClassVar[str] = "(dimensionless)"
    weight_sign: ClassVar[str] = "current"
    engine: ClassVar[str] = "clock"
    clock_model: ClassVar[int | None] = _FHN
    default_dt: ClassVar[float] = 0.1


@dataclass(frozen=True)
class HindmarshRose(Model):
    """Hindmarsh–Rose bursting neuron (dimensionless; time in ms).

    ::

        dx/dt = y - a x^3 + b x^2 - z + I
        dy/dt = c - d x^2 - y
        dz/dt = r (s (x - x_R) - z)

    The equations carry an implicit time unit of 1 ms, so ``r`` is in 1/ms and the rest is
    dimensionless. Standard values: ``a = 1, b = 3, c = 1, d = 5, s = 4, x_R = -1.6``; with
    ``r = 0.001`` and ``I`` about 3.0 the bursting is chaotic. There is no reset: a spike is an
    upward crossing of ``x_thresh``, reported once per excursion (the state remembers whether ``x``
    is above). An input of weight ``w`` (dimensionless; negative for inhibition) adds ``w`` to
    ``x``.
    RK4 at ``dt = 0.1`` ms by default. Initial state ``x = x_R``, ``y = c - d x_R^2``, ``z = 0``.

    Parameters
    ----------
    a, b : float
        Cubic and quadratic coefficients of the fast variable; a > 0. Defaults 1.0 and 3.0.
    c, d : float
        Constant and quadratic coefficients of the recovery variable y. Defaults 1.0 and 5.0.
    r : float
        Rate of the slow adaptation variable z (1/ms), >= 0. Default 0.001.
    s : float
        Coupling of z to x. Default 4.0.
    x_R : float
        Resting x of the adaptation. Default -1.6.
    I : float
        Constant input. Default 0.0 (rest); about 3.0 bursts chaotically.
    x_thresh : float
        Spike detection threshold for x, crossed upwards. Default 1.0.

    Examples
    --------
    >>> HindmarshRose(I=3.0).state_variables
    {'x': '1', 'y': '1', 'z': '1'}
    """

    a: float = 1.0
    b: float = 3.0
    c: float = 1.0
    d: float = 5.0
    r: float = 0.001
    s: float = 4.0
    x_R: float = -1.6
    I: float = 0.0  # noqa: E741
    x_thresh: float = 1.0

    name: ClassVar[str] = "HindmarshRose"
    units: ClassVar[dict[str, str]] = {
        "a": "(dimensionless)", "b": "(dimensionless)", "c": "(dimensionless)",
        "d": "(dimensionless)", "r": "1/ms", "s": "(dimensionless)", "x_R": "(dimensionless)",
        "I": "(dimensionless)", "x_thresh": "(dimensionless)",
    }
    positive: ClassVar[tuple[str, ...]] = ("a",)
    non_negative: ClassVar[tuple[str, ...]] = ("r",)
    state_variables: ClassVar[dict[str, str]] = {"x": "1", "y": "1", "z": "1"}
    clock_state: ClassVar[tuple[str, ...]] = ("x", "y", "z", "above_threshold")
    weight_unit: ClassVar[str] = "(dimensionless)"
    weight_sign: ClassVar[str] = "current"
    engine: ClassVar[str] = "clock"
    clock_model: ClassVar[int | None] = _HR
    default_dt: ClassVar[float] = 0.1


CLOCK_MODELS: dict[str, type] = {
    m.name: m
    for m in (HH_cond_exp, Izhikevich, EIF_cond_exp_isfa_ista, FitzHughNagumo, HindmarshRose)
}
