"""Neuron models declared by their equations: lookup tables generated for them, nothing compiled.

A user model is a subclass of :class:`EquationModel` whose annotated fields are its parameters
(the default of each field is its default value) and which states its membrane equation as a
vectorised numpy method ``dv_dt(self, v, <synaptic variables>)``. Synaptic variables decay
exponentially, ``s(t) = s0 exp(-t / tau)``, and jump by the synaptic weight on input; after
``v`` reaches ``v_thresh`` the neuron fires, ``v`` is held at ``v_reset`` for ``tau_refrac``.

edsim tabulates the trajectories ``v(t)`` from every start ``(v0, s0...)`` of a grid sized to the
model's requested spike-time ``tolerance``, certifies the table against an independent fine-step
integration of the same equations, caches it (:mod:`edsim.tables.generic`) and runs the model
event-driven in the C core (``csrc/lut_gen.c``). Example::

    from dataclasses import dataclass
    import edsim

    @dataclass(frozen=True)        # optional: EquationModel makes it a frozen dataclass anyway
    class QIF(edsim.EquationModel):
        \"\"\"Quadratic integrate-and-fire neuron with exponential synaptic currents.\"\"\"
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
        tolerance = 0.01           # ms, mean spike-time error (99th percentile <= 10x)

        def dv_dt(self, v, i_e, i_i):
            quad = (v - self.v_rest) * (v - self.v_crit) / (self.v_crit - self.v_rest)
            return (quad + self.r_m * (i_e + i_i)) / self.tau_m

    net = edsim.Network(seed=1)
    pop = net.population(100, QIF(tau_m=12.0))

Declarations are checked when the class statement runs: a missing ``v_thresh``, ``v_reset`` or
``tau_refrac``, a parameter without a unit, a synapse whose time-constant parameter does not
exist, a ``dv_dt`` that is missing, has the wrong signature, returns the wrong shape or non-finite
values anywhere on a probe grid spanning ``v_range`` x ``syn_range``: each raises
:class:`edsim.ParameterError` naming the model and the problem.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import typing
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from edsim.errors import ParameterError
from edsim.models import Model

RECEPTORS = ("excitatory", "inhibitory")
REQUIRED = ("v_thresh", "v_reset", "tau_refrac")
DEFAULT_TOLERANCE = 0.01  # ms
PROBE_V, PROBE_S = 9, 7   # probe grid of the declaration checks


def _is_classvar(annotation) -> bool:
    if annotation is ClassVar or typing.get_origin(annotation) is ClassVar:
        return True
    return isinstance(annotation, str) and annotation.replace("typing.", "").startswith("ClassVar")


class _EquationMeta(type):
    """Makes a declared model a frozen dataclass on first use, unless its author already did."""

    def __call__(cls, *args, **kwargs):
        _ensure_dataclass(cls)
        valid = [f.name for f in fields(cls) if f.init]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ParameterError(
                f"unknown parameter(s) {unknown} for {cls.name}; valid names are: {', '.join(valid)}"
            )
        if len(args) > len(valid):
            raise ParameterError(f"{cls.name} takes at most {len(valid)} parameters ({len(args)} given)")
        return super().__call__(*args, **kwargs)


def _ensure_dataclass(cls) -> None:
    if "__dataclass_fields__" in cls.__dict__:
        params = cls.__dataclass_params__
        if not params.frozen:
            raise ParameterError(
                f"model {cls.__name__} must be a frozen dataclass: declare it with "
                "@dataclass(frozen=True) or without a decorator"
            )
        return
    if cls.__dict__.get("abstract", False):
        raise ParameterError(f"{cls.__name__} is abstract (abstract = True); subclass it")
    dataclass(frozen=True)(cls)


class EquationModel(Model, metaclass=_EquationMeta):
    """Base class of neuron models declared by their equations (see the module docstring).

    Class attributes a subclass declares
    ------------------------------------
    units : dict
        Unit string of every parameter.
    synapses : dict
        ``{"excitatory": (variable, tau parameter, unit)}`` and optionally ``"inhibitory"``: the
        synaptic variable the receptor type's inputs jump, the parameter holding its decay time
        constant (ms), and the variable's unit (also the unit of weights onto it).
    v_range : tuple
        ``(v_lo, None)``: the lowest potential (mV) tabulated; the upper end is ``v_thresh``.
    syn_range : dict
        ``(low, high)`` of each synaptic variable, including 0. States outside the ranges are
        simulated by numerical integration (slower, counted in ``stats()["n_fallback"]``).
    tolerance : float
        Requested mean spike-time error (ms) of the table; its 99th percentile must be <= 10x.
    name : str, optional
        Defaults to the class name.
    """

    units: ClassVar[dict[str, str]] = {}
    synapses: ClassVar[dict[str, tuple]] = {}
    v_range: ClassVar[tuple] = ()
    syn_range: ClassVar[dict[str, tuple]] = {}
    tolerance: ClassVar[float] = DEFAULT_TOLERANCE
    engine: ClassVar[str] = "generic"
    clock_model: ClassVar[int | None] = None
    abstract: ClassVar[bool] = True

    # derived at declaration
    state_variables: ClassVar[dict[str, str]] = {}
    receptor_types: ClassVar[tuple[str, ...]] = ()
    syn_names: ClassVar[tuple[str, ...]] = ()
    syn_taus: ClassVar[tuple[str, ...]] = ()
    syn_bounds: ClassVar[tuple[tuple[float, float], ...]] = ()
    v_lo: ClassVar[float] = math.nan

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        if "abstract" not in cls.__dict__:
            cls.abstract = False
        # a base model's class statement is complete: make it a dataclass now, so that this
        # subclass (dataclass or not) inherits its fields
        for base in reversed(cls.__mro__[1:]):
            if (isinstance(base, _EquationMeta) and base is not EquationModel
                    and not base.__dict__.get("abstract", False)):
                _ensure_dataclass(base)
        _declare(cls)

    # -- instances ------------------------------------------------------------------------
    def _check(self) -> None:
        cls = type(self)
        for name in cls.syn_taus:
            if not getattr(self, name) > 0:
                raise ParameterError(
                    f"{name} of {self.name} must be > 0 ms (got {getattr(self, name)}): it is a "
                    "synaptic decay time constant"
                )
        if not self.tau_refrac >= 0:
            raise ParameterError(f"tau_refrac of {self.name} must be >= 0 ms (got {self.tau_refrac})")
        if not self.v_reset < self.v_thresh:
            raise ParameterError(
                f"v_reset of {self.name} must be below v_thresh (got v_reset={self.v_reset} mV, "
                f"v_thresh={self.v_thresh} mV)"
            )
        if not cls.v_lo <= self.v_reset:
            raise ParameterError(
                f"v_reset of {self.name} must be >= the lowest tabulated potential v_range[0] = "
                f"{cls.v_lo} mV (got {self.v_reset} mV)"
            )
        _probe(cls, self, f"{self.name}{self._changed()}")

    def _changed(self) -> str:
        diff = {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != f.default}
        return "(" + ", ".join(f"{k}={v:g}" for k, v in diff.items()) + ")" if diff else "()"

    @classmethod
    def from_dict(cls, params: dict[str, Any]):
        _ensure_dataclass(cls)
        return super().from_dict(params)

    @property
    def v_init(self) -> float:
        """Potential of new neurons (mV): ``v_rest`` if the model has it, else ``v_reset``."""
        return float(getattr(self, "v_rest", self.v_reset))

    def dv_dt_all(self, v, s1, s2=None):
        """``dv_dt`` with the synaptic variables in receptor order (excitatory, inhibitory)."""
        kw = {type(self).syn_names[0]: s1}
        if len(type(self).syn_names) > 1:
            kw[type(self).syn_names[1]] = s2
        return self.dv_dt(v, **kw)

    @classmethod
    def equations_source(cls) -> str:
        """Source of ``dv_dt`` (what a table file records as its equations)."""
        return _source(cls.dv_dt)

    @classmethod
    def declaration_hash(cls) -> str:
        """Hash of the whole class source (equations and the helpers they may use)."""
        parts = []
        for klass in cls.__mro__:
            if klass in (EquationModel, Model, object):
                break
            try:
                parts.append(inspect.getsource(klass))
            except (OSError, TypeError):
                parts.append(_source(klass.__dict__.get("dv_dt", lambda: None)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        if code is None:
            return repr(fn)
        return f"<no source: bytecode {code.co_code.hex()} consts {code.co_consts!r} names {code.co_names!r}>"


def _fail(cls, problem: str) -> None:
    raise ParameterError(f"neuron model {cls.__name__}: {problem}")


def _parameters(cls) -> dict[str, Any]:
    """Annotated, non-ClassVar names of the class and its bases, with their defaults."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass in (EquationModel, Model, object):
            continue
        for name, ann in klass.__dict__.get("__annotations__", {}).items():
            if _is_classvar(ann) or name.startswith("_"):
                continue
            if not hasattr(cls, name):
                _fail(cls, f"parameter {name} has no default value; every parameter needs one")
            out[name] = getattr(cls, name)
    return out


