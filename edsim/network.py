"""Networks: populations, spike sources, projections, recording and running.

A :class:`Network` owns one C simulation. There is no global network: two networks coexist and
know nothing of each other. Everything is validated here first, so that errors name the
population, projection and parameter; the C core validates again for memory safety.

Example
-------
>>> import edsim
>>> net = edsim.Network(seed=1)
>>> exc = net.population(100, edsim.IF_cond_exp(cm=0.2, v_rest=-60.0), name="exc")
>>> drive = net.source(edsim.Poisson(rate=50.0), n=20, name="drive")
>>> proj = net.connect(drive, exc, edsim.FixedProbability(0.5), weight=0.01, delay=0.5)
>>> rec = net.record(exc)
>>> net.run(100.0)
>>> rec.spikes.t.dtype
dtype('float64')
"""

from __future__ import annotations

import logging
import math
import sys
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from edsim import _engine
from edsim.errors import ConnectionError_, ParameterError, StateError
from edsim.models import Model
from edsim.recording import Recorder

log = logging.getLogger("edsim.network")


MAX_POISSON_RATE = 1e6  # Hz; EDS_MAX_POISSON_RATE in csrc/edsim.h

# ---- sources -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Poisson:
    """Independent Poisson spike trains (PyNN ``SpikeSourcePoisson``).

    Parameters
    ----------
    rate : float
        Mean firing rate (Hz), in [0, 1e6].
    start : float
        Time of the window's start (ms).
    duration : float
        Length of the window (ms); infinite by default.
    """

    rate: float
    start: float = 0.0
    duration: float = math.inf

    def __post_init__(self):
        if not (math.isfinite(self.rate) and 0 <= self.rate <= MAX_POISSON_RATE):
            raise ParameterError(
                f"Poisson rate must be in [0, {MAX_POISSON_RATE:g}] Hz (got {self.rate})"
            )
        if not (math.isfinite(self.start) and self.start >= 0):
            raise ParameterError(f"Poisson start must be >= 0 ms (got {self.start})")
        if not self.duration >= 0:
            raise ParameterError(f"Poisson duration must be >= 0 ms (got {self.duration})")


@dataclass(frozen=True)
class SpikeTimes:
    """Given spike times (PyNN ``SpikeSourceArray``).

    Parameters
    ----------
    spike_times : array-like or sequence of array-likes
        One array of times (ms) shared by every source, or one array per source.
    """

    spike_times: Any = ()


SpikeSourcePoisson = Poisson
SpikeSourceArray = SpikeTimes


# ---- cells ---------------------------------------------------------------------------------

