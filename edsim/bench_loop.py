"""The closed-loop benchmark behind ``edsim bench-loop``.

The network: Brette et al. (2007) benchmark 4 (``b4``: IF_curr_delta, voltage jumps, exact) or
benchmark 1 (``coba``: IF_cond_exp from its lookup table, with NEST's 300 Hz kick), scaled to
``n`` neurons (80 % excitatory) at the benchmark's in-degree (64 excitatory + 16 inhibitory
inputs per neuron, with replacement, delay 0.1 ms), so its activity is the benchmark's. The loop:
100 ``SpikeTimes`` sensors, each onto 100 random excitatory neurons (excitatory weight of the
benchmark), and a readout of the first 200 excitatory neurons (the output). After every slot the
readout's spikes are read, its rate sets the sensors' rate for the next slot
(``r = 50 Hz * max(0, 2 - readout rate / 10 Hz)``), and that slot's sensor spikes are drawn
(uniform times in the slot, seeded) and injected. Every spike of the network is recorded, and v
of 20 neurons is sampled every 0.1 ms: what levels 1 and 2 of the runner shed.

Measured: the per-step overhead on an idle network (one source, one neuron) and on this one: the
wall time per step spent outside the core's run loop (the runner, draining and reading spikes,
the controller, injecting), and the closed loop as fast as possible minus one uninterrupted run of
the same network given the same inputs up front, per step (the two must give identical spikes;
this difference is noisy on a shared machine); a paced run (speed 1 = real time):
real-time factor, lag percentiles, deadlines missed (each set against the same slot of the
unpaced run: its own work, or a stall of the machine), what was shed; the machine's own stalls
(a loop that only reads the clock); and an overloaded run (high speed factor) showing the
shedding levels in order. The loop starts after ``settle`` ms (default 100) run freely, as an
experiment would start on a network past its initial transient; the unpaced run settles the same.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

import edsim
from edsim.errors import ParameterError

# Brette et al. (2007) cells and weights, as scenarios/coba.py and event_driven_cuba.py.
NETWORKS = {
    "b4": dict(model=lambda: edsim.IF_curr_delta(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0,
                                                 v_reset=-60.0, tau_refrac=5.0),
               w_exc=0.25, w_inh=-2.25, kick=False,
               title="benchmark 4 (IF_curr_delta, exact)"),
    "coba": dict(model=lambda: edsim.IF_cond_exp(cm=0.2, tau_m=20.0, v_rest=-60.0, v_thresh=-50.0,
                                                 v_reset=-60.0, tau_refrac=5.0, tau_syn_E=5.0,
                                                 tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0),
                 w_exc=0.006, w_inh=0.067, kick=True,
                 title="benchmark 1 (IF_cond_exp, lookup table)"),
}
N_SENSORS, SENSOR_FANOUT, N_READOUT, N_SAMPLED = 100, 100, 200, 20


@dataclass
class LoopNetwork:
    """A built benchmark network and the handles its loop needs."""

    net: edsim.Network
    sensors: edsim.Population
    readout: edsim.Recorder
    n_neurons: int
    slot: float

    def controller(self, seed: int):
        """The loop's callback: readout rate -> sensor spikes of the next slot (seeded)."""
        rng = np.random.default_rng([seed, 7])
        slot, n_read = self.slot, self.readout.size
        injected: list[tuple[np.ndarray, np.ndarray]] = []

        def on_slot(t, spikes):
            rate_out = len(spikes[0]) / n_read / (slot * 1e-3)
            rate_in = 50.0 * max(0.0, 2.0 - rate_out / 10.0)
            n = rng.poisson(rate_in * N_SENSORS * slot * 1e-3)
            times = t + rng.random(n) * slot
            index = rng.integers(0, N_SENSORS, n)
            injected.append((times, index))
            return [(self.sensors, times, index)]

        return on_slot, injected


def scaled_brette(net, model, n: int, w_exc: float, w_inh: float, seed: int):
    """Brette et al. (2007)'s recurrent network of ``n`` cells of ``model`` in ``net``: 80 %
    excitatory, the benchmarks' in-degrees kept at any size (64 excitatory inputs of ``w_exc``,
    16 inhibitory of ``w_inh``, model units, delay 0.1 ms), initial v uniform in [v_reset,
    v_thresh). Returns the excitatory and inhibitory populations."""
    n_exc = int(round(0.8 * n))
    exc = net.population(n_exc, model, name="exc")
    inh = net.population(n - n_exc, model, name="inh")
    rng = np.random.default_rng(seed)
    for pop in (exc, inh):
        pop.initialize(v=rng.uniform(model.v_reset, model.v_thresh, pop.size))
    for post in (exc, inh):
        net.connect(exc, post, edsim.FixedInDegree(64, with_replacement=True), weight=w_exc,
                    delay=0.1)
        net.connect(inh, post, edsim.FixedInDegree(16, with_replacement=True), weight=w_inh,
                    delay=0.1, receptor_type="inhibitory")
    return exc, inh