def _declare(cls) -> None:
    """Validate a model declaration and derive what the engine needs from it."""
    cls.name = cls.__dict__.get("name", cls.__name__)
    params = _parameters(cls)
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(cls, f"the default of parameter {name} must be a finite number (got {value!r})")
    for name in REQUIRED:
        if name not in params:
            _fail(cls, f"it has no parameter {name}; every model needs {', '.join(REQUIRED)} "
                       f"(parameters are annotated fields with a default, e.g. `{name}: float = ...`)")
    units = cls.units
    if not isinstance(units, dict):
        _fail(cls, f"units must be a dict of parameter name -> unit string (got {units!r})")
    missing = [p for p in params if not (isinstance(units.get(p), str) and units.get(p))]
    if missing:
        _fail(cls, f"parameter(s) {missing} have no unit; give units = {{{missing[0]!r}: '...', ...}} "
                   "for every parameter")
    extra = sorted(set(units) - set(params))
    if extra:
        _fail(cls, f"units names {extra}, which are not parameters; parameters are: {', '.join(params)}")

    # synapses
    syn = cls.synapses
    if not isinstance(syn, dict) or not 1 <= len(syn) <= 2:
        _fail(cls, "synapses must map 'excitatory' (and optionally 'inhibitory') to "
                   "(variable, tau parameter, unit)")
    bad = sorted(set(syn) - set(RECEPTORS))
    if bad:
        _fail(cls, f"unknown receptor type(s) {bad} in synapses; valid: {', '.join(RECEPTORS)}")
    if "excitatory" not in syn:
        _fail(cls, "a model with one synapse must declare it as 'excitatory' (its weights may "
                   "have either sign)")
    names, taus = [], []
    for receptor in RECEPTORS:
        if receptor not in syn:
            continue
        entry = syn[receptor]
        if not (isinstance(entry, tuple) and len(entry) == 3 and all(isinstance(x, str) for x in entry)):
            _fail(cls, f"synapses[{receptor!r}] must be a tuple (variable, tau parameter, unit) of "
                       f"strings (got {entry!r})")
        var, tau, unit = entry
        if not var.isidentifier() or var == "v" or var in params:
            _fail(cls, f"synaptic variable {var!r} ({receptor}) must be a new identifier, not 'v' "
                       "or a parameter name")
        if tau not in params:
            _fail(cls, f"the decay time constant of synapse {receptor!r} is parameter {tau!r}, which "
                       f"does not exist; parameters are: {', '.join(params)}")
        if not params[tau] > 0:
            _fail(cls, f"the default of {tau} (decay of {var}) must be > 0 ms (got {params[tau]})")
        if units[tau] != "ms":
            _fail(cls, f"{tau} is a time constant: its unit must be 'ms' (got {units[tau]!r})")
        names.append(var)
        taus.append(tau)
    if len(set(names)) != len(names):
        _fail(cls, f"the synaptic variables {names} must be distinct")
    for p, u in (("v_thresh", "mV"), ("v_reset", "mV"), ("tau_refrac", "ms")):
        if units[p] != u:
            _fail(cls, f"{p} must be in {u} (got unit {units[p]!r})")

    # ranges
    vr = cls.v_range
    if isinstance(vr, (int, float)) and not isinstance(vr, bool):
        vr = (vr, None)
    if not (isinstance(vr, tuple) and 1 <= len(vr) <= 2 and isinstance(vr[0], (int, float))
            and not isinstance(vr[0], bool) and math.isfinite(vr[0])):
        _fail(cls, f"v_range must be (lowest tabulated potential in mV, None) (got {cls.v_range!r})")
    if len(vr) == 2 and vr[1] is not None:
        _fail(cls, f"v_range's upper end is always v_thresh: write v_range = ({vr[0]}, None)")
    v_lo = float(vr[0])
    if not v_lo <= params["v_reset"] < params["v_thresh"]:
        _fail(cls, f"defaults must satisfy v_range[0] <= v_reset < v_thresh (got {v_lo}, "
                   f"{params['v_reset']}, {params['v_thresh']} mV)")
    if not params["tau_refrac"] >= 0:
        _fail(cls, f"the default of tau_refrac must be >= 0 ms (got {params['tau_refrac']})")
    sr = cls.syn_range
    if not isinstance(sr, dict) or set(sr) != set(names):
        _fail(cls, f"syn_range must give (low, high) for exactly the synaptic variables {names} "
                   f"(got {sr!r})")
    ranges = []
    for var in names:
        r = sr[var]
        ok = (isinstance(r, tuple) and len(r) == 2
              and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                      for x in r))
        if not ok or not (r[0] <= 0.0 <= r[1] and r[0] < r[1]):
            _fail(cls, f"syn_range[{var!r}] must be finite (low, high) with low <= 0 <= high and "
                       f"low < high: synaptic variables decay to 0 (got {r!r})")
        ranges.append((float(r[0]), float(r[1])))
    tol = cls.tolerance
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 1e-4 <= tol <= 1.0:
        _fail(cls, f"tolerance must be a mean spike-time error in [1e-4, 1] ms (got {tol!r})")

    # the equation
    fn = cls.__dict__.get("dv_dt") or next(
        (k.__dict__["dv_dt"] for k in cls.__mro__[1:] if k is not EquationModel and "dv_dt" in k.__dict__),
        None)
    if fn is None or not callable(fn):
        _fail(cls, f"it has no method dv_dt; define `def dv_dt(self, v, {', '.join(names)})` "
                   "returning dv/dt in mV/ms, vectorised over numpy arrays")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        _fail(cls, "dv_dt must be a plain method")
    plist = list(sig.parameters.values())
    got = [p.name for p in plist]
    kinds_ok = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in plist)
    if not (kinds_ok and len(got) >= 2 and got[1] == "v" and sorted(got[2:]) == sorted(names)):
        _fail(cls, f"dv_dt must have the signature dv_dt(self, v, {', '.join(names)}) (the synaptic "
                   f"variables of `synapses`); got dv_dt({', '.join(got)})")

    cls.syn_names = tuple(names)
    cls.syn_taus = tuple(taus)
    cls.syn_bounds = tuple(ranges)
    cls.v_lo = v_lo
    cls.receptor_types = tuple(r for r in RECEPTORS if r in syn)
    sv = {"v": "mV"}
    for receptor in cls.receptor_types:
        sv[syn[receptor][0]] = syn[receptor][2]
    cls.state_variables = sv
    syn_units = {syn[r][2] for r in cls.receptor_types}
    cls.weight_unit = syn_units.pop() if len(syn_units) == 1 else "synaptic variable units"
    signs = []
    for lo, hi in ranges:
        signs.append("+" if lo >= 0 else "-" if hi <= 0 else "?")
    if all(s == "+" for s in signs):
        cls.weight_sign = "conductance"
    elif signs[0] == "+" and (len(signs) == 1 or signs[1] == "-"):
        cls.weight_sign = "current"
    else:
        cls.weight_sign = "any"
    for attr, base in (("positive", tuple(taus)), ("non_negative", ("tau_refrac",))):
        declared = tuple(cls.__dict__.get(attr, ()))
        unknown = [p for p in declared if p not in params]
        if unknown:
            _fail(cls, f"{attr} names {unknown}, which are not parameters")
        setattr(cls, attr, tuple(dict.fromkeys(declared + base)))

    probe = object.__new__(cls)
    for name, value in params.items():
        object.__setattr__(probe, name, float(value))
    _probe(cls, probe, cls.__name__ + " (defaults)")


