"""Run an exported network in Brian2: runtime (Cython) or C++ standalone, one thread, dt 0.1 ms.

Equations are edsim's (PyNN's) models written out in Brian2's notation; the integration method is
Brian2's usual choice for each: ``exact`` for the linear current-based models (IF_curr_exp,
IF_curr_delta), ``exponential_euler`` for the conductance-based ones (IF_cond_exp, HH_cond_exp,
as in Brian2's COBAHH example). Spike times fall on the 0.1 ms grid. IF_curr_delta loses inputs
that arrive during the refractory period (``v += w * int(not_refractory)``), as edsim and NEST do.
Brian2's default schedule checks the threshold before a step's synaptic effects, so a jump that
lifts v to threshold is seen a step later, after the leak of that step (-0.1 mV near 20 mV on
Brunel's cell, tau_m 20 ms): jumps that only just reach threshold are missed and the others fire
late. On Brunel at scale 0.2 this costs 0.6 % of the rate (52.75 Hz at dt 0.1 ms, 53.29 Hz at
0.01 ms, edsim 53.22 Hz, seed 1): a grid effect, left as Brian2 users get it.
Synapses are created with ``Synapses.connect(i=pre, j=post)`` from the exported arrays. Exact
stimulus trains (``kind: "spikes"``) are a ``SpikeGeneratorGroup``, each time rounded up to its
step's end (:func:`grid_layers`); a Poisson
population with one target per source, on for the whole run, becomes a ``PoissonInput`` (a
binomial count per step, Brian2's idiom for independent per-neuron drive), other Poisson
populations are ``PoissonGroup``s with their exact synapses.

Times: ``brian2-runtime``: ``build_s`` is object creation plus code generation and compilation
(everything before the run loop), ``sim_s`` the CPU time of the run loop. ``brian2-standalone``
(``set_device('cpp_standalone', build_on_run=False)``, OpenMP off): ``sim_s`` is the run loop's
own measurement written by the generated binary (``std::clock``, CPU time, in
``results/last_run_info.txt``), ``build_s`` the rest: code generation, compilation (incremental
in the ``--work`` folder) and the binary's set-up; peak memory is the binary's.

``python -m edsim.bench.run_brian2 NETWORK.npz --seed S --out ROW.json --spikes SPIKES.npz
--simulator brian2-runtime|brian2-standalone [--work DIR]``
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edsim.bench.networks import Exported
from edsim.bench.runner import Unsupported, finish, run_main

SIMULATORS = ("brian2-runtime", "brian2-standalone")


@dataclass(frozen=True)
class Brian2Model:
    """One edsim model in Brian2: equations, namespace from parameters, state and synapse targets.

    ``namespace(p, u)`` returns Brian2 quantities from edsim parameters ``p`` (``u`` is the
    ``brian2`` module, for units); ``state`` maps edsim state variables to (Brian2 name, unit
    name); ``targets`` maps receptor types to the variable an input increments; ``weight_unit``
    is the unit of the model's weights (edsim's).
    """

    equations: str
    namespace: Callable
    threshold: str
    reset: str | None
    method: str
    state: dict
    targets: dict
    weight_unit: str
    gate_refractory: bool = False


def _lif_namespace(p: dict, u) -> dict:
    return {"c_m": p["cm"] * u.nF, "tau_m": p["tau_m"] * u.ms, "v_rest": p["v_rest"] * u.mV,
            "v_thresh": p["v_thresh"] * u.mV, "v_reset": p["v_reset"] * u.mV,
            "i_offset": p["i_offset"] * u.nA}

MODELS = {
    "IF_cond_exp": Brian2Model(
        """dv/dt = (g_leak*(v_rest - v) + i_syn + i_offset)/c_m : volt (unless refractory)
        i_syn = ge*(e_rev_E - v) + gi*(e_rev_I - v) : amp
        dge/dt = -ge/tau_syn_E : siemens
        dgi/dt = -gi/tau_syn_I : siemens""",
        lambda p, u: {**_lif_namespace(p, u), "g_leak": p["cm"] / p["tau_m"] * u.uS,
                      "tau_syn_E": p["tau_syn_E"] * u.ms, "tau_syn_I": p["tau_syn_I"] * u.ms,
                      "e_rev_E": p["e_rev_E"] * u.mV, "e_rev_I": p["e_rev_I"] * u.mV},
        "v >= v_thresh", "v = v_reset", "exponential_euler",
        {"v": ("v", "mV"), "gsyn_exc": ("ge", "uS"), "gsyn_inh": ("gi", "uS")},
        {"excitatory": "ge", "inhibitory": "gi"}, "uS"),
    "IF_curr_exp": Brian2Model(
        """dv/dt = (v_rest - v)/tau_m + (ie + ii + i_offset)/c_m : volt (unless refractory)
        die/dt = -ie/tau_syn_E : amp
        dii/dt = -ii/tau_syn_I : amp""",
        lambda p, u: {**_lif_namespace(p, u), "tau_syn_E": p["tau_syn_E"] * u.ms,
                      "tau_syn_I": p["tau_syn_I"] * u.ms},
        "v >= v_thresh", "v = v_reset", "exact",
        {"v": ("v", "mV"), "isyn_exc": ("ie", "nA"), "isyn_inh": ("ii", "nA")},
        {"excitatory": "ie", "inhibitory": "ii"}, "nA"),
    "IF_curr_delta": Brian2Model(
        "dv/dt = (v_rest - v)/tau_m + i_offset/c_m : volt (unless refractory)",
        _lif_namespace, "v >= v_thresh", "v = v_reset", "exact", {"v": ("v", "mV")},
        {"excitatory": "v", "inhibitory": "v"}, "mV", gate_refractory=True),
    "HH_cond_exp": Brian2Model(
        """dv/dt = (g_leak*(e_rev_leak - v) + i_Na + i_K + i_syn + i_offset)/c_m : volt
        i_Na = gbar_Na*(m*m*m)*h*(e_rev_Na - v) : amp
        i_K = gbar_K*(n*n*n*n)*(e_rev_K - v) : amp
        i_syn = ge*(e_rev_E - v) + gi*(e_rev_I - v) : amp
        dm/dt = alpha_m*(1 - m) - beta_m*m : 1
        dn/dt = alpha_n*(1 - n) - beta_n*n : 1
        dh/dt = alpha_h*(1 - h) - beta_h*h : 1
        dge/dt = -ge/tau_syn_E : siemens
        dgi/dt = -gi/tau_syn_I : siemens
        u = (v - v_offset)/mV : 1
        alpha_m = 0.32*(13 - u)/(exp((13 - u)/4) - 1)/ms : Hz
        beta_m = 0.28*(u - 40)/(exp((u - 40)/5) - 1)/ms : Hz
        alpha_h = 0.128*exp((17 - u)/18)/ms : Hz
        beta_h = 4/(1 + exp((40 - u)/5))/ms : Hz
        alpha_n = 0.032*(15 - u)/(exp((15 - u)/5) - 1)/ms : Hz
        beta_n = 0.5*exp((10 - u)/40)/ms : Hz""",
        lambda p, u: {"c_m": p["cm"] * u.nF, "g_leak": p["g_leak"] * u.uS,
                      "gbar_Na": p["gbar_Na"] * u.uS, "gbar_K": p["gbar_K"] * u.uS,
                      "e_rev_leak": p["e_rev_leak"] * u.mV, "e_rev_Na": p["e_rev_Na"] * u.mV,
                      "e_rev_K": p["e_rev_K"] * u.mV, "v_offset": p["v_offset"] * u.mV,
                      "e_rev_E": p["e_rev_E"] * u.mV, "e_rev_I": p["e_rev_I"] * u.mV,
                      "tau_syn_E": p["tau_syn_E"] * u.ms, "tau_syn_I": p["tau_syn_I"] * u.ms,
                      "i_offset": p["i_offset"] * u.nA, "v_thresh": p["v_thresh"] * u.mV},
        "v > v_thresh", None, "exponential_euler",
        {"v": ("v", "mV"), "m": ("m", "1"), "h": ("h", "1"), "n": ("n", "1"),
         "gsyn_exc": ("ge", "uS"), "gsyn_inh": ("gi", "uS")},
        {"excitatory": "ge", "inhibitory": "gi"}, "uS"),
}

#: Largest expected count per step and input for PoissonInput's binomial (N inputs at rate/N).
_BINOMIAL_P = 0.01


def _unit(u, name: str):
    return 1.0 if name == "1" else getattr(u, name)


def _poisson_input_ok(net: Exported, proj, pop) -> bool:
    """A Poisson population feeding one whole target population, once per target, always on."""
    target = net.population(proj.post)
    return (pop.start == 0.0 and pop.stop is None and proj.n == target.n == pop.n
            and np.array_equal(np.sort(proj.post_index), np.arange(target.n))
            and np.ndim(proj.weight) == 0
            and sum(p.pre == pop.name for p in net.projections) == 1)


def grid_layers(t: np.ndarray, i: np.ndarray, n: int, dt: float):
    """Exact spike trains on Brian2's grid: steps, generator indices and number of layers.

    Each time (ms) is rounded up to its step's end (as NEST rounds off-grid times); a
    ``SpikeGeneratorGroup`` allows one spike per index and step, so the m-th spike of source
    ``k`` within one step goes to index ``k + m n`` (layer m), which gets the same synapses.
    """
    t, i = np.asarray(t, float), np.asarray(i, np.int64)
    steps = np.maximum(np.ceil(np.round(t / dt, 9)), 1.0).astype(np.int64)
    order = np.lexsort((steps, i))
    key = i[order] * (int(steps.max(initial=0)) + 1) + steps[order]
    first = np.r_[True, key[1:] != key[:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(key.size), 0))
    layer = np.empty(key.size, np.int64)
    layer[order] = np.arange(key.size) - run_start
    return steps, i + layer * n, int(layer.max(initial=0)) + 1


def _spike_generator(net: Exported, pop, seed: int, u):
    t, i = net.spike_trains(pop, seed)
    steps, index, layers = grid_layers(t, i, pop.n, net.dt)
    times = np.round(steps * net.dt, 9) * u.ms
    return u.SpikeGeneratorGroup(pop.n * layers, index, times, name=f"src_{pop.name}"), layers


def build(net: Exported, seed: int, u):
    """Brian2 objects of the exported network: (objects, spike monitors by population name)."""
    groups, monitors, objects, layers_of = {}, {}, [], {}
    for pop in net.neurons():
        m = MODELS[pop.model]
        kwargs = {"reset": m.reset} if m.reset else {}
        g = u.NeuronGroup(pop.n, m.equations, threshold=m.threshold,
                          refractory=pop.params["tau_refrac"] * u.ms, method=m.method,
                          namespace=m.namespace(pop.params, u), name=f"pop_{pop.name}", **kwargs)
        for var, values in net.initial_state(pop, seed).items():
            if var in m.state:
                name, unit = m.state[var]
                setattr(g, name, np.asarray(values, dtype=float) * _unit(u, unit))
        groups[pop.name] = g
        monitors[pop.name] = u.SpikeMonitor(g, name=f"spikes_{pop.name}")
        objects += [g, monitors[pop.name]]
    for k, proj in enumerate(net.projections):
        pre = net.population(proj.pre)
        m = MODELS[net.population(proj.post).model]
        target_var = m.targets[proj.receptor]
        w_unit = _unit(u, m.weight_unit)
        gate = "*int(not_refractory{})" if m.gate_refractory else ""
        if pre.kind == "poisson" and _poisson_input_ok(net, proj, pre):
            n_in = max(1, int(np.ceil(pre.rate * net.dt * 1e-3 / _BINOMIAL_P)))
            w = float(proj.weight) * float(w_unit)   # SI base unit of the target variable
            base = {"mV": "volt", "uS": "siemens", "nA": "amp"}[m.weight_unit]
            weight = f"{w!r}*{base}{gate.format('')}"
            objects.append(u.PoissonInput(groups[proj.post], target_var, n_in,
                                          pre.rate / n_in * u.Hz, weight=weight))
            continue
        layers = 1
        if pre.kind == "spikes":
            if pre.name not in groups:
                groups[pre.name], layers_of[pre.name] = _spike_generator(net, pre, seed, u)
                objects.append(groups[pre.name])
            layers = layers_of[pre.name]
        if pre.kind == "poisson" and pre.name not in groups:
            if pre.start == 0.0 and pre.stop is None:
                rates = pre.rate * u.Hz
            else:
                stop = f"*(t < {pre.stop!r}*ms)" if pre.stop is not None else ""
                rates = f"{pre.rate!r}*Hz*(t >= {pre.start!r}*ms){stop}"
            groups[pre.name] = u.PoissonGroup(pre.n, rates, name=f"src_{pre.name}")
            objects.append(groups[pre.name])
        uniform_w, uniform_d = np.ndim(proj.weight) == 0, np.ndim(proj.delay) == 0
        on_pre = f"{target_var}_post += {'w_syn' if uniform_w else 'w'}{gate.format('_post')}"
        ns = {"w_syn": float(proj.weight) * w_unit} if uniform_w else {}
        s = u.Synapses(groups[proj.pre], groups[proj.post],
                       model="" if uniform_w else f"w : {m.weight_unit}", on_pre=on_pre,
                       namespace=ns, name=f"syn_{k}")
        # a generator layer m holds each source's m-th spike within one step: same synapses
        s.connect(i=np.concatenate([proj.pre_index + m * pre.n for m in range(layers)]),
                  j=np.tile(proj.post_index, layers))
        if not uniform_w:
            s.w = np.tile(np.asarray(proj.weight, dtype=float), layers) * w_unit
        s.delay = (float(proj.delay) if uniform_d
                   else np.tile(np.asarray(proj.delay, float), layers)) * u.ms
        objects.append(s)
    return objects, monitors


def _spikes(net: Exported, monitors) -> dict:
    return {name: (np.asarray(mon.t_ / 1e-3, float), np.asarray(mon.i[:], np.int64))
            for name, mon in monitors.items()}


def run_runtime(net: Exported, args, u) -> dict:
    try:
        import Cython  # noqa: F401

        u.prefs.codegen.target = "cython"
        target = "Cython"
    except ImportError:
        u.prefs.codegen.target = "numpy"
        target = "numpy"
    t0 = time.perf_counter()
    u.defaultclock.dt = net.dt * u.ms
    u.seed(args.seed)
    objects, monitors = build(net, args.seed, u)
    network = u.Network(*objects)
    mark = {}
    before_run = network.before_run

    def timed_before_run(namespace):
        before_run(namespace)
        mark["cpu"], mark["wall"] = time.process_time(), time.perf_counter()

    network.before_run = timed_before_run
    network.run(net.duration * u.ms, namespace={})
    sim_cpu = time.process_time() - mark["cpu"]
    sim_wall = time.perf_counter() - mark["wall"]
    build_s = mark["wall"] - t0
    return finish(net, args, simulator="brian2-runtime",
                  variant=f"Brian2 {u.__version__} runtime ({target}), dt {net.dt:g} ms",
                  spikes=_spikes(net, monitors), build_s=build_s, sim_s=sim_cpu,
                  sim_wall_s=sim_wall, sim_clock="cpu")


def run_standalone(net: Exported, args, u) -> dict:
    # absolute: Brian2 changes into the project folder before it runs the binary
    work = Path(args.work or tempfile.mkdtemp(prefix="edsim_brian2_")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    u.set_device("cpp_standalone", build_on_run=False, directory=str(work))
    u.prefs.devices.cpp_standalone.openmp_threads = 0
    rss_file = work / "binary_rusage.json"
    rss_file.unlink(missing_ok=True)
    u.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-m", "edsim.bench.maxrss",
                                                   str(rss_file), "./main"]
    u.defaultclock.dt = net.dt * u.ms
    u.seed(args.seed)
    objects, monitors = build(net, args.seed, u)
    network = u.Network(*objects)
    network.run(net.duration * u.ms, namespace={})
    u.device.build(directory=str(work), compile=True, run=True, with_output=False)
    total = time.perf_counter() - t0
    sim_cpu = float(u.device._last_run_time)
    binary = json.loads(rss_file.read_text())
    compile_s = u.device.timers["compile"]["make"]
    return finish(net, args, simulator="brian2-standalone",
                  variant=f"Brian2 {u.__version__} C++ standalone, dt {net.dt:g} ms",
                  spikes=_spikes(net, monitors), build_s=total - sim_cpu, sim_s=sim_cpu,
                  sim_wall_s=None, sim_clock="cpu (Brian2's run loop, std::clock)",
                  peak_rss=binary["peak_rss_mb"],
                  extra={"compile_s": compile_s, "binary_wall_s": binary["wall_s"]})


def run(net: Exported, args) -> dict:
    missing = sorted(m for m in net.models() if m not in MODELS)
    if missing:
        raise Unsupported(f"no Brian2 equations for {', '.join(missing)}")
    import brian2 as u

    u.prefs.logging.std_redirection = False
    u.BrianLogger.log_level_warn()
    if args.simulator == "brian2-standalone":
        return run_standalone(net, args, u)
    return run_runtime(net, args, u)


def main(argv=None) -> int:
    return run_main(run, SIMULATORS, argv)


if __name__ == "__main__":
    sys.exit(main())