class _Cells:
    """Common part of populations and views: a network, global ids, a name."""

    network: "Network"
    name: str
    model: Any

    @property
    def ids(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index) -> "PopulationView":
        local = np.arange(self.size)[index]
        local = np.atleast_1d(local)
        return PopulationView(self, local)

    def _is_neuron(self) -> bool:
        return isinstance(self.model, Model)

    @property
    def dt(self) -> float | None:
        """Step (ms) of a time-driven population; None when event-driven."""
        return getattr(self, "_dt", None)

    def _state_names(self) -> tuple[str, ...]:
        if self.dt is not None:
            return tuple(self.model.clock_state)
        return tuple(self.model.state_variables)

    def _runs(self):
        """Contiguous runs of global ids: (first id, length, slice into self's order)."""
        ids = self.ids
        breaks = np.nonzero(np.diff(ids) != 1)[0] + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [ids.size]])
        for a, b in zip(starts, ends):
            yield int(ids[a]), int(b - a), slice(int(a), int(b))

    def _values(self, name: str, value, unit: str) -> np.ndarray:
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            arr = np.full(self.size, float(arr))
        if arr.shape != (self.size,):
            raise ParameterError(
                f"{name} for '{self.name}' must be a scalar or have length {self.size} "
                f"(got shape {arr.shape})"
            )
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{name} for '{self.name}' must be finite {unit}")
        return arr

    def initialize(self, **values) -> None:
        """Set the state now (PyNN's ``initialize``): scalars or arrays of length ``size``.

        Names are the model's state variables, e.g. ``v`` (mV), ``gsyn_exc`` and ``gsyn_inh``
        (µS) for ``IF_cond_exp``, ``isyn_exc``/``isyn_inh`` (nA) for ``IF_curr_exp``; a
        time-driven population takes every variable of its model's ``clock_state``.
        """
        if not self._is_neuron():
            raise ParameterError(f"'{self.name}' is a source; only neurons have a state")
        names = self._state_names()
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ParameterError(
                f"unknown state variable(s) {unknown} for '{self.name}' ({self.model.name}); "
                f"valid names are: {', '.join(names)}"
            )
        state = self.state()
        for name, value in values.items():
            state[name] = self._values(name, value, "")
        if self.dt is not None:
            x = np.stack([state[n] for n in names], axis=1)
            for first, n, sl in self._runs():
                self.network._sim.set_clock_state(first, x[sl])
            return
        cols = [state[n] for n in names] + [np.zeros(self.size)] * (3 - len(names))
        if self.model.weight_sign == "conductance":
            for name, g in zip(names[1:], cols[1:]):
                if np.any(g < 0):
                    raise ParameterError(
                        f"{name} for '{self.name}' must be >= 0 uS (got {g[g < 0][0]})"
                    )
        for first, n, sl in self._runs():
            self.network._sim.set_state(first, cols[0][sl], cols[1][sl], cols[2][sl])

    def state(self) -> dict[str, np.ndarray]:
        """The state now, one array per state variable (units: the model's ``state_variables``).

        A time-driven population reports the state at its latest step boundary.
        """
        if not self._is_neuron():
            raise ParameterError(f"'{self.name}' is a source; only neurons have a state")
        names = self._state_names()
        if self.dt is not None:
            x = np.empty((self.size, len(names)))
            for first, n, sl in self._runs():
                x[sl] = self.network._sim.get_clock_state(first, n, len(names))
            return {name: x[:, k] for k, name in enumerate(names)}
        out = np.empty((3, self.size))
        for first, n, sl in self._runs():
            out[0, sl], out[1, sl], out[2, sl] = self.network._sim.get_state(first, n)
        return {name: out[k] for k, name in enumerate(names)}

    def set(self, **parameters) -> None:
        """Change neuron parameters now, between steps (PyNN's ``set``).

        Names and units are the model's (e.g. ``v_thresh`` mV, ``tau_refrac`` ms, ``i_offset``
        nA); values are validated as the model's constructor validates them. Parameters are one
        value per population in edsim: pass a scalar, or an array of length ``size`` whose
        values are all equal, on a population or a view covering all of it. The change acts
        from now on: neurons are first brought to now under the old values (their state is exact,
        nothing is lost), then fire as the new values say; a neuron refractory now keeps the end
        of its refractory period. Supported: every parameter of ``IF_curr_exp``,
        ``IF_curr_delta`` and of time-driven populations (from the step under way); for
        ``IF_cond_exp``, ``v_reset`` and ``tau_refrac`` at once, any other parameter by
        switching the population to the table of the new values (found in the table cache, or
        generated there first, which takes seconds); for models declared with
        ``edsim.EquationModel``, ``v_reset`` and ``tau_refrac``.

        Examples
        --------
        >>> import edsim
        >>> net = edsim.Network()
        >>> pop = net.population(10, edsim.IF_curr_exp(), name="pop")
        >>> pop.set(v_thresh=-52.0, i_offset=0.5)
        >>> pop.model.v_thresh
        -52.0
        """
        from edsim import control

        control.set_parameters(self, parameters)