def build(network: str = "b4", n: int = 10_000, seed: int = 1, slot: float = 1.0,
          inputs: tuple[np.ndarray, np.ndarray] | None = None) -> LoopNetwork:
    """The benchmark network; ``inputs`` (times, sensor index) pre-schedules the sensors' spikes."""
    if network not in NETWORKS:
        raise ParameterError(f"unknown closed-loop network {network!r}; available: "
                             f"{', '.join(NETWORKS)}")
    spec = NETWORKS[network]
    net = edsim.Network(seed=seed)
    exc, inh = scaled_brette(net, spec["model"](), n, spec["w_exc"], spec["w_inh"], seed)
    n_exc = exc.size
    if spec["kick"]:
        kick = net.source(edsim.Poisson(300.0, start=1.0, duration=50.0), n=50, name="kick")
        net.connect(kick, exc[:50], edsim.OneToOne(), weight=spec["w_exc"], delay=0.1)
    if inputs is None:
        sensors = net.source(edsim.SpikeTimes(), n=N_SENSORS, name="sensors")
    else:
        times, index = inputs
        trains = [np.sort(times[index == j]) for j in range(N_SENSORS)]
        sensors = net.source(edsim.SpikeTimes(trains), n=N_SENSORS, name="sensors")
    net.connect(sensors, exc, edsim.FixedProbability(SENSOR_FANOUT / n_exc),
                weight=spec["w_exc"], delay=0.1)
    readout = net.record(exc[:N_READOUT])
    net.record(exc)
    net.record(inh)
    net.record(exc[N_READOUT:N_READOUT + N_SAMPLED], spikes=False, v=0.1)
    return LoopNetwork(net, sensors, readout, n, slot)


def settled(network: str, n: int, seed: int, slot: float, settle: float,
            inputs: tuple[np.ndarray, np.ndarray] | None = None) -> LoopNetwork:
    """:func:`build`, then ``settle`` ms run freely (as fast as possible, no loop: the initial
    state's transient, e.g. the cells set near threshold firing in the first ms, is over)."""
    lp = build(network, n, seed, slot, inputs)
    if settle > 0:
        lp.net.run_until(settle)
    return lp


def idle_step_overhead(n_steps: int = 20_000, slot: float = 1.0) -> dict:
    """Wall time per closed-loop step (µs) on a network with nothing to do.

    One spike source onto one IF_curr_exp neuron, both recorded: per step ``run_until``, then
    ``new_spikes`` and an empty vectorised ``inject`` (the loop's bookkeeping), timed separately.
    """
    net = edsim.Network(seed=1)
    src = net.source(edsim.SpikeTimes(), n=1, name="src")
    pop = net.population(1, edsim.IF_curr_exp(), name="pop")
    net.connect(src, pop, edsim.AllToAll(), weight=0.1)
    rec = net.record(pop)
    rec_src = net.record(src)
    empty_t, empty_i = np.zeros(0), np.zeros(0, np.int64)
    perf = time.perf_counter
    run = np.empty(n_steps)
    loop = np.empty(n_steps)
    new = np.empty(n_steps)
    for k in range(n_steps):
        a = perf()
        net.run_until((k + 1) * slot)
        b = perf()
        rec.new_spikes()
        c = perf()
        net.inject(src, empty_t, empty_i)
        d = perf()
        run[k], new[k], loop[k] = b - a, c - b, d - a
    # new_spikes of a long recording (two spikes per step): its cost must not grow with it
    t_long = n_steps * slot
    net.inject(src, np.arange(t_long, t_long + 4200 * slot, 0.5 * slot))
    net.run_until(t_long + 4000 * slot)
    rec_src.new_spikes()
    long_rec = np.empty(200)
    for k in range(200):
        net.run_until(t_long + (4001 + k) * slot)
        a = perf()
        rec_src.new_spikes()
        long_rec[k] = perf() - a
    us = 1e6
    return {"steps": n_steps, "run_until_us_median": float(np.median(run) * us),
            "new_spikes_us_median": float(np.median(new) * us),
            "new_spikes_after_long_recording_us_median": float(np.median(long_rec) * us),
            "recorded_spikes": len(rec_src.spikes),
            "step_us_median": float(np.median(loop) * us), "step_us_mean": float(loop.mean() * us),
            "step_us_p99": float(np.percentile(loop, 99) * us)}


