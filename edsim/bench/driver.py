"""Order the runs of ``edsim bench``, one fresh interpreter each, and compare what they produced.

For every network: export it once (``python -m edsim.bench.networks``), then run it in each
requested simulator with each seed (``python -m edsim.bench.run_<simulator>``), each run writing
its JSON row and spikes under ``<out>/runs/``. The first seed is the network's own (connectivity
and initial state as exported); later seeds keep the connectivity and draw a new initial ``v``
and new Poisson streams, which gives every simulator's seed-to-seed spread, the yardstick of the
agreement. Then the activity sweep: the sweep network at each source rate, first seed only.

Progress goes to the ``edsim.bench`` logger; the result is a dict (:func:`run`) that
:mod:`edsim.bench.report` writes as JSON, markdown and plots.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import edsim
from edsim.bench import SIMULATORS, networks, stats
from edsim.bench.networks import NETWORKS, SWEEP_K_IN, SWEEP_RATES, load
from edsim.bench.runner import distributions, read_spikes
from edsim.errors import ParameterError

log = logging.getLogger("edsim.bench")

#: The module that runs each simulator, and the Python package it needs.
RUNNERS = {
    "edsim": ("edsim.bench.run_edsim", None),
    "edsim-clock": ("edsim.bench.run_edsim", None),
    "nest": ("edsim.bench.run_nest", "nest"),
    "brian2-runtime": ("edsim.bench.run_brian2", "brian2"),
    "brian2-standalone": ("edsim.bench.run_brian2", "brian2"),
}
#: Simulators whose rows serve as references for the agreement of edsim's.
# Runs compared with every simulator after them in SIMULATORS: edsim's two, and NEST against
# Brian2, the yardstick of how far the two reference simulators are from each other.
CANDIDATES = ("edsim", "edsim-clock", "nest")
INSTALL_HINT = "pip install -e '.[compare]' (make bench does it)"


@dataclass
class Config:
    """What ``edsim bench`` runs.

    Parameters
    ----------
    networks : list of str
        Names from ``networks.NETWORK_NAMES`` (``sweep`` is the activity sweep).
    simulators : list of str
        Names from ``SIMULATORS``.
    seeds : list of int
        First: the network's seed; each further seed adds a run per simulator (seed-to-seed
        spread). The sweep uses the first only.
    duration : float or None
        Biological time of every run (ms); None: each network's default.
    brunel_scale : float or None
        Size factor of the Brunel network; None: 0.2 (``--quick``: 0.02).
    sweep_rates : list of float or None
        Source rates of the sweep (Hz); None: ``SWEEP_RATES``.
    quick : bool
        Small networks (each network's ``quick_scale``), 100 ms, three sweep points.
    out : Path
        Output folder.
    """

    networks: list[str]
    simulators: list[str]
    seeds: list[int]
    duration: float | None = None
    brunel_scale: float | None = None
    sweep_rates: list[float] | None = None
    quick: bool = False
    out: Path = field(default_factory=lambda: Path("out/bench"))

    def __post_init__(self):
        for name in self.networks:
            if name not in networks.NETWORK_NAMES:
                raise ParameterError(f"unknown network {name!r}; available: "
                                     f"{', '.join(networks.NETWORK_NAMES)}")
        for name in self.simulators:
            if name not in SIMULATORS:
                raise ParameterError(f"unknown simulator {name!r}; available: "
                                     f"{', '.join(SIMULATORS)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ParameterError(f"seeds must be one or more distinct whole numbers "
                                 f"(got {self.seeds})")
        for s in self.seeds:
            if s < 1:
                raise ParameterError(f"seeds must be >= 1 (got {s}): NEST's rng_seed needs it")
        if self.duration is not None and not self.duration > 0:
            raise ParameterError(f"duration must be > 0 ms (got {self.duration})")
        if self.brunel_scale is not None and not self.brunel_scale > 0:
            raise ParameterError(f"brunel scale must be > 0 (got {self.brunel_scale})")
        if self.sweep_rates is not None:
            r = np.asarray(self.sweep_rates, float)
            if r.size < 2 or np.any(~(r > 0)) or np.any(np.diff(r) <= 0):
                raise ParameterError("sweep rates must be two or more increasing rates > 0 Hz "
                                     f"(got {self.sweep_rates})")

    def duration_of(self, name: str) -> float:
        if self.duration is not None:
            return self.duration
        if self.quick:
            return 100.0
        return 500.0 if name == "sweep" else NETWORKS[name].duration

    def scale_of(self, name: str) -> float:
        if name == "brunel" and self.brunel_scale is not None:
            return self.brunel_scale
        if name == "sweep":
            return 0.1 if self.quick else 1.0
        if self.quick:
            return NETWORKS[name].quick_scale
        return 0.2 if name == "brunel" else 1.0

    def rates(self) -> list[float]:
        if self.sweep_rates is not None:
            return list(self.sweep_rates)
        if self.quick:
            return [SWEEP_RATES[0], SWEEP_RATES[3], SWEEP_RATES[-1]]
        return list(SWEEP_RATES)


def available(simulator: str) -> bool:
    package = RUNNERS[simulator][1]
    return package is None or importlib.util.find_spec(package) is not None


def applicable(simulator: str, net: networks.Exported) -> str | None:
    """Why ``simulator`` cannot run ``net`` faithfully, or None when it can."""
    from edsim.bench import run_brian2, run_nest
    from edsim.models import all_models

    models = net.models()
    if simulator == "edsim-clock":
        for name in sorted(models):
            model = all_models()[name]
            if model.clock_model is None:
                return f"{name} has no time-driven version in edsim"
            if model.engine == "clock":
                return f"{name} is time-driven in edsim already (the edsim row)"
    table = {"nest": run_nest.MODELS, "brian2-runtime": run_brian2.MODELS,
             "brian2-standalone": run_brian2.MODELS}.get(simulator)
    if table is not None:
        missing = sorted(m for m in models if m not in table)
        if missing:
            return f"no {simulator} model for {', '.join(missing)}"
    return None


def _subprocess(cmd: list[str], log_file: Path) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS="1")
    with open(log_file, "w") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode


def export(name: str, key: str, cfg: Config, source_rate: float | None = None) -> Path:
    path = cfg.out / "networks" / f"{key}.npz"
    cmd = [sys.executable, "-m", "edsim.bench.networks", name, str(path), "--seed",
           str(cfg.seeds[0]), "--duration", str(cfg.duration_of(name)), "--scale",
           str(cfg.scale_of(name))]
    if source_rate is not None:
        cmd += ["--rate", str(source_rate)]
    log_file = cfg.out / "logs" / f"export-{key}.log"
    if _subprocess(cmd, log_file) != 0:
        raise edsim.EdsimError(f"building network {key} failed; see {log_file}")
    return path


def run_one(net_file: Path, net: networks.Exported, key: str, simulator: str, seed: int,
            cfg: Config) -> dict:
    """One run in a fresh interpreter; its row (``status`` ok, skipped or failed, with a note)."""
    base = {"network": net.name, "key": key, "simulator": simulator, "seed": seed}
    if not available(simulator):
        return {**base, "status": "skipped", "note": f"{RUNNERS[simulator][1]} not installed: "
                f"{INSTALL_HINT}"}
    reason = applicable(simulator, net)
    if reason:
        return {**base, "status": "skipped", "note": reason}
    stem = f"{key}-{simulator}-s{seed}"
    row_file, spikes_file = cfg.out / "runs" / f"{stem}.json", cfg.out / "runs" / f"{stem}.npz"
    row_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", RUNNERS[simulator][0], str(net_file), "--seed", str(seed),
           "--out", str(row_file), "--spikes", str(spikes_file), "--simulator", simulator,
           "--work", str(cfg.out / "build" / f"{net.name}-{simulator}")]
    log_file = cfg.out / "logs" / f"{stem}.log"
    t0 = time.perf_counter()
    code = _subprocess(cmd, log_file)
    if code != 0 or not row_file.exists():
        tail = log_file.read_text().strip().splitlines()[-1:] if log_file.exists() else []
        note = f"exit status {code}; see {log_file}" + (f": {tail[0][:160]}" if tail else "")
        return {**base, "status": "failed", "note": note}
    row = json.loads(row_file.read_text())
    if "skipped" in row:
        return {**base, "status": "skipped", "note": row["skipped"]}
    row.update(key=key, status="ok", spikes_file=str(spikes_file),
               total_wall_s=time.perf_counter() - t0)
    return row


def _describe(row: dict) -> str:
    if row["status"] != "ok":
        return f"{row['status']}: {row['note']}"
    return (f"build {row['build_s']:.2f} s, sim {row['sim_s']:.3g} s "
            f"(RTF {row['realtime_factor']:.3g}), {row['synaptic_events_per_s'] / 1e6:.3g} M syn. "
            f"events/s, {row['peak_rss_mb']:.0f} MB, "
            f"{row['rate_hz']:.2f} Hz, CV {row['cv_isi_mean']:.2f}")


def same_activity(rate_a: float, rate_b: float) -> bool:
    """Two runs show the same activity: both active, mean rates (Hz) within 25 % of the larger.
    B1's kick can fail in any simulator, and a silent run compares with nothing."""
    top = max(rate_a, rate_b)
    return top > 0 and abs(rate_a - rate_b) <= 0.25 * top


def agreement(rows: list[dict], net: networks.Exported, seeds: list[int]) -> list[dict]:
    """KS distances of per-neuron rate and CV distributions: edsim against each reference, and
    NEST against Brian2 (where the peers disagree beyond their own spread, so may edsim).

    ``ks_rate``/``ks_cv``: the median, over every seed where the candidate (edsim or
    edsim-clock) and the reference show the same activity (else the first seed), of the distance
    between the two runs of that seed (same connectivity, initial state and stimulus);
    ``ks_rate_spread``/``ks_cv_spread``: the yardstick, the largest distance between two seeds
    of the reference itself (same connectivity, other initial state and Poisson streams), over
    every pair of its seeds that show the same activity as each other and as the compared runs.
    One pair alone is a poor yardstick: on Brunel at scale 0.2 the distance between two NEST
    seeds ranges over 0.003-0.11 (median 0.03), so a lucky close pair failed edsim's runs that
    are as far from NEST as NEST's seeds are from each other.
    """
    dist, rate = {}, {}
    for row in rows:
        if row["status"] == "ok":
            spikes = read_spikes(row["spikes_file"], net)
            dist[(row["simulator"], row["seed"])] = distributions(spikes, net)
            rate[(row["simulator"], row["seed"])] = row["rate_hz"]

    def ks(a, b, k: int) -> float:
        return stats.ks_distance(dist[a][k], dist[b][k])

    out = []
    for cand in CANDIDATES:
        for ref in SIMULATORS:
            if ref in CANDIDATES[:CANDIDATES.index(cand) + 1]:
                continue
            pairs = [s for s in seeds if (cand, s) in dist and (ref, s) in dist]
            if not pairs:
                continue
            # B1's kick can fail in any simulator: compare the seeds where both show the same
            # activity, and measure the reference's spread between seeds like them
            used = [s for s in pairs if same_activity(rate[(cand, s)], rate[(ref, s)])]
            used = used or pairs[:1]
            per_seed = {k: [ks((cand, s), (ref, s), k) for s in used] for k in (0, 1)}
            entry = {"network": net.name, "candidate": cand, "reference": ref, "seed": used[0],
                     "seeds": used, "ks_rate": float(np.median(per_seed[0])),
                     "ks_cv": float(np.median(per_seed[1])),
                     "ks_rate_per_seed": per_seed[0], "ks_cv_per_seed": per_seed[1],
                     "ks_rate_spread": None, "ks_cv_spread": None, "spread_pairs": []}
            like = [s for s in seeds if (ref, s) in dist
                    and any(same_activity(rate[(ref, s)], rate[(ref, u)]) for u in used)]
            spread = [(a, b) for i, a in enumerate(like) for b in like[i + 1:]
                      if same_activity(rate[(ref, a)], rate[(ref, b)])]
            if spread:
                entry["spread_pairs"] = spread
                entry["ks_rate_spread"] = max(ks((ref, a), (ref, b), 0) for a, b in spread)
                entry["ks_cv_spread"] = max(ks((ref, a), (ref, b), 1) for a, b in spread)
            out.append(entry)
    return out


def ratios(rows: list[dict], seeds: list[int]) -> list[dict]:
    """edsim RTF over each peer's, per network, with issue 4's target.

    Speed is compared on the first seed where edsim and the reference (Brian2 standalone, else
    NEST) show the same activity (mean rates within 25 %): a network that fell silent in one
    simulator and not in the other (B1's kick can fail in any of them) has nothing to compare.
    """
    by = {(r["network"], r["simulator"], r["seed"]): r for r in rows
          if r["status"] == "ok" and r["network"] != "sweep"}
    out = []
    for name in dict.fromkeys(r["network"] for r in rows if r["network"] != "sweep"):
        chosen, comparable = None, False
        for seed in seeds:
            e = by.get((name, "edsim", seed))
            ref = by.get((name, "brian2-standalone", seed)) or by.get((name, "nest", seed))
            if e is None:
                continue
            if chosen is None:
                chosen = seed
            if ref is not None and same_activity(e["rate_hz"], ref["rate_hz"]):
                chosen, comparable = seed, True
                break
        if chosen is None:
            continue
        e = by[(name, "edsim", chosen)]
        entry = {"network": name, "seed": chosen, "comparable": comparable,
                 "edsim_rtf": e["realtime_factor"], "edsim_rate_hz": e["rate_hz"],
                 "target": NETWORKS[name].target_ratio}
        for peer, key in (("brian2-standalone", "brian2_standalone"), ("nest", "nest"),
                          ("brian2-runtime", "brian2_runtime")):
            p = by.get((name, peer, chosen))
            entry[f"{key}_rtf"] = p["realtime_factor"] if p else None
            entry[f"{key}_rate_hz"] = p["rate_hz"] if p else None
            entry[f"ratio_{key}"] = e["realtime_factor"] / p["realtime_factor"] if p else None
        out.append(entry)
    return out


def sweep_crossovers(rows: list[dict]) -> list[dict]:
    """Input rates (Hz per neuron) where edsim event-driven crosses each clock-driven simulator."""
    ok = [r for r in rows if r["network"] == "sweep" and r["status"] == "ok"]
    event = {r["input_rate_hz"]: r["sim_s"] for r in ok if r["simulator"] == "edsim"}
    out = []
    for sim in SIMULATORS[1:]:
        clock = {r["input_rate_hz"]: r["sim_s"] for r in ok if r["simulator"] == sim}
        x = sorted(set(event) & set(clock))
        if len(x) < 2:
            continue
        found = stats.crossovers(x, [event[v] for v in x], [clock[v] for v in x])
        if not found:
            faster = event[x[-1]] <= clock[x[-1]]
            out.append({"clock_simulator": sim, "input_rate_hz": None, "sim_s": None,
                        "direction": f"none in [{x[0]:g}, {x[-1]:g}] Hz: edsim "
                                     f"{'faster' if faster else 'slower'} throughout"})
        for c in found:
            out.append({"clock_simulator": sim, "input_rate_hz": c.x, "sim_s": c.y,
                        "direction": c.direction})
    return out


def run(cfg: Config) -> dict:
    """Run everything ``cfg`` asks for; the results that :mod:`edsim.bench.report` writes."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    cfg.out = cfg.out.resolve()
    started = time.time()
    rows, agree = [], []
    for name in (n for n in cfg.networks if n != "sweep"):
        key = name
        log.info("%s: building and exporting (scale %g, %g ms)", name, cfg.scale_of(name),
                 cfg.duration_of(name))
        net_file = export(name, key, cfg)
        net = load(net_file)
        net_rows = []
        for sim in cfg.simulators:
            for seed in cfg.seeds:
                row = run_one(net_file, net, key, sim, seed, cfg)
                log.info("  %-18s seed %d: %s", sim, seed, _describe(row))
                net_rows.append(row)
                if row["status"] == "skipped":
                    break
        rows += net_rows
        agree += agreement(net_rows, net, cfg.seeds)
    if "sweep" in cfg.networks:
        for rate in cfg.rates():
            key = f"sweep-{rate:g}Hz"
            log.info("sweep: source rate %g Hz (%g Hz per neuron)", rate, rate * SWEEP_K_IN)
            net_file = export("sweep", key, cfg, source_rate=rate)
            net = load(net_file)
            for sim in cfg.simulators:
                row = run_one(net_file, net, key, sim, cfg.seeds[0], cfg)
                row.setdefault("input_rate_hz", rate * SWEEP_K_IN)
                log.info("  %-18s: %s", sim, _describe(row))
                rows.append(row)
    versions = {}
    for row in rows:
        if row["status"] == "ok":
            versions.setdefault(row["simulator"], row["variant"])
    return {
        "meta": {
            "format": "edsim-bench-results", "format_version": 1,
            "edsim_version": edsim.__version__, "started": time.strftime(
                "%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "elapsed_s": time.time() - started, "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(), "networks": cfg.networks,
            "simulators": cfg.simulators, "seeds": cfg.seeds, "quick": cfg.quick,
            "durations_ms": {n: cfg.duration_of(n) for n in cfg.networks},
            "scales": {n: cfg.scale_of(n) for n in cfg.networks},
            "variants": {n: NETWORKS[n].variant for n in cfg.networks if n in NETWORKS},
            "simulator_variants": versions,
        },
        "runs": rows,
        "agreement": agree,
        "ratios": ratios(rows, cfg.seeds),
        "sweep_crossovers": sweep_crossovers(rows) if "sweep" in cfg.networks else [],
    }
