"""The benchmark networks, and the file that carries one exactly to another simulator.

Networks (built by edsim with ``keep_connectivity=True``, then exported):

* ``coba``, ``cuba``, ``coba_hh``, ``event_driven_cuba``: Brette et al. (2007) benchmarks 1, 2, 3
  and 4, NEST's variant (``scenarios/brette2007.py``: fixed in-degree 64 + 16 drawn with
  replacement, delay 0.1 ms, initial v uniform, B1 and B3 with NEST's 300 Hz kick onto the first
  50 excitatory neurons between 1 and 51 ms);
* ``brunel``: Brunel (2000), NEST's ``brunel_delta_nest`` variant (``scenarios/brunel.py``),
  ``scale`` shrinking N and the in-degrees;
* ``sweep``: the activity sweep, :func:`build_sweep`: a population without recurrence driven by
  a shared pool of Poisson sources whose rate the benchmark varies.

Stimulus: a Poisson population with a finite window and at most ``EXACT_MAX_SPIKES`` expected
spikes (B1's and B3's kick) is exported as **exact spike trains** (``kind: "spikes"``), drawn by
edsim as its Poisson population draws them (:func:`draw_trains`); every simulator replays the
same trains (edsim ``SpikeTimes``, NEST ``spike_generator``, Brian2 ``SpikeGeneratorGroup``), so
that the kick that ignites the network, or fails to, is the same kick everywhere and seeds
compare one to one. Other seeds draw other trains, the same in every simulator
(:meth:`Exported.spike_trains`). Poisson populations without an end or larger (Brunel's 20 kHz
drive per cell, the sweep's sources) stay Poisson, drawn by each simulator with its own generator.

The exported file (:func:`export`, :func:`load`) is a numpy ``.npz`` holding one JSON header
(``meta``: format, version, populations with model, parameters and units, sources, projections,
duration, seed) and the arrays: the initial state of every neuron population
(``state/<population>/<variable>``), the spike trains of exact stimulus populations for the
network's own seed (``spikes/<population>/t``, ms, and ``/i``, source index, sorted by time), and
every projection's synapses (``proj/<k>/pre``, ``post``:
population-local indices; ``weight`` in the target model's unit, ``delay`` in ms, each either one
value per synapse or a single value shared by all).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import edsim
from edsim.errors import FileFormatError, ParameterError

FORMAT = "edsim-bench-network"
FORMAT_VERSION = 2
#: Version 1 files (before exact stimulus trains) read as they were: every source Poisson.
READABLE_VERSIONS = (1, 2)
#: A Poisson population with a finite window and at most this many expected spikes is exported
#: as exact spike trains.
EXACT_MAX_SPIKES = 1_000_000
SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"

#: Step (ms) of every clock-driven run: NEST's resolution, Brian2's dt, edsim-clock's dt.
DT = 0.1

UNITS = {
    "time": "ms", "v": "mV", "weight": "model unit: uS (IF_cond_exp, HH_cond_exp), "
    "nA (IF_curr_exp), mV (IF_curr_delta)", "delay": "ms", "rate": "Hz",
    "conductance": "uS", "current": "nA", "capacitance": "nF",
}


@dataclass(frozen=True)
class BenchNetwork:
    """One network of the benchmark.

    Parameters
    ----------
    name : str
        ``--networks`` name (the scenario's name where there is one).
    label : str
        Short name in tables (``B1 COBA``).
    variant : str
        Which of the published variants, said in the report.
    duration : float
        Default biological time (ms).
    build : callable
        ``build(seed, scale, **options) -> (Network, {"v_init": {population: (lo, hi)}})``.
    target_ratio : float or None
        Issue 4's bound on edsim RTF / Brian2 C++ standalone RTF.
    quick_scale : float
        Size factor used by ``--quick``.
    """

    name: str
    label: str
    variant: str
    duration: float
    build: Callable[..., tuple]
    target_ratio: float | None = None
    quick_scale: float = 0.25
    options: dict = field(default_factory=dict)


def _scenario(name: str):
    if str(SCENARIOS) not in sys.path:
        sys.path.insert(0, str(SCENARIOS))
    return importlib.import_module(name)


def _brette(name: str):
    def build(seed: int, scale: float = 1.0):
        module = _scenario(name)
        bench = module.BENCHMARK
        net, _ = module.build(seed=seed, scale=scale, keep_connectivity=True)
        lo, hi = bench.v_init or (bench.model.v_reset, bench.model.v_thresh)
        return net, {"v_init": {"exc": (lo, hi), "inh": (lo, hi)}}

    return build


def _brunel(seed: int, scale: float = 1.0):
    module = _scenario("brunel")
    net, _ = module.build(seed=seed, scale=scale, keep_connectivity=True)
    return net, {"v_init": {"exc": (0.0, module.THETA), "inh": (0.0, module.THETA)}}


#: The sweep's population and drive (ms, mV, nF, µS, Hz): the COBA cell of benchmark 1,
#: no recurrence, each neuron receiving SWEEP_K_IN inputs drawn (with replacement) from a pool
#: of SWEEP_N_SOURCES Poisson sources, so the input rate per neuron is SWEEP_K_IN x the source rate.
SWEEP_CELL = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                  tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0, i_offset=0.0)
SWEEP_N, SWEEP_N_SOURCES, SWEEP_K_IN = 4000, 1000, 100
SWEEP_WEIGHT = 0.002   # µS
SWEEP_DELAY = 1.0      # ms
#: Source rates (Hz) of the sweep: 7 points over two orders of magnitude, 0.316-31.6 Hz per
#: source, i.e. 31.6-3160 Hz of input per neuron; the output goes from silence (~0.01 Hz) to
#: ~160 Hz, near the 200 Hz that the 5 ms refractory period allows.
SWEEP_RATES = tuple(float(f"{r:.3g}") for r in np.logspace(-0.5, 1.5, 7))


def build_sweep(seed: int, scale: float = 1.0, source_rate: float = 10.0):
    """The activity-sweep network: ``SWEEP_N`` IF_cond_exp cells driven by shared Poisson sources.

    Parameters
    ----------
    seed : int
        Network seed (connectivity, initial state, Poisson streams).
    scale : float
        Size factor on the number of neurons and of sources (the in-degree stays SWEEP_K_IN).
    source_rate : float
        Rate of each Poisson source (Hz); a neuron receives SWEEP_K_IN x this rate.
    """
    if not scale > 0:
        raise ParameterError(f"sweep scale must be > 0 (got {scale})")
    net = edsim.Network(seed=seed, keep_connectivity=True)
    cell = edsim.IF_cond_exp(**SWEEP_CELL)
    n = max(1, int(round(SWEEP_N * scale)))
    n_src = max(SWEEP_K_IN, int(round(SWEEP_N_SOURCES * scale)))
    pop = net.population(n, cell, name="cells")
    rng = np.random.default_rng(seed)
    pop.initialize(v=rng.uniform(cell.v_reset, cell.v_thresh, n))
    drive = net.source(edsim.Poisson(source_rate), n=n_src, name="drive")
    net.connect(drive, pop, edsim.FixedInDegree(SWEEP_K_IN, with_replacement=True),
                weight=SWEEP_WEIGHT, delay=SWEEP_DELAY)
    return net, {"v_init": {"cells": (cell.v_reset, cell.v_thresh)},
                 "input_rate_hz": source_rate * SWEEP_K_IN, "source_rate_hz": source_rate}


NETWORKS: dict[str, BenchNetwork] = {n.name: n for n in (
    BenchNetwork("coba", "B1 COBA", "Brette et al. 2007 benchmark 1, NEST variant (fixed "
                 "in-degree 64+16, delay 0.1 ms, 300 Hz kick 1-51 ms, the same trains in every "
                 "simulator)", 1000.0, _brette("coba"), 0.7),
    BenchNetwork("cuba", "B2 CUBA", "benchmark 2, NEST variant, published -90 pA inhibition",
                 1000.0, _brette("cuba"), 0.5),
    BenchNetwork("coba_hh", "B3 COBA-HH", "benchmark 3 (Traub-Miles HH), NEST variant with "
                 "kick (the same trains in every simulator), time-driven at 0.1 ms", 200.0,
                 _brette("coba_hh"), 1.0, quick_scale=0.1),
    BenchNetwork("event_driven_cuba", "B4 voltage jumps", "benchmark 4, NEST variant",
                 1000.0, _brette("event_driven_cuba"), 0.2),
    BenchNetwork("brunel", "Brunel 2000", "NEST brunel_delta_nest (reset 0 mV, eta 2, g 5)",
                 500.0, _brunel, 0.15, quick_scale=0.02),
)}

#: ``--networks`` names; ``sweep`` is the activity sweep.
NETWORK_NAMES = (*NETWORKS, "sweep")


# ---- export ----------------------------------------------------------------------------------

def draw_trains(seed: int, first: int, n: int, rate: float, start: float, stop: float,
                until: float) -> tuple[np.ndarray, np.ndarray]:
    """Spike trains of a Poisson population as edsim draws them in a network with ``seed``.

    An edsim Poisson population is one process on the Philox stream keyed by (seed, its first
    global id), whatever else the network holds: this replays it alone, at global ids ``first``
    to ``first + n - 1`` behind ``first`` empty placeholder sources, recorded (so not fused into
    IF_curr_delta cells, whose fused drives draw per-source streams instead).

    Parameters
    ----------
    seed : int
        Network seed.
    first : int
        Global id of the population's first source in the original network.
    n : int
        Number of sources.
    rate : float
        Rate of each source (Hz).
    start, stop : float
        Window (ms).
    until : float
        Biological time (ms) up to which spikes are drawn.

    Returns
    -------
    (t, i) : arrays
        Spike times (ms) and source indices in [0, n), sorted by time then index.
    """
    net = edsim.Network(seed=seed)
    if first:
        net.source(edsim.SpikeTimes([]), n=first, name="placeholder")
    src = net.source(edsim.Poisson(rate, start, stop - start), n=n, name="stimulus")
    if src.first != first:
        raise ParameterError(f"replaying a Poisson population at global id {first} gave "
                             f"{src.first}")
    rec = net.record(src)
    net.run(until)
    t, i = np.asarray(rec.spikes.t, float), np.asarray(rec.spikes.i, np.int64)
    order = np.lexsort((i, t))
    return t[order], i[order]


def _exact(model, n: int) -> bool:
    """Whether a Poisson population is exported as exact spike trains."""
    stop = model.start + model.duration
    return (math.isfinite(stop) and model.rate > 0
            and model.rate * (stop - model.start) / 1000.0 * n <= EXACT_MAX_SPIKES)


def _model_units(model) -> dict[str, str]:
    return dict(model.units)


def _owner(net: edsim.Network, gids: np.ndarray, what: str) -> tuple[Any, np.ndarray]:
    """The one population holding the global ids ``gids``, and their local indices."""
    for pop in net.populations:
        if gids.size and pop.first <= gids.min() and gids.max() < pop.first + pop.size:
            return pop, gids - pop.first
    raise ParameterError(f"{what} of a projection spans several populations; cannot export it")


def _compact(values: np.ndarray) -> np.ndarray:
    """One shared value when all are equal (bit for bit), else the array."""
    values = np.asarray(values)
    if values.size and np.all(values == values.flat[0]):
        return np.asarray(values.flat[0])
    return values


def export(net: edsim.Network, path: str | Path, *, name: str, duration: float, seed: int,
           v_init: dict[str, tuple[float, float]], extra: dict | None = None) -> Path:
    """Write ``net`` (built with ``keep_connectivity=True``, not yet run) to ``path`` (.npz).

    Parameters
    ----------
    net : edsim.Network
        The network; its populations, sources and projections are exported in creation order.
    path : str or Path
        Output file.
    name : str
        Network name (``coba``...).
    duration : float
        Biological time every simulator runs (ms).
    seed : int
        The seed the network was built with (connectivity and initial state).
    v_init : dict
        Per neuron population, the range (mV) its initial ``v`` was drawn from uniformly: runs
        with another seed draw a new initial ``v`` from it (:meth:`Exported.initial_state`).
    extra : dict, optional
        Anything else worth keeping (JSON-serialisable), e.g. the sweep's input rate.
    """
    if not net.keep_connectivity:
        raise ParameterError("export needs a network built with "
                             "edsim.Network(keep_connectivity=True)")
    if net.t != 0.0:
        raise ParameterError(f"export needs a network that has not run yet (it is at t = "
                             f"{net.t} ms)")
    arrays: dict[str, np.ndarray] = {}
    pops = []
    for pop in net.populations:
        model = pop.model
        if isinstance(model, edsim.Poisson):
            stop = model.start + model.duration
            entry = {"name": pop.name, "n": pop.size, "kind": "poisson", "rate": model.rate,
                     "start": model.start, "stop": stop if math.isfinite(stop) else None,
                     "first": int(pop.first)}
            if _exact(model, pop.size):
                entry["kind"] = "spikes"
                t, i = draw_trains(seed, pop.first, pop.size, model.rate, model.start, stop,
                                   min(stop, duration))
                arrays[f"spikes/{pop.name}/t"], arrays[f"spikes/{pop.name}/i"] = t, i
            pops.append(entry)
            continue
        if not isinstance(model, edsim.models.Model):
            raise ParameterError(f"population '{pop.name}': only neurons and Poisson sources can "
                                 f"be exported (got {type(model).__name__})")
        state = pop.state()
        for var, values in state.items():
            arrays[f"state/{pop.name}/{var}"] = np.asarray(values, dtype=float)
        lo_hi = v_init.get(pop.name)
        pops.append({"name": pop.name, "n": pop.size, "kind": "neuron", "model": model.name,
                     "params": model.parameters(), "units": _model_units(model), "dt": pop.dt,
                     "state": list(state), "v_init_range": list(lo_hi) if lo_hi else None})
    projs = []
    for k, proj in enumerate(net.projections):
        pre, pre_i = _owner(net, proj.pre.ids[proj.pre_index], "pre")
        post, post_i = _owner(net, proj.post.ids[proj.post_index], "post")
        arrays[f"proj/{k}/pre"] = pre_i.astype(np.int32)
        arrays[f"proj/{k}/post"] = post_i.astype(np.int32)
        arrays[f"proj/{k}/weight"] = _compact(proj.weight.astype(np.float64))
        arrays[f"proj/{k}/delay"] = _compact(proj.delay.astype(np.float64))
        projs.append({"name": proj.name, "pre": pre.name, "post": post.name,
                      "receptor": proj.receptor_type, "n": int(proj.n_connections)})
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "edsim_version": edsim.__version__,
            "network": name, "seed": int(seed), "duration_ms": float(duration), "dt_ms": DT,
            "populations": pops, "projections": projs, "units": UNITS, "extra": extra or {}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return path


@dataclass(frozen=True)
class Population:
    """A population of an exported network (see the module docstring for the fields' units)."""

    index: int
    name: str
    n: int
    kind: str                    # "neuron", "poisson" or "spikes" (exact trains of a Poisson)
    model: str | None = None
    params: dict = field(default_factory=dict)
    dt: float | None = None
    rate: float = 0.0            # Hz (Poisson)
    start: float = 0.0           # ms (Poisson)
    stop: float | None = None    # ms (Poisson); None: until the end
    first: int = 0               # global id of the first source in the original network

    @property
    def is_source(self) -> bool:
        return self.kind in ("poisson", "spikes")


@dataclass(frozen=True)
class Projection:
    """Exported synapses: population-local ``pre``/``post``, ``weight``, ``delay`` (ms)."""

    name: str
    pre: str
    post: str
    receptor: str
    pre_index: np.ndarray
    post_index: np.ndarray
    weight: np.ndarray           # shape (n,) or () when shared
    delay: np.ndarray            # ms; shape (n,) or () when shared

    @property
    def n(self) -> int:
        return int(self.pre_index.size)

    def weights(self) -> np.ndarray:
        """One weight per synapse (model unit)."""
        return np.broadcast_to(self.weight, self.pre_index.shape)

    def delays(self) -> np.ndarray:
        """One delay per synapse (ms)."""
        return np.broadcast_to(self.delay, self.pre_index.shape)


@dataclass(frozen=True)
class Exported:
    """An exported network as read back by :func:`load`."""

    meta: dict
    populations: list[Population]
    projections: list[Projection]
    arrays: dict

    @property
    def name(self) -> str:
        return self.meta["network"]

    @property
    def seed(self) -> int:
        return int(self.meta["seed"])

    @property
    def duration(self) -> float:
        """Biological time to simulate (ms)."""
        return float(self.meta["duration_ms"])

    @property
    def dt(self) -> float:
        """Step of clock-driven runs (ms)."""
        return float(self.meta["dt_ms"])

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise ParameterError(f"no population {name!r} in exported network '{self.name}'; "
                             f"populations: {', '.join(p.name for p in self.populations)}")

    def neurons(self) -> list[Population]:
        return [p for p in self.populations if p.kind == "neuron"]

    def models(self) -> set[str]:
        return {p.model for p in self.neurons()}

    def initial_state(self, pop: Population, seed: int) -> dict[str, np.ndarray]:
        """Initial state of ``pop`` for a run with ``seed`` (units of the model's state variables).

        The exported state for the network's own seed; for another seed, ``v`` drawn anew,
        uniform in the population's ``v_init_range`` from ``numpy.random.default_rng([seed,
        population index])`` (the same draw in every simulator), the other variables as exported.
        """
        meta = self.meta["populations"][pop.index]
        state = {var: self.arrays[f"state/{pop.name}/{var}"] for var in meta["state"]}
        if seed != self.seed and meta.get("v_init_range"):
            lo, hi = meta["v_init_range"]
            state["v"] = np.random.default_rng([seed, pop.index]).uniform(lo, hi, pop.n)
        return state

    def spike_trains(self, pop: Population, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Spike times (ms) and source indices of exact stimulus population ``pop`` with ``seed``.

        The exported trains for the network's own seed; for another seed, the trains edsim's
        Poisson population draws with that seed (:func:`draw_trains`), the same in every
        simulator. Sorted by time, then index.
        """
        if pop.kind != "spikes":
            raise ParameterError(f"population '{pop.name}' is not an exact stimulus (kind "
                                 f"{pop.kind!r})")
        if seed == self.seed:
            return self.arrays[f"spikes/{pop.name}/t"], self.arrays[f"spikes/{pop.name}/i"]
        return draw_trains(seed, pop.first, pop.n, pop.rate, pop.start, pop.stop,
                           min(pop.stop, self.duration))

    def per_source(self, pop: Population, seed: int) -> list[np.ndarray]:
        """The trains of :meth:`spike_trains`, one sorted array (ms) per source."""
        t, i = self.spike_trains(pop, seed)
        order = np.argsort(i, kind="stable")   # stable: times stay sorted within a source
        bounds = np.searchsorted(i[order], np.arange(pop.n + 1))
        return [t[order[bounds[k]:bounds[k + 1]]] for k in range(pop.n)]

    def out_degree(self, pop: Population) -> np.ndarray:
        """Number of outgoing synapses of each cell of ``pop`` (all projections together)."""
        deg = np.zeros(pop.n, dtype=np.int64)
        for proj in self.projections:
            if proj.pre == pop.name:
                deg += np.bincount(proj.pre_index, minlength=pop.n)
        return deg

    @property
    def n_synapses(self) -> int:
        return sum(p.n for p in self.projections)

    def expected_input_events(self) -> float:
        """Expected number of synaptic events caused by the Poisson sources over the run."""
        total = 0.0
        for pop in self.populations:
            if not pop.is_source:
                continue
            stop = self.duration if pop.stop is None else min(pop.stop, self.duration)
            window = max(0.0, stop - min(pop.start, self.duration))
            total += pop.rate * window / 1000.0 * float(self.out_degree(pop).sum())
        return total


def load(path: str | Path) -> Exported:
    """Read a file written by :func:`export`, checking its format and version first."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path} is not an exported benchmark network: {exc}") from None
    with data:
        if "meta" not in data.files:
            raise FileFormatError(f"{path} has no 'meta' header: not an exported benchmark network")
        meta = json.loads(data["meta"].tobytes().decode())
        if meta.get("format") != FORMAT:
            raise FileFormatError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
        if meta.get("format_version") not in READABLE_VERSIONS:
            raise FileFormatError(f"{path}: format version {meta.get('format_version')}, "
                                  f"expected one of {READABLE_VERSIONS}")
        arrays = {k: data[k] for k in data.files if k != "meta"}
    pops = []
    for k, p in enumerate(meta["populations"]):
        if p["kind"] in ("poisson", "spikes"):
            pops.append(Population(k, p["name"], p["n"], p["kind"], rate=p["rate"],
                                   start=p["start"], stop=p["stop"], first=p.get("first", 0)))
        else:
            pops.append(Population(k, p["name"], p["n"], "neuron", p["model"], p["params"],
                                   p["dt"]))
    projs = [Projection(p["name"], p["pre"], p["post"], p["receptor"],
                        arrays[f"proj/{k}/pre"].astype(np.int64),
                        arrays[f"proj/{k}/post"].astype(np.int64),
                        arrays[f"proj/{k}/weight"], arrays[f"proj/{k}/delay"])
             for k, p in enumerate(meta["projections"])]
    return Exported(meta, pops, projs, arrays)


def build_and_export(name: str, path: str | Path, seed: int, duration: float, scale: float = 1.0,
                     source_rate: float | None = None) -> Path:
    """Build network ``name`` (``NETWORK_NAMES``) with ``seed`` and export it to ``path``."""
    if name == "sweep":
        net, info = build_sweep(seed, scale, source_rate if source_rate is not None else 10.0)
        extra = {k: v for k, v in info.items() if k != "v_init"}
    elif name in NETWORKS:
        net, info = NETWORKS[name].build(seed, scale)
        extra = {}
    else:
        raise ParameterError(f"unknown network {name!r}; available: {', '.join(NETWORK_NAMES)}")
    extra["scale"] = scale
    return export(net, path, name=name, duration=duration, seed=seed, v_init=info["v_init"],
                  extra=extra)


def main(argv=None) -> int:
    """``python -m edsim.bench.networks NAME PATH --seed S --duration D [--scale X --rate R]``."""
    import argparse

    parser = argparse.ArgumentParser(description="build a benchmark network and export it")
    parser.add_argument("name", choices=NETWORK_NAMES)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, required=True, help="biological time (ms)")
    parser.add_argument("--scale", type=float, default=1.0, help="size factor")
    parser.add_argument("--rate", type=float, default=None, help="sweep source rate (Hz)")
    args = parser.parse_args(argv)
    build_and_export(args.name, args.path, args.seed, args.duration, args.scale, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