def loop_overhead(network: str, n: int, duration: float, slot: float, seed: int,
                  settle: float = 0.0) -> dict:
    """The closed loop as fast as possible vs one uninterrupted run with its inputs up front,
    both after ``settle`` ms run freely (as :func:`paced`, so its slots are the paced run's)."""
    lp = settled(network, n, seed, slot, settle)
    on_slot, injected = lp.controller(seed)
    runner = edsim.RealTimeRunner(lp.net, slot=slot, speed=None, outputs=[lp.readout])
    sim, core_s = lp.net._sim, []
    core_run = sim.run

    def timed_run(until):  # time spent inside the core's run loop, to subtract
        a = time.perf_counter()
        core_run(until)
        core_s.append(time.perf_counter() - a)

    sim.run = timed_run
    t0 = time.perf_counter()
    summary = runner.run(duration, on_slot)
    stepped_s = time.perf_counter() - t0
    del sim.run
    times = np.concatenate([t for t, _ in injected]) if injected else np.zeros(0)
    index = np.concatenate([i for _, i in injected]) if injected else np.zeros(0, np.int64)
    replay = settled(network, n, seed, slot, settle, inputs=(times, index))
    t0 = time.perf_counter()
    replay.net.run(duration)
    whole_s = time.perf_counter() - t0
    a, b = lp.net._recorders, replay.net._recorders
    identical = all(np.array_equal(x.spikes.t, y.spikes.t)
                    and np.array_equal(x.spikes.i, y.spikes.i) for x, y in zip(a, b))
    n_spikes = len(a[1].spikes) + len(a[2].spikes)
    return {"stepped_s": stepped_s, "uninterrupted_s": whole_s, "steps": summary.slots,
            "overhead_us_per_step": (stepped_s - whole_s) / summary.slots * 1e6,
            "outside_core_us_per_step": (stepped_s - sum(core_s)) / summary.slots * 1e6,
            "outside_core_us_median": float(np.median(
                summary.step_per_slot_ms * 1e3 - np.array(core_s[1:]) * 1e6)),
            "step_ms": summary.step_ms, "identical_spikes": identical,
            "step_per_slot_ms": summary.step_per_slot_ms,
            "input_spikes": int(times.size), "spikes": n_spikes,
            "rate_hz": n_spikes / n / (duration * 1e-3),
            "synapses": lp.net.stats()["n_synapses"]}


def paced(network: str, n: int, duration: float, slot: float, speed: float, seed: int,
          settle: float = 0.0, **runner_options):
    """The closed loop paced at ``speed`` after ``settle`` ms (:func:`settled`); returns its
    :class:`edsim.LoopSummary`."""
    lp = settled(network, n, seed, slot, settle)
    on_slot, _ = lp.controller(seed)
    runner = edsim.RealTimeRunner(lp.net, slot=slot, speed=speed, outputs=[lp.readout],
                                  **runner_options)
    return runner.run(duration, on_slot)


