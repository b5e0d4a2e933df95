"""Run an exported network in NEST (one thread), with the exact exported synapses.

Models: precise spike times where NEST has them (``iaf_psc_delta_ps`` for IF_curr_delta,
``iaf_psc_exp_ps`` for IF_curr_exp, with ``poisson_generator_ps`` and ``parrot_neuron_ps``),
otherwise grid models at the network's resolution (0.1 ms): ``iaf_cond_exp`` (IF_cond_exp, GSL
adaptive RKF45 within the step), ``hh_cond_exp_traub`` (HH_cond_exp; NEST reports a spike at the
peak above V_T + 30 mV rather than at the -20 mV crossing).

Synapses go in with ``nest.Connect(pre_ids, post_ids, "one_to_one", {weight, delay arrays})``.
Exact stimulus trains (``kind: "spikes"``) are one ``spike_generator`` per source
(``precise_times`` with the precise models; grid models get each time rounded up to its step's
end, as NEST rounds off-grid times) connected straight to the targets.
A Poisson population whose every source has at most one target becomes one
``poisson_generator`` connected straight to the targets (NEST draws an independent train per
target: the same statistics, without a relay); otherwise each source is a parrot neuron fed by
the generator, so that sources shared by several targets stay shared. Times: ``build_s`` from
``ResetKernel`` to the end of ``nest.Prepare()``, ``sim_s`` the wall time of ``nest.Run``.

``python -m edsim.bench.run_nest NETWORK.npz --seed S --out ROW.json --spikes SPIKES.npz``
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edsim.bench.networks import Exported
from edsim.bench.runner import Unsupported, finish, run_main

SIMULATORS = ("nest",)


@dataclass(frozen=True)
class NestModel:
    """How one edsim model maps onto a NEST model.

    ``params(p)`` turns edsim parameters (ms, mV, nF, µS, nA) into NEST's (ms, mV, pF, nS, pA);
    ``state`` maps edsim state variables to (NEST name, factor), the name None where NEST does
    not let the variable be set (then it must start at 0); a weight is multiplied by
    ``weight_factor`` and, for inhibitory synapses, by ``inhibitory_sign`` (NEST's conductance
    models take inhibition as a negative weight).
    """

    nest_name: str
    params: Callable[[dict], dict]
    state: dict
    weight_factor: float
    inhibitory_sign: float
    precise: bool


def _lif(p: dict) -> dict:
    return {"C_m": p["cm"] * 1e3, "tau_m": p["tau_m"], "E_L": p["v_rest"], "V_th": p["v_thresh"],
            "V_reset": p["v_reset"], "t_ref": p["tau_refrac"], "I_e": p["i_offset"] * 1e3}


def _cond_exp(p: dict) -> dict:
    return {"C_m": p["cm"] * 1e3, "g_L": p["cm"] / p["tau_m"] * 1e3, "E_L": p["v_rest"],
            "V_th": p["v_thresh"], "V_reset": p["v_reset"], "t_ref": p["tau_refrac"],
            "tau_syn_ex": p["tau_syn_E"], "tau_syn_in": p["tau_syn_I"], "E_ex": p["e_rev_E"],
            "E_in": p["e_rev_I"], "I_e": p["i_offset"] * 1e3}


def _curr_exp(p: dict) -> dict:
    return {**_lif(p), "tau_syn_ex": p["tau_syn_E"], "tau_syn_in": p["tau_syn_I"]}


def _hh(p: dict) -> dict:
    return {"g_Na": p["gbar_Na"] * 1e3, "g_K": p["gbar_K"] * 1e3, "g_L": p["g_leak"] * 1e3,
            "C_m": p["cm"] * 1e3, "E_Na": p["e_rev_Na"], "E_K": p["e_rev_K"],
            "E_L": p["e_rev_leak"], "V_T": p["v_offset"], "E_ex": p["e_rev_E"],
            "E_in": p["e_rev_I"], "tau_syn_ex": p["tau_syn_E"], "tau_syn_in": p["tau_syn_I"],
            "I_e": p["i_offset"] * 1e3, "t_ref": p["tau_refrac"]}


MODELS = {
    "IF_cond_exp": NestModel("iaf_cond_exp", _cond_exp,
                             {"v": ("V_m", 1.0), "gsyn_exc": ("g_ex", 1e3),
                              "gsyn_inh": ("g_in", 1e3)}, 1e3, -1.0, False),
    "IF_curr_exp": NestModel("iaf_psc_exp_ps", _curr_exp,
                             {"v": ("V_m", 1.0), "isyn_exc": ("I_syn_ex", 1e3),
                              "isyn_inh": ("I_syn_in", 1e3)}, 1e3, 1.0, True),
    "IF_curr_delta": NestModel("iaf_psc_delta_ps", _lif, {"v": ("V_m", 1.0)}, 1.0, 1.0, True),
    "HH_cond_exp": NestModel("hh_cond_exp_traub", _hh,
                             {"v": ("V_m", 1.0), "m": ("Act_m", 1.0), "h": ("Inact_h", 1.0),
                              "n": ("Act_n", 1.0), "gsyn_exc": (None, 1e3),
                              "gsyn_inh": (None, 1e3)}, 1e3, -1.0, False),
}


def _on_grid(t: np.ndarray, dt: float) -> np.ndarray:
    """Times (ms) rounded up to the step grid, at least one step (NEST's first spike time)."""
    steps = np.maximum(np.ceil(np.round(np.asarray(t, float) / dt, 9)), 1.0)
    return np.round(steps * dt, 9)


def variant(net: Exported) -> str:
    names = sorted({MODELS[m].nest_name for m in net.models() if m in MODELS})
    return ", ".join(names) + f", resolution {net.dt:g} ms"


def run(net: Exported, args) -> dict:
    missing = sorted(m for m in net.models() if m not in MODELS)
    if missing:
        raise Unsupported(f"no NEST model mapped for {', '.join(missing)}")
    os.environ.setdefault("PYNEST_QUIET", "1")
    t0 = time.perf_counter()
    import nest

    if hasattr(nest, "VerbosityLevel"):   # NEST >= 3.9
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    precise = any(MODELS[m].precise for m in net.models())  # NEST then spikes off-grid itself
    nest.set(resolution=net.dt, local_num_threads=1, rng_seed=args.seed, print_time=False)
    nodes, mapping, recorders = {}, {}, {}
    for pop in net.neurons():
        m = MODELS[pop.model]
        nodes[pop.name] = nc = nest.Create(m.nest_name, pop.n, params=m.params(pop.params))
        for var, values in net.initial_state(pop, args.seed).items():
            if var not in m.state:
                continue
            name, factor = m.state[var]
            if name is None:
                if np.any(np.asarray(values) != 0):
                    raise Unsupported(f"{m.nest_name} cannot start with {var} != 0")
                continue
            nc.set({name: (np.asarray(values) * factor).tolist()})
        mapping[pop.name] = m
        recorders[pop.name] = sr = nest.Create("spike_recorder")
        nest.Connect(nc, sr)
    direct, relayed = {}, set()
    for pop in net.populations:
        if pop.kind == "spikes":
            # the exact trains, one generator per source, connected straight to the targets
            # with the exported weights and delays (no relay, so no delay correction); grid
            # models get each time rounded up to the end of its step, as NEST does off-grid
            trains = net.per_source(pop, args.seed)
            if not precise:
                trains = [_on_grid(t, net.dt) for t in trains]
            nodes[pop.name] = gens = nest.Create("spike_generator", pop.n, params={
                "precise_times": precise, "allow_offgrid_times": not precise})
            for gen, times in zip(gens, trains):
                if times.size:
                    gen.spike_times = times.tolist()
            continue
        if pop.kind != "poisson":
            continue
        params = {"rate": pop.rate, "start": pop.start}
        if pop.stop is not None:
            params["stop"] = pop.stop
        gen = nest.Create("poisson_generator_ps" if precise else "poisson_generator", params=params)
        if int(net.out_degree(pop).max(initial=0)) <= 1:
            direct[pop.name] = gen
        else:
            nodes[pop.name] = parrots = nest.Create(
                "parrot_neuron_ps" if precise else "parrot_neuron", pop.n)
            nest.Connect(gen, parrots, "all_to_all", {"delay": net.dt})
            relayed.add(pop.name)
    for proj in net.projections:
        m = mapping[proj.post]
        w = proj.weights() * m.weight_factor
        if proj.receptor == "inhibitory":
            w = w * m.inhibitory_sign
        post = np.asarray(nodes[proj.post].tolist(), dtype=np.int64)[proj.post_index]
        d = np.asarray(proj.delays(), float)
        if proj.pre in direct:
            pre = np.full(proj.n, direct[proj.pre].global_id, dtype=np.int64)
        else:
            pre = np.asarray(nodes[proj.pre].tolist(), dtype=np.int64)[proj.pre_index]
        if proj.pre in relayed:
            # the parrot repeats its generator's spike one step (dt) later: take the step off
            # the delay where it stays >= dt, so that inputs arrive when edsim's do
            if d.min(initial=np.inf) < 2 * net.dt - 1e-12:
                raise Unsupported(f"projection '{proj.name}' from shared Poisson sources needs "
                                  f"delays >= {2 * net.dt:g} ms in NEST (parrot relay)")
            d = d - net.dt
        nest.Connect(pre, post, "one_to_one",
                     {"synapse_model": "static_synapse", "weight": np.ascontiguousarray(w, float),
                      "delay": np.ascontiguousarray(d)})
    nest.Prepare()
    build_s = time.perf_counter() - t0
    c0, t0 = time.process_time(), time.perf_counter()
    nest.Run(net.duration)
    sim_wall, sim_cpu = time.perf_counter() - t0, time.process_time() - c0
    nest.Cleanup()
    spikes = {}
    for pop in net.neurons():
        ev = recorders[pop.name].get("events")
        first = nodes[pop.name][0].global_id
        spikes[pop.name] = (np.asarray(ev["times"], float),
                            np.asarray(ev["senders"], np.int64) - first)
    return finish(net, args, simulator="nest", variant=f"NEST {nest.__version__}: {variant(net)}",
                  spikes=spikes, build_s=build_s, sim_s=sim_cpu, sim_wall_s=sim_wall,
                  sim_clock="cpu")


def main(argv=None) -> int:
    return run_main(run, SIMULATORS, argv)


if __name__ == "__main__":
    sys.exit(main())