class Population(_Cells):
    """``size`` neurons (or sources) of one model, with contiguous global ids."""

    def __init__(self, network: "Network", first: int, n: int, model, name: str):
        self.network = network
        self.first = first
        self._n = n
        self.model = model
        self.name = name

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.first, self.first + self._n)

    @property
    def size(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"Population({self._n}, {type(self.model).__name__}, name={self.name!r})"


class PopulationView(_Cells):
    """A subset of a population, selected by indexing it (``pop[:10]``, ``pop[[1, 5]]``)."""

    def __init__(self, parent: _Cells, local: np.ndarray):
        self.parent = parent
        self.network = parent.network
        self._dt = parent.dt
        self._ids = parent.ids[local]
        self.name = f"{parent.name}[view of {local.size}]"

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    @property
    def model(self):
        """The model of the population viewed (its parameters as last set)."""
        return self.parent.model


@dataclass
class Projection:
    """Synapses made by :meth:`Network.connect`.

    The synapses live in the C core. With ``Network(keep_connectivity=True)`` (or
    ``connect(..., keep_connectivity=True)``) the projection also keeps its edges, so the identical
    network can be exported (e.g. to NEST or Brian2): ``pre_index``/``post_index``
    (population-local), ``weight`` (model unit) and ``delay`` (ms); and its weights can be read
    and changed between steps (:meth:`get_weights`, :meth:`set_weights`).
    """

    name: str
    pre: _Cells
    post: _Cells
    receptor_type: str
    n_connections: int
    connector: Any = field(repr=False)
    pre_index: np.ndarray | None = field(default=None, repr=False)
    post_index: np.ndarray | None = field(default=None, repr=False)
    weight: np.ndarray | None = field(default=None, repr=False)
    delay: np.ndarray | None = field(default=None, repr=False)
    network: Any = field(default=None, repr=False, compare=False)
    _track: int | None = field(default=None, repr=False, compare=False)  # core weights handle
    _pairs: Any = field(default=None, repr=False, compare=False)  # (pre, post) lookup, built lazily

    def get_weights(self, edges=None, pre=None, post=None) -> np.ndarray:
        """Current weights (model unit: µS, nA or mV), float64 of the float32 the core stores.

        All of them in edge order (that of ``pre_index``/``post_index``), or those of ``edges``
        (edge indices), or of the connections ``pre[k] -> post[k]`` (population-local indices;
        each pair must have exactly one synapse). Needs a projection that keeps its connectivity.
        """
        from edsim import control

        return control.get_weights(self, edges, pre, post)

    def set_weights(self, values, edges=None, pre=None, post=None) -> None:
        """Change weights now: all in edge order, or those of ``edges``, or of ``pre -> post``.

        ``values`` (model unit) is a scalar or one value per selected synapse; the sign rules of
        :meth:`Network.connect` apply. The change acts on every delivery processed after the
        call, including spikes already emitted and still in flight; deliveries before it keep
        the old weights. Needs ``net.connect(..., keep_connectivity=True)`` or
        ``Network(keep_connectivity=True)``.

        Examples
        --------
        >>> import edsim
        >>> net = edsim.Network()
        >>> a = net.source(edsim.SpikeTimes([1.0]), n=2, name="a")
        >>> b = net.population(3, edsim.IF_curr_exp(), name="b")
        >>> proj = net.connect(a, b, edsim.AllToAll(), weight=0.5, keep_connectivity=True)
        >>> proj.set_weights(0.8, pre=[1], post=[2])
        >>> proj.get_weights(pre=[0, 1], post=[2, 2]).tolist()
        [0.5, 0.800000011920929]
        """
        from edsim import control

        control.set_weights(self, values, edges, pre, post)


_RECEPTORS = {"excitatory": 0, "inhibitory": 1}

#: Longest slice of biological time (ms) one call into the core simulates: Ctrl-C and recording
#: drains happen between slices.
RUN_SLICE_MS = 100.0

#: A closed-loop step (run_until) moves a sampler's rows out of the core once it holds this many.
SAMPLE_BATCH = 64


# ---- network -------------------------------------------------------------------------------

class Network:
    """A spiking network simulated event by event.

    Parameters
    ----------
    seed : int
        Seeds every random stream (connectivity, Poisson sources). Same seed, same spikes.
    table_dir : str or Path, optional
        Where lookup tables are cached (default: ``$EDSIM_TABLE_DIR`` or ``~/.cache/edsim``).
    keep_connectivity : bool
        Keep every projection's edge arrays in Python (about 24 bytes per synapse more) so the
        network can be exported to other simulators, and its weights readable and changeable
        between steps (8 bytes per synapse more in the core); ``connect`` can decide per projection.
    """

    def __init__(self, seed: int = 0, table_dir=None, keep_connectivity: bool = False):
        if isinstance(seed, bool) or int(seed) != seed or not 0 <= seed < 2**63:
            raise ParameterError(f"seed must be a whole number in [0, 2**63) (got {seed})")
        self.seed = int(seed)
        self.keep_connectivity = bool(keep_connectivity)
        self._sim = _engine.Sim(self.seed)
        self._table_dir = table_dir
        self._luts: dict[Any, _engine.CondLUT] = {}
        self.populations: list[Population] = []
        self.projections: list[Projection] = []
        self._recorders: list[Recorder] = []
        self._samplers: list[tuple[int, Recorder]] = []
        # spikes drained from the core, not yet taken by every recorder: (t, ids) chunks; chunk k
        # of the log is self._spike_log[k - self._log_base], recorder r has taken those < r._log_pos
        self._spike_log: list[tuple[np.ndarray, np.ndarray]] = []
        self._log_base = 0
        self._owner: dict[str, Population] = {}
        self._ran = False
        self._n_staged = 0  # synapses handed to the core, in order (their staging indices)
        self.build_seconds = 0.0
        self.run_seconds = 0.0

    # -- building --------------------------------------------------------------------------
    def _check_building(self, what: str) -> None:
        if self._ran:
            raise StateError(
                f"cannot add {what}: the network's structure is frozen by its first run"
            )

    def _unique_name(self, name: str | None, default: str) -> str:
        name = name or f"{default}{len(self.populations)}"
        if name in self._owner:
            raise ParameterError(f"a population named '{name}' already exists in this network")
        return name

    def _lut(self, model, table) -> _engine.CondLUT:
        from edsim import tables

        spec = table or tables.TableSpec()
        key = (model, spec)
        if key not in self._luts:
            t0 = time.perf_counter()
            tab = tables.cond_table(model, spec, self._table_dir)
            self._luts[key] = _engine.CondLUT(tab.parameters, tab.axes(), tab.q, tab.reach,
                                              tab.reach_margin)
            self._luts[key].table = tab
            self.build_seconds += time.perf_counter() - t0
        return self._luts[key]

    def _gen_lut(self, model, table) -> _engine.GenLUT:
        from edsim.tables import generic

        spec = table or generic.GenericSpec()
        if not isinstance(spec, generic.GenericSpec):
            raise ParameterError(f"table of a {model.name} population must be an "
                                 f"edsim.tables.generic.GenericSpec (got {spec!r})")
        key = (model, spec)
        if key not in self._luts:
            t0 = time.perf_counter()
            self._luts[key] = _engine.GenLUT(generic.generic_table(model, spec, self._table_dir))
            self.build_seconds += time.perf_counter() - t0
        return self._luts[key]

    def population(self, n: int, model, name: str | None = None, table=None,
                   dt: float | None = None) -> Population:
        """Add ``n`` neurons of ``model``.

        Parameters
        ----------
        n : int
            Number of neurons.
        model : edsim model instance
            ``IF_cond_exp`` (lookup tables), ``IF_curr_exp``, ``IF_curr_delta`` (closed form),
            a model declared with ``edsim.EquationModel`` (lookup tables generated from its
            equations), or a time-driven model; all neurons of a population share its parameters.
        name : str, optional
            Used in error messages and recordings.
        table : edsim.tables.TableSpec or edsim.tables.generic.GenericSpec, optional
            How a table-driven model's lookup table is built (range and resolution); a
            ``GenericSpec`` for models declared with ``edsim.EquationModel``.
        dt : float, optional
            Integration step (ms). Given, the model runs time-driven (clock-driven) at that step;
            time-driven-only models default to their ``default_dt``.
        """
        self._check_building("a population")
        n = _count(n, "population size")
        if isinstance(model, type):
            raise ParameterError(f"model must be an instance, e.g. {model.__name__}() (got the class)")
        if not isinstance(model, Model):
            from edsim.models import all_models

            raise ParameterError(
                f"unsupported model {type(model).__name__}; available: {', '.join(all_models())}"
            )
        name = self._unique_name(name, "population")
        if dt is not None or model.engine == "clock":
            if model.clock_model is None:
                raise ParameterError(f"{model.name} has no time-driven implementation; omit dt")
            dt = model.default_dt if dt is None else dt
            if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not (math.isfinite(dt) and dt > 0):
                raise ParameterError(f"dt of population '{name}' must be > 0 ms (got {dt!r})")
            first = self._sim.add_clock(model.clock_model, n, float(dt), model.clock_params())
        elif model.engine == "table":
            first = self._sim.add_cond_exp(self._lut(model, table), n)
        elif model.engine == "generic":
            first = self._sim.add_gen(self._gen_lut(model, table), n)
        else:
            first = self._sim.add_exact(
                "curr_exp" if model.name == "IF_curr_exp" else "curr_delta", model.parameters(), n
            )
        pop = Population(self, first, n, model, name)
        pop._dt = None if dt is None else float(dt)
        pop._table = table  # how its lookup table was built (pop.set may need another)
        self.populations.append(pop)
        self._owner[name] = pop
        return pop

    def source(self, kind, n: int = 1, name: str | None = None) -> Population:
        """Add ``n`` spike sources: :class:`Poisson` or :class:`SpikeTimes`."""
        self._check_building("a source")
        n = _count(n, "source count")
        name = self._unique_name(name, "source")
        if isinstance(kind, Poisson):
            stop = kind.start + kind.duration
            first = self._sim.add_poisson(n, kind.rate, kind.start, stop)
        elif isinstance(kind, SpikeTimes):
            trains = _spike_trains(kind.spike_times, n, name)
            first = self._sim.add_spike_source(n)
            for k, train in enumerate(trains):
                if train.size:
                    self._sim.add_spike_times(first + k, train)
        else:
            raise ParameterError(
                f"unknown source {kind!r} for '{name}'; use edsim.Poisson(rate) or edsim.SpikeTimes(times)"
            )
        pop = Population(self, first, n, kind, name)
        self.populations.append(pop)
        self._owner[name] = pop
        return pop

    def inject(self, source: _Cells, times: Sequence, index=0) -> None:
        """Add spikes to ``SpikeTimes`` sources, at ``times`` (ms, each >= now).

        ``index`` is the (population-local) source receiving all of ``times``, or an integer
        array as long as ``times`` giving each spike's source: one call for many sources. Spikes
        are staged and handed to the core at the next ``run``/``run_until``, in an order that
        does not depend on how they were split into calls: injecting before each step the spikes
        falling inside it gives, bit for bit, the spikes of one run with all of them given up
        front (also when injecting further ahead, unless two sources spike at exactly the same
        time). Every index and time is checked before any is staged.

        Examples
        --------
        >>> import edsim, numpy as np
        >>> net = edsim.Network()
        >>> sensors = net.source(edsim.SpikeTimes(), n=4, name="sensors")
        >>> net.inject(sensors, [1.0, 2.5], index=3)
        >>> net.inject(sensors, np.array([0.5, 0.5, 0.7]), index=np.array([0, 2, 0]))
        """
        if not isinstance(source, _Cells) or source.network is not self:
            self._own(source, "source")
        if not isinstance(source.model, SpikeTimes):
            raise ParameterError(f"'{source.name}' is not a SpikeTimes source; only those take "
                                 "injected spikes")
        try:
            t = np.asarray(times, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ParameterError(f"spike times for '{source.name}' must be numbers in ms "
                                 f"(got {times!r})") from None
        size = source.size
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            k = int(index)
            if not 0 <= k < size:
                raise ParameterError(f"index {k} is out of range for '{source.name}' "
                                     f"({size} sources: 0..{size - 1})")
            gid = source.first + k if isinstance(source, Population) else int(source.ids[k])
            ids = np.full(t.size, gid, np.uint32)
        else:
            idx = np.asarray(index)
            if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.dtype == bool:
                raise ParameterError(
                    f"index for '{source.name}' must be an int or a 1-D integer array "
                    f"(got {index!r})")
            if idx.size != t.size:
                raise ParameterError(
                    f"index for '{source.name}' must have one entry per spike time ({t.size}) "
                    f"(got {idx.size})")
            if idx.size and (idx.min() < 0 or idx.max() >= size):
                bad = idx[(idx < 0) | (idx >= size)][0]
                raise ParameterError(f"index {bad} is out of range for '{source.name}' "
                                     f"({size} sources: 0..{size - 1})")
            ids = (source.first + idx if isinstance(source, Population)
                   else source.ids[idx]).astype(np.uint32)
        if not t.size:
            return
        now = self._sim.now
        if not (t.min() >= now and t.max() < math.inf):  # also catches NaN
            if not np.all(np.isfinite(t)):
                raise ParameterError(f"spike times for '{source.name}' must be finite "
                                     f"(got {t[~np.isfinite(t)][0]})")
            raise ParameterError(
                f"spike times for '{source.name}' must be >= now = {now} ms (got {t.min()}); "
                "the past cannot be changed")
        self._sim.inject(ids, t)

    def _own(self, cells: _Cells, role: str) -> None:
        if not isinstance(cells, _Cells):
            raise ConnectionError_(f"{role} must be a population or view (got {cells!r})")
        if cells.network is not self:
            raise ConnectionError_(
                f"{role} '{cells.name}' belongs to another network; populations cannot be "
                "connected across networks"
            )

    def connect(self, pre: _Cells, post: _Cells, connector, weight=0.0, delay=0.1,
                receptor_type: str = "excitatory", name: str | None = None,
                keep_connectivity: bool | None = None) -> Projection:
        """Connect ``pre`` to ``post`` with a connection rule.

        Parameters
        ----------
        pre, post : Population or PopulationView
            Source and target cells of this network; ``post`` must be neurons.
        connector : AllToAll, OneToOne, FixedProbability, FixedInDegree or FromList
            The connection rule.
        weight : float or array
            Conductance jump (µS), >= 0; scalar or one per connection.
        delay : float or array
            Transmission delay (ms), > 0; scalar or one per connection.
        receptor_type : {"excitatory", "inhibitory"}
            Which conductance the synapses increase.
        name : str, optional
            Used in error messages.
        keep_connectivity : bool, optional
            Keep this projection's edges and make its weights readable and changeable between
            steps (:meth:`Projection.set_weights`); default: the network's setting.
        """
        self._check_building("a projection")
        self._own(pre, "pre")
        self._own(post, "post")
        name = name or f"{pre.name}->{post.name}"
        if not post._is_neuron():
            raise ConnectionError_(f"post '{post.name}' of projection '{name}' is a source; "
                                   "sources receive no synapses")
        if receptor_type not in _RECEPTORS:
            raise ParameterError(
                f"receptor_type {receptor_type!r} of projection '{name}' is unknown; valid: "
                f"{', '.join(_RECEPTORS)}"
            )
        valid = getattr(post.model, "receptor_types", tuple(_RECEPTORS))
        if receptor_type not in valid:
            raise ParameterError(
                f"{post.model.name} (post of projection '{name}') has no {receptor_type} synapse; "
                f"its receptor types are: {', '.join(valid)}"
            )
        if not hasattr(connector, "edges"):
            raise ParameterError(f"connector of projection '{name}' must be a connection rule "
                                 f"such as edsim.FixedProbability(0.1) (got {connector!r})")
        t0 = time.perf_counter()
        index = len(self.projections)
        rng = np.random.Generator(np.random.Philox(key=[self.seed, (1 << 32) | index]))
        same = isinstance(pre, Population) and pre is post
        edges = connector.edges(pre.size, post.size, rng, same)
        n = int(edges.pre.size)
        w = _per_edge(edges.weight if edges.weight is not None else weight, n, "weight", name)
        d = _per_edge(edges.delay if edges.delay is not None else delay, n, "delay", name)
        if np.any(~np.isfinite(w)):
            raise ParameterError(f"weight must be finite (got {w[~np.isfinite(w)][0]} in projection '{name}')")
        _check_weight_signs(w, post.model, receptor_type, name)
        if np.any(~(d > 0)) or np.any(~np.isfinite(d)):
            bad = d[~(np.isfinite(d) & (d > 0))][0]
            raise ParameterError(f"delay must be > 0 ms (got {bad} in projection '{name}')")
        if pre.dt is not None and np.any(d < pre.dt):
            raise ParameterError(
                f"delay must be >= dt = {pre.dt} ms from time-driven population '{pre.name}' "
                f"(got {d[d < pre.dt][0]} in projection '{name}'): its spikes are found at the "
                "end of each step"
            )
        if n:
            self._sim.add_synapses(pre.ids[edges.pre], post.ids[edges.post], w, d,
                                   np.full(n, _RECEPTORS[receptor_type], np.uint8))
        proj = Projection(name, pre, post, receptor_type, n, connector, network=self)
        if self.keep_connectivity if keep_connectivity is None else keep_connectivity:
            proj.pre_index = edges.pre.astype(np.int64)
            proj.post_index = edges.post.astype(np.int64)
            proj.weight = w.astype(np.float32)  # as the core stores it
            proj.delay = d
            proj._track = self._sim.track_synapses(self._n_staged, n)
        self._n_staged += n
        self.projections.append(proj)
        self.build_seconds += time.perf_counter() - t0
        return proj

    # -- recording -------------------------------------------------------------------------
    def record(self, cells: _Cells, spikes: bool = True, v: float | None = None) -> Recorder:
        """Record spikes of ``cells`` and, if ``v`` is given, sample their state every ``v`` ms.

        Sampling records ``v`` (mV), ``gsyn_exc`` and ``gsyn_inh`` (µS) from now on; it does not
        change the simulation.
        """
        self._own(cells, "recorded cells")
        rec = Recorder(cells.name, cells.size, type(cells.model).__name__, cells.ids.copy(),
                       parameters=_params_of(cells.model),
                       variables=_sampled_variables(cells.model))
        rec._spikes_on = bool(spikes)
        if spikes:
            try:
                for first, n, _ in cells._runs():
                    self._sim.record_spikes(first, n)
            except StateError:
                if not isinstance(cells.model, Poisson):
                    raise
                raise StateError(
                    f"cannot record '{cells.name}': since the first run its Poisson spikes are "
                    "drawn inside the IF_curr_delta cells it drives (one synapse each) and never "
                    "exist as events; record it before the first run or prepare(), which keeps it "
                    "unfused") from None
        if v is not None:
            if not cells._is_neuron():
                raise ParameterError(f"'{cells.name}' is a source; only neurons have a state to sample")
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ParameterError(f"sampling interval must be > 0 ms (got {v!r} for '{cells.name}')")
            rec.sample_interval = float(v)
            sampler = self._sim.add_sampler(cells.ids, self.t, float(v))
            self._samplers.append((sampler, rec))
        rec._log_pos = self._log_base + len(self._spike_log)
        rec._source = weakref.ref(self)
        self._recorders.append(rec)
        return rec

    # -- running ---------------------------------------------------------------------------
    @property
    def t(self) -> float:
        """Current simulation time (ms)."""
        return self._sim.now

    def prepare(self) -> None:
        """Freeze the network: sort the synapses into delay groups and make the delay lines.

        The first :meth:`run` does it if it was not called; calling it first keeps that work out
        of the run's timing (as NEST's ``Prepare``): it counts in ``build_seconds``. After it,
        populations, sources and connections can no longer be added. Idempotent.
        """
        self._ran = True
        t0 = time.perf_counter()
        self._sim.prepare()
        self.build_seconds += time.perf_counter() - t0

    def run(self, duration: float, progress: bool = False) -> None:
        """Advance the simulation by ``duration`` ms; may be called again to continue.

        Events at exactly the end time are processed by the next call, so ``run(a); run(b)``
        gives the same spikes as ``run(a + b)``. The core runs in slices of at most
        ``RUN_SLICE_MS`` of biological time, so Ctrl-C interrupts a long run between slices and
        recordings are drained as it goes.

        Parameters
        ----------
        duration : float
            Biological time to simulate (ms), >= 0.
        progress : bool
            Show a progress line on stderr.
        """
        if isinstance(duration, bool) or not isinstance(duration, (int, float, np.floating, np.integer)):
            raise ParameterError(f"duration must be a number of ms (got {duration!r})")
        if not (math.isfinite(duration) and duration >= 0):
            raise ParameterError(f"duration must be finite and >= 0 ms (got {duration})")
        if not self._ran:
            self.prepare()
        start, end = self.t, self.t + float(duration)
        fallback_before = self._sim.stats()["n_fallback"]
        t0 = time.perf_counter()
        steps = max(1, math.ceil(duration / RUN_SLICE_MS), 50 if progress else 1)
        for k in range(1, steps + 1):
            until = end if k == steps else start + duration * k / steps
            self._sim.run(until)
            self._drain()
            if progress and (k == steps or k % max(1, steps // 50) == 0):
                elapsed = time.perf_counter() - t0
                sys.stderr.write(f"\r  t = {until:9.1f} / {end:.1f} ms  ({elapsed:6.1f} s wall)")
                sys.stderr.flush()
        if progress:
            sys.stderr.write("\n")
        self.run_seconds += time.perf_counter() - t0
        fallback = self._sim.stats()["n_fallback"] - fallback_before
        if fallback:
            log.warning(
                "%d state updates fell outside the lookup tables' ranges and were integrated "
                "numerically (exact but slower); widen the ranges (syn_range and v_range of a "
                "declared model, TableSpec ge_max/gi_max of IF_cond_exp) if this is frequent",
                fallback)

    def run_until(self, t: float) -> None:
        """Advance the simulation to the absolute time ``t`` (ms): the closed-loop step.

        Events before ``t`` are processed; those at ``t`` wait for the next step, so any
        sequence of ``run_until`` calls gives the spikes of one run to the last ``t``. Spikes
        staged by :meth:`inject` are handed to the core first. One call into the core for steps up
        to ``RUN_SLICE_MS``, then the recorded spikes are drained (recorders take theirs when read;
        sampled state leaves the core in batches of ``SAMPLE_BATCH`` rows, or when read); no
        progress line and no table-range warning (``stats()["n_fallback"]`` counts those).

        Parameters
        ----------
        t : float
            Absolute end time (ms), finite and >= ``net.t``.

        Examples
        --------
        >>> import edsim
        >>> net = edsim.Network()
        >>> pop = net.population(2, edsim.IF_curr_exp(i_offset=1.0), name="pop")
        >>> rec = net.record(pop)
        >>> for k in range(1, 21):
        ...     net.run_until(k * 1.0)
        ...     new = rec.new_spikes()
        >>> net.t
        20.0
        """
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)):
            raise ParameterError(f"run_until: t must be a number of ms (got {t!r})")
        now = self._sim.now
        if not (t >= now and math.isfinite(t)):
            raise ParameterError(f"run_until: t must be finite and >= now = {now} ms (got {t}); "
                                 "the simulation cannot go back in time")
        if not self._ran:
            self.prepare()
        t0 = time.perf_counter()
        t = float(t)
        if t - now > RUN_SLICE_MS:  # long steps: interruptible, recordings drained as they go
            n = math.ceil((t - now) / RUN_SLICE_MS)
            for k in range(1, n):
                self._sim.run(now + (t - now) * k / n)
                self._drain()
        self._sim.run(t)
        self._drain(samples=False)
        self.run_seconds += time.perf_counter() - t0

    def _drain(self, samples: bool = True) -> None:
        """Move the core's recorded spikes to the log, and samples to their recorders: all if
        ``samples``, else those of samplers holding SAMPLE_BATCH rows or more (a closed-loop step:
        the core's buffer stays small, so it never grows by a large copy in the middle of a slot).
        Recorders take their spikes from the log when read (:meth:`_route`)."""
        t, ids = self._sim.drain_spikes()
        if t.size:
            self._spike_log.append((t, ids))
        for sampler, rec in self._samplers:
            if samples or self._sim.samples_pending(sampler) >= SAMPLE_BATCH:
                self._pull_samples(sampler, rec)

    def _pull_samples(self, sampler: int, rec: Recorder) -> None:
        got = self._sim.drain_samples(sampler, rec.size)
        if got is not None:
            rec._add_samples(*got)

    @staticmethod
    def _select(rec: Recorder, t: np.ndarray, ids: np.ndarray):
        """The spikes (t, ids: uint32 global) of ``rec``'s neurons, as (t, local index), or None."""
        lo, hi, contiguous = rec._id_range()
        if contiguous:  # one subtraction (wrapping below lo) and one comparison
            local = ids - np.uint32(lo)
            sel = local < rec.size
            return (t[sel], local[sel].astype(np.int64)) if sel.any() else None
        sel = (ids >= lo) & (ids <= hi)
        if not sel.any():
            return None
        gids = ids[sel]
        pos = np.searchsorted(rec.ids, gids) if np.all(np.diff(rec.ids) > 0) else None
        if pos is None:
            order = np.argsort(rec.ids)
            pos = order[np.searchsorted(rec.ids[order], gids)]
        pos = np.minimum(pos, rec.size - 1)
        hit = rec.ids[pos] == gids
        return t[sel][hit], pos[hit]

    def _route(self, rec: Recorder) -> None:
        """Give ``rec`` its spikes from the log chunks it has not taken, and its pending samples."""
        for sampler, r in self._samplers:
            if r is rec:
                self._pull_samples(sampler, rec)
        if not rec._spikes_on:
            return
        end = self._log_base + len(self._spike_log)
        if rec._log_pos == end:
            return
        chunks = self._spike_log[rec._log_pos - self._log_base:]
        rec._log_pos = end
        if len(chunks) == 1:  # a closed-loop step's
            t, ids = chunks[0]
        else:  # one filter for everything a late reader has not taken
            t = np.concatenate([c[0] for c in chunks])
            ids = np.concatenate([c[1] for c in chunks])
        got = self._select(rec, t, ids)
        if got is not None:
            rec._add_spikes(*got)
        # chunks every spike recorder has taken are dropped
        done = min((r._log_pos for r in self._recorders if r._spikes_on), default=end)
        if done > self._log_base:
            del self._spike_log[:done - self._log_base]
            self._log_base = done

    def stats(self) -> dict[str, Any]:
        """Counters of the C core (events, stale events, synaptic events, memory, ...)."""
        s = self._sim.stats()
        s["build_seconds"] = self.build_seconds
        s["run_seconds"] = self.run_seconds
        return s


def _check_weight_signs(w: np.ndarray, model, receptor_type: str, name: str) -> None:
    """PyNN's sign rules: conductances >= 0; currents >= 0 if excitatory, <= 0 if inhibitory."""
    unit = model.weight_unit
    if model.weight_sign == "conductance" and np.any(w < 0):
        raise ParameterError(
            f"weight must be >= 0 {unit} (got {w[w < 0][0]} in projection '{name}'); "
            "use receptor_type='inhibitory' for inhibition"
        )
    if model.weight_sign == "current":
        bad = w < 0 if receptor_type == "excitatory" else w > 0
        if np.any(bad):
            rule = ">= 0" if receptor_type == "excitatory" else "<= 0"
            raise ParameterError(
                f"{receptor_type} weight onto {model.name} must be {rule} {unit} "
                f"(got {w[bad][0]} in projection '{name}'); current-based inhibition is negative"
            )


def _count(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"{what} must be a whole number >= 1 (got {n!r})")
    return int(n)


def _per_edge(value, n: int, what: str, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ParameterError(
            f"{what} of projection '{name}' must be a scalar or have one value per connection "
            f"({n}) (got shape {arr.shape})"
        )
    return arr


def _spike_trains(spec, n: int, name: str) -> list[np.ndarray]:
    if isinstance(spec, np.ndarray) and spec.dtype != object and spec.ndim <= 1:
        trains = [spec] * n
    elif len(spec) and all(np.ndim(x) == 0 for x in spec):
        trains = [np.asarray(spec, float)] * n
    elif len(spec) == 0:
        trains = [np.zeros(0)] * n
    else:
        if len(spec) != n:
            raise ParameterError(
                f"SpikeTimes for '{name}' needs one array per source ({n}) or one shared array "
                f"(got {len(spec)} arrays)"
            )
        trains = [np.asarray(x, float) for x in spec]
    out = []
    for k, t in enumerate(trains):
        t = np.asarray(t, float).ravel()
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ParameterError(f"spike times of source {k} in '{name}' must be finite and >= 0 ms")
        out.append(np.sort(t))
    return out


def _sampled_variables(model) -> dict[str, str]:
    """Names and units of the (up to 3) values a sampler records per neuron."""
    names = getattr(model, "state_variables", {})
    return dict(list(names.items())[:3])


def _params_of(model) -> dict:
    if hasattr(model, "parameters"):
        return model.parameters()
    if isinstance(model, Poisson):
        return {"rate": model.rate, "start": model.start, "duration": model.duration}
    return {}