def machine_stalls(seconds: float, clock=time.perf_counter) -> dict:
    """What the machine takes from a process that only reads the clock for ``seconds``: the gaps
    between consecutive reads over 0.2 ms (a read takes about 0.1 µs). No loop can meet a
    deadline across such a gap, whatever it computes, so they bound what pacing can promise
    here. Involuntary context switches in the same interval tell the operating system's
    scheduler (it counts them) from time taken below it (a hypervisor, interrupts)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
    gaps = []
    prev = clock()
    end = prev + seconds
    while prev < end:
        now = clock()
        if now - prev > 2e-4:
            gaps.append(now - prev)
        prev = now
    switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - before
    g = np.array(gaps) * 1e3
    return {"seconds": seconds, "gaps_over_0.2ms": int(g.size),
            "gaps_over_0.5ms": int(np.sum(g > 0.5)), "gaps_over_1ms": int(np.sum(g > 1.0)),
            "longest_ms": float(g.max()) if g.size else 0.0,
            "involuntary_context_switches": int(switches)}


def miss_causes(lag_ms: np.ndarray, paced_ms: np.ndarray, unpaced_ms: np.ndarray,
                budget_ms: float) -> dict:
    """The paced run's missed slots against the same slots of the unpaced run of the same
    simulation (same seed and inputs, so the same events in each slot). A stall only adds to a
    slot's time, so the shorter of its two step times bounds its work: a miss whose slot took
    under half its wall budget in either run was made late by a stall of the machine (in it or in
    an earlier slot), not by its own work."""
    missed = np.nonzero(lag_ms > 0)[0]
    stalled = [int(k) for k in missed if min(paced_ms[k], unpaced_ms[k]) < 0.5 * budget_ms]
    return {"missed": len(missed), "stalled": len(stalled),
            "work": [(int(k), float(paced_ms[k]), float(unpaced_ms[k]))
                     for k in missed if k not in stalled]}


def run_all(network: str = "b4", n: int = 10_000, duration: float = 10_000.0, slot: float = 1.0,
            speed: float = 1.0, overload_speed: float = 20.0, overload_duration: float = 2000.0,
            seed: int = 1, idle_steps: int = 20_000, log=None, busy_wait: float = 0.0,
            priority: int | None = None, settle: float = 100.0, probe: float = 10.0) -> dict:
    """Every measurement of ``edsim bench-loop``; ``log(msg)`` reports progress."""
    say = log or (lambda msg: None)
    out = {"network": network, "title": NETWORKS[network]["title"], "neurons": n,
           "duration_ms": duration, "slot_ms": slot, "seed": seed, "busy_wait_ms": busy_wait,
           "settle_ms": settle,
           "load_average_at_start": list(os.getloadavg())}
    say(f"idle network: {idle_steps} steps of {slot:g} ms")
    out["idle"] = idle_step_overhead(idle_steps, slot)
    after = f" after {settle:g} ms settling" if settle > 0 else ""
    say(f"{n}-neuron {network} loop as fast as possible, then uninterrupted, {duration:g} ms"
        + after)
    out["overhead"] = loop_overhead(network, n, duration, slot, seed, settle)
    say(f"paced at {speed:g}x real time, {duration:g} ms" + after)
    out["paced"] = p = paced(network, n, duration, slot, speed, seed, settle,
                             busy_wait=busy_wait, rt_priority=priority)
    out["miss_causes"] = miss_causes(p.lag_per_slot_ms, p.step_per_slot_ms,
                                     out["overhead"]["step_per_slot_ms"], slot / speed)
    if probe > 0:
        say(f"the machine: {probe:g} s of a loop that only reads the clock")
        out["machine"] = machine_stalls(probe)
    if overload_speed:
        say(f"overloaded: {overload_speed:g}x real time, {overload_duration:g} ms")
        out["overloaded"] = paced(network, n, overload_duration, slot, overload_speed, seed)
    return out


def markdown(r: dict) -> str:
    """The result table of ``run_all``."""
    o, p, idle = r["overhead"], r["paced"], r["idle"]
    rows = [
        ("per-step overhead, idle network (median)", f"{idle['step_us_median']:.1f} µs "
         f"(run_until {idle['run_until_us_median']:.1f} µs, new_spikes "
         f"{idle['new_spikes_us_median']:.1f} µs; p99 {idle['step_us_p99']:.1f} µs)"),
        ("new_spikes, 2 new spikes, long recording (median)",
         f"{idle['new_spikes_after_long_recording_us_median']:.1f} µs with "
         f"{idle['recorded_spikes']} spikes recorded"),
        (f"per-step overhead, {r['neurons']}-neuron network",
         f"{o['outside_core_us_median']:.1f} µs median ({o['outside_core_us_per_step']:.1f} µs "
         f"mean) outside the core's run loop, controller included; "
         f"{o['overhead_us_per_step']:.1f} µs by difference ({o['stepped_s']:.2f} s "
         f"stepped vs {o['uninterrupted_s']:.2f} s uninterrupted; spikes identical: "
         f"{o['identical_spikes']})"),
        ("as fast as possible: RTF, step p50/p99",
         f"{o['stepped_s'] / (r['duration_ms'] * 1e-3):.3g}, {o['step_ms']['p50']:.3f} / "
         f"{o['step_ms']['p99']:.3f} ms"),
        ("network", f"{r['title']}, {o['synapses']} synapses, {o['rate_hz']:.1f} Hz, "
         f"{o['input_spikes']} sensor spikes injected"),
        (f"paced at {p.speed:g}x: RTF", f"{p.realtime_factor:.3g}"
         + (f" (after {r['settle_ms']:g} ms settling)" if r.get("settle_ms") else "")),
        ("paced: deadlines missed", f"{p.deadlines_missed} of {p.slots}"
         + (f" ({p.overran} overran their slot)" if p.deadlines_missed else "")),
        *([("paced: misses against the same slots unpaced",
            f"{c['stalled']} took under half a slot paced or unpaced: late through a stall of the "
            "machine" + "".join(f"; slot {k}: {a:.2f} ms paced, {b:.2f} ms unpaced"
                                for k, a, b in c["work"]))]
          if (c := r.get("miss_causes")) and c["missed"] else []),
        *([(f"the machine: {m['seconds']:g} s of clock reads",
            f"{m['gaps_over_0.5ms']} gaps > 0.5 ms ({m['gaps_over_1ms']} > 1 ms), longest "
            f"{m['longest_ms']:.2f} ms; {m['involuntary_context_switches']} involuntary "
            "context switches")] if (m := r.get("machine")) else []),
        ("paced: lag p50 / p95 / p99 / max (ms)",
         " / ".join(f"{p.lag_ms[k]:.3f}" for k in ("p50", "p95", "p99", "max"))),
        ("paced: shed", "nothing" if not p.shed_anything else
         ", ".join(f"L{k} {v['dropped']} {v['unit']}" for k, v in p.shed.items())),
    ]
    if "overloaded" in r:
        q = r["overloaded"]
        rows.append((f"overloaded at {q.speed:g}x: missed, shed",
                     f"{q.deadlines_missed} of {q.slots}; " + ", ".join(
                         f"L{k} {v['dropped']} {v['unit']}" for k, v in q.shed.items())))
    load = ", ".join(f"{x:.1f}" for x in r["load_average_at_start"])
    lines = [f"edsim bench-loop: {r['neurons']} neurons ({r['network']}), {r['duration_ms']:g} ms "
             f"in {r['slot_ms']:g} ms slots, seed {r['seed']}; load average at start {load} on "
             f"{os.cpu_count()} CPUs", "", "| measure | value |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines) + "\n"


def as_json(r: dict) -> dict:
    """``run_all``'s result with the summaries as plain data."""
    out = dict(r)
    out["overhead"] = {k: v for k, v in r["overhead"].items() if k != "step_per_slot_ms"}
    for key in ("paced", "overloaded"):
        if key in out:
            out[key] = out[key].as_dict()
    return out


