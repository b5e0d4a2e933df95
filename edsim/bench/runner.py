"""What every simulator's run shares: its command line, its spikes file and its JSON row.

A runner is started as ``python -m edsim.bench.run_<simulator> NETWORK.npz --seed S --out
ROW.json --spikes SPIKES.npz [--simulator NAME] [--work DIR]``. It rebuilds the exported network,
simulates it, and calls :func:`finish` with the spikes of every neuron population and its
timings; :func:`finish` adds the figures every row carries (rates, CV, synaptic events, peak
memory) and writes the row and the spikes.

Row fields (units in the names): ``build_s`` (set-up: model creation, connection, code
generation and compilation, NEST's ``Prepare``), ``sim_s`` (the simulation proper: CPU time of
the one thread that simulates, see ``sim_clock``; CPU rather than wall time because Brian2's C++
standalone binary measures its run loop that way and because CPU time is what a shared machine
disturbs least; on an idle core the two agree), ``sim_wall_s`` (wall time of the same phase
where measured), ``realtime_factor`` (``sim_s`` per biological second), ``synaptic_events``
(recurrent spikes times their out-degree plus the expected number of Poisson input events, the
same count for every simulator),
``synaptic_events_per_s``, ``peak_rss_mb`` (of the process that simulated), ``rate_hz``,
``cv_isi_mean``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

import numpy as np

from edsim.bench import stats
from edsim.bench.networks import Exported, load


class Unsupported(Exception):
    """The simulator cannot run this network faithfully; the message says why (a skip)."""


def parse_args(argv=None, simulators: tuple[str, ...] = ()) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="run one exported benchmark network")
    parser.add_argument("network", type=Path, help="exported network (.npz)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON row written here")
    parser.add_argument("--spikes", type=Path, required=True, help="spikes written here (.npz)")
    parser.add_argument("--work", type=Path, default=None, help="folder for build products")
    if simulators:
        parser.add_argument("--simulator", choices=simulators, default=simulators[0])
    return parser.parse_args(argv)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def finish(net: Exported, args, *, simulator: str, variant: str, spikes: dict,
           build_s: float, sim_s: float, sim_clock: str, sim_wall_s: float | None = None,
           peak_rss: float | None = None, extra: dict | None = None) -> dict:
    """Write the row and the spikes of one run; returns the row.

    Parameters
    ----------
    spikes : dict
        Per neuron population name, ``(t, i)``: spike times (ms) and population-local indices.
    build_s, sim_s, sim_wall_s : float
        Set-up time (wall), simulation CPU time and simulation wall time (s).
    sim_clock : str
        How ``sim_s`` was measured, e.g. ``"cpu"`` or ``"cpu (Brian2's run loop, std::clock)"``.
    peak_rss : float, optional
        Peak memory (MB) of the process that simulated; default: this process's.
    """
    duration = net.duration
    n_total, n_spikes, events = 0, 0, net.expected_input_events()
    all_rates, all_cv = [], []
    save = {}
    for pop in net.neurons():
        t, i = spikes[pop.name]
        t = np.asarray(t, dtype=float)
        i = np.asarray(i, dtype=np.int64)
        keep = t < duration
        t, i = t[keep], i[keep]
        order = np.lexsort((i, t))
        t, i = t[order], i[order]
        save[f"{pop.name}/t"], save[f"{pop.name}/i"] = t, i
        n_total += pop.n
        n_spikes += t.size
        counts = np.bincount(i, minlength=pop.n)[:pop.n]
        events += float(counts @ net.out_degree(pop))
        all_rates.append(stats.per_neuron_rates(i, pop.n, duration))
        all_cv.append(stats.cv_isi(t, i, pop.n))
    cv = np.concatenate(all_cv) if all_cv else np.zeros(0)
    row = {
        "network": net.name, "simulator": simulator, "variant": variant, "seed": args.seed,
        "duration_ms": duration, "neurons": n_total, "synapses": net.n_synapses,
        "build_s": build_s, "sim_s": sim_s, "sim_clock": sim_clock, "sim_wall_s": sim_wall_s,
        "realtime_factor": sim_s / (duration / 1000.0),
        "synaptic_events": events,
        "synaptic_events_per_s": events / sim_s if sim_s > 0 else float("nan"),
        "peak_rss_mb": peak_rss if peak_rss is not None else peak_rss_mb(),
        "spikes": n_spikes,
        "rate_hz": n_spikes / max(n_total, 1) / (duration / 1000.0),
        "cv_isi_mean": float(cv.mean()) if cv.size else float("nan"),
        "n_cv": int(cv.size),
        **net.meta.get("extra", {}),
        **(extra or {}),
    }
    args.spikes.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.spikes, **save)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(row, indent=1))
    return row


def skip(args, reason: str) -> int:
    """Write a row that says this run was skipped, and why."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"skipped": reason}))
    return 0


def read_spikes(path: str | Path, net: Exported) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Spikes of a run as written by :func:`finish`: per population, ``(t, i)``."""
    with np.load(path, allow_pickle=False) as data:
        return {p.name: (data[f"{p.name}/t"], data[f"{p.name}/i"]) for p in net.neurons()}


def distributions(spikes: dict, net: Exported) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron rates (Hz) and CVs of ISIs of all neuron populations together."""
    rates, cvs = [], []
    for pop in net.neurons():
        t, i = spikes[pop.name]
        rates.append(stats.per_neuron_rates(i, pop.n, net.duration))
        cvs.append(stats.cv_isi(t, i, pop.n))
    return np.concatenate(rates), np.concatenate(cvs)


def run_main(run, simulators: tuple[str, ...], argv=None) -> int:
    """Entry point of a runner: parse, load, ``run(net, args)``; Unsupported becomes a skip."""
    args = parse_args(argv, simulators)
    net = load(args.network)
    try:
        run(net, args)
    except Unsupported as exc:
        return skip(args, str(exc))
    return 0


if __name__ == "__main__":
    sys.exit("use python -m edsim.bench.run_edsim / run_nest / run_brian2")
