"""Run an exported network in edsim: event-driven (``edsim``) or clock-driven (``edsim-clock``).

``edsim`` simulates every population as edsim does by default: IF_cond_exp from its lookup
table, IF_curr_exp and IF_curr_delta in closed form, time-driven-only models (HH_cond_exp) at
their exported step. ``edsim-clock`` runs every neuron population time-driven (RK4) at the
network's step (0.1 ms), which only models with a time-driven version allow (IF_cond_exp;
HH_cond_exp is time-driven already, so that run would repeat ``edsim``'s).

``python -m edsim.bench.run_edsim NETWORK.npz --seed S --out ROW.json --spikes SPIKES.npz
--simulator edsim|edsim-clock``
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

import edsim
from edsim.bench.networks import Exported
from edsim.bench.runner import Unsupported, finish, run_main
from edsim.connectors import Edges
from edsim.models import all_models

SIMULATORS = ("edsim", "edsim-clock")


@dataclass(frozen=True)
class ArrayEdges:
    """A connection rule that hands over given edges without copying them (population-local)."""

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    def edges(self, n_pre: int, n_post: int, rng, same: bool) -> Edges:
        for what, idx, n in (("pre", self.pre, n_pre), ("post", self.post, n_post)):
            if idx.size and not (0 <= idx.min() and idx.max() < n):
                raise edsim.ParameterError(f"exported {what} index out of range [0, {n})")
        return Edges(self.pre, self.post, self.weight, self.delay)


def build(net: Exported, seed: int, clock: bool = False, table_dir=None):
    """The exported network as an ``edsim.Network`` with ``seed``; a recorder per neuron population.

    Populations are created in the exported order, so global ids, and with them the Poisson
    streams (keyed by seed and source id), are those of the original network: with the
    network's own seed the rebuilt network gives the original's spikes. Exact stimulus
    populations become ``SpikeTimes`` sources replaying the exported trains.
    """
    sim = edsim.Network(seed=seed, table_dir=table_dir)
    models = all_models()
    cells, recs = {}, {}
    for pop in net.populations:
        if pop.kind == "spikes":
            cells[pop.name] = sim.source(edsim.SpikeTimes(net.per_source(pop, seed)), n=pop.n,
                                         name=pop.name)
            continue
        if pop.kind == "poisson":
            duration = float("inf") if pop.stop is None else pop.stop - pop.start
            cells[pop.name] = sim.source(edsim.Poisson(pop.rate, pop.start, duration), n=pop.n,
                                         name=pop.name)
            continue
        model = models[pop.model].from_dict(pop.params)
        dt = pop.dt
        if clock:
            if model.clock_model is None:
                raise Unsupported(f"{pop.model} has no time-driven version in edsim")
            if model.engine == "clock":
                raise Unsupported(f"{pop.model} is time-driven only: the run would repeat edsim's")
            dt = net.dt
        cells[pop.name] = p = sim.population(pop.n, model, name=pop.name, dt=dt)
        p.initialize(**net.initial_state(pop, seed))
        recs[pop.name] = sim.record(p)
    for proj in net.projections:
        rule = ArrayEdges(proj.pre_index, proj.post_index, proj.weights(), proj.delays())
        sim.connect(cells[proj.pre], cells[proj.post], rule, receptor_type=proj.receptor,
                    name=proj.name)
    return sim, recs


def run(net: Exported, args) -> dict:
    clock = args.simulator == "edsim-clock"
    t0 = time.perf_counter()
    sim, recs = build(net, args.seed, clock=clock)
    sim.prepare()  # freezing the connectivity is build work, as NEST's Prepare and Brian2's build
    build_s = time.perf_counter() - t0
    c0, t0 = time.process_time(), time.perf_counter()
    sim.run(net.duration)
    sim_wall, sim_cpu = time.perf_counter() - t0, time.process_time() - c0
    stats = sim.stats()
    spikes = {name: (rec.spikes.t, rec.spikes.i) for name, rec in recs.items()}
    kinds = {f"time-driven RK4 at {p.dt:g} ms" if p.dt is not None else
             "event-driven, tables" if p.model.engine == "table" else "event-driven, closed form"
             for p in sim.populations if isinstance(p.model, edsim.models.Model)}
    variant = f"edsim {edsim.__version__}: " + "; ".join(sorted(kinds))
    per_synapse = stats["bytes_synapses"] / max(stats["n_synapses"], 1)
    return finish(net, args, simulator=args.simulator, variant=variant, spikes=spikes,
                  build_s=build_s, sim_s=sim_cpu, sim_wall_s=sim_wall, sim_clock="cpu",
                  extra={"edsim_synaptic_events": stats["n_synaptic_events"],
                         "bytes_per_synapse": per_synapse})


def main(argv=None) -> int:
    return run_main(run, SIMULATORS, argv)


if __name__ == "__main__":
    sys.exit(main())