def main(args) -> int:
    """``edsim bench-loop``: run, print the table and the runners' reports, optionally JSON."""
    import json
    import sys
    from pathlib import Path

    for name in ("neurons", "duration", "slot", "speed"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"--{name} must be > 0 (got {value})")
    for name in ("overload_speed", "settle", "probe"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value >= 0):
            raise ParameterError(f"--{name.replace('_', '-')} must be >= 0 (got {value})")

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr)

    r = run_all(args.network, int(args.neurons), args.duration, args.slot, args.speed,
                args.overload_speed, args.overload_duration, args.seed, args.idle_steps, log,
                args.busy_wait, args.priority, args.settle, args.probe)
    print(markdown(r))
    print(r["paced"].report())
    if "overloaded" in r:
        print()
        print(r["overloaded"].report())
    if args.json:
        Path(args.json).write_text(json.dumps(as_json(r), indent=2))
    return 0


def add_parser(sub) -> None:
    """The ``bench-loop`` subcommand of the ``edsim`` command line."""
    b = sub.add_parser("bench-loop", help="closed-loop benchmark: per-step overhead, real-time "
                       "lag, shedding")
    b.add_argument("--network", choices=sorted(NETWORKS), default="b4",
                   help="b4: benchmark 4, exact (default); coba: benchmark 1, lookup tables")
    b.add_argument("--neurons", type=int, default=10_000)
    b.add_argument("--duration", type=float, default=10_000.0, help="simulated time (ms)")
    b.add_argument("--slot", type=float, default=1.0, help="slot (ms)")
    b.add_argument("--speed", type=float, default=1.0, help="paced run's speed (1 = real time)")
    b.add_argument("--overload-speed", type=float, default=20.0,
                   help="speed of the deliberately overloaded run (0: skip it)")
    b.add_argument("--overload-duration", type=float, default=2000.0,
                   help="its simulated time (ms)")
    b.add_argument("--busy-wait", type=float, default=0.0,
                   help="paced run: ms before each deadline spent spinning, not sleeping")
    b.add_argument("--priority", type=int, default=None,
                   help="paced run under SCHED_FIFO at this priority (1-99; needs root or "
                   "CAP_SYS_NICE)")
    b.add_argument("--settle", type=float, default=100.0,
                   help="ms the network runs freely before the loop starts, paced and unpaced "
                   "(its initial state's transient: the cells set near threshold fire in the "
                   "first ms at 4x the steady rate); 0: none")
    b.add_argument("--probe", type=float, default=10.0,
                   help="s of a loop that only reads the clock, to measure the machine's stalls "
                   "(0: skip)")
    b.add_argument("--idle-steps", type=int, default=20_000)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--json", default=None, help="write the results as JSON here")
    b.set_defaults(func=main)