def _probe(cls, model, label: str) -> None:
    """dv_dt on a grid spanning v_range x syn_range: right shape, finite, numeric."""
    v = np.linspace(cls.v_lo, model.v_thresh, PROBE_V)
    axes = [np.linspace(lo, hi, PROBE_S) for lo, hi in cls.syn_bounds]
    grids = np.meshgrid(v, *axes, indexing="ij")
    kw = dict(zip(cls.syn_names, grids[1:]))
    try:
        with np.errstate(all="ignore"):
            out = model.dv_dt(grids[0], **kw)
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported the same way
        raise ParameterError(
            f"neuron model {label}: dv_dt failed on a probe grid of numpy arrays spanning v_range and "
            f"syn_range ({type(exc).__name__}: {exc}); it must be vectorised over numpy arrays"
        ) from exc
    shape = grids[0].shape
    arr = np.asarray(out)
    if arr.shape != shape:
        raise ParameterError(
            f"neuron model {label}: dv_dt returned shape {arr.shape} for inputs of shape {shape}; "
            "it must return one value per element (vectorised, same shape as v)"
        )
    if arr.dtype.kind not in "fiu":
        raise ParameterError(f"neuron model {label}: dv_dt must return real numbers (got dtype {arr.dtype})")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i[0]) for i in np.nonzero(bad))
        where = ", ".join([f"v={grids[0][idx]:g} mV"] +
                          [f"{n}={g[idx]:g}" for n, g in zip(cls.syn_names, grids[1:])])
        raise ParameterError(
            f"neuron model {label}: dv_dt is not finite ({arr[idx]}) at {where}, inside the "
            "tabulated range v_range x syn_range; narrow the ranges or fix the equation"
        )


__all__ = ["EquationModel"]
