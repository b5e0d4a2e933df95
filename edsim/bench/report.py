"""Write the results of ``edsim bench``: ``bench.json``, ``bench.md``, ``speed.png``, ``sweep.png``.

:func:`write` takes the dict of :func:`edsim.bench.driver.run` and returns the markdown. The
markdown has one table per question: speed and activity of every run (first seed), the RTF
ratios against the targets of issue 4, the agreement of edsim's rate and CV distributions with
each reference (KS distance against the reference's own seed-to-seed spread), and the activity
sweep with its crossover rates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from edsim.bench import SIMULATORS
from edsim.bench.networks import NETWORKS, SWEEP_K_IN, SWEEP_N, SWEEP_N_SOURCES, SWEEP_WEIGHT


def _label(name: str) -> str:
    return NETWORKS[name].label if name in NETWORKS else name


def _fmt(value, spec: str = "{:.3g}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return spec.format(value)


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def speed_table(results: dict) -> str:
    seed = results["meta"]["seeds"][0]
    head = ("network", "simulator", "neurons", "synapses", "build (s)", "sim CPU (s)", "RTF",
            "syn. events/s", "peak RSS (MB)", "rate (Hz)", "CV ISI")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in results["runs"]:
        if row["network"] == "sweep" or row["seed"] != seed:
            continue
        name = _label(row["network"])
        scale = results["meta"]["scales"].get(row["network"], 1.0)
        if scale != 1.0:
            name += f" (scale {scale:g})"
        if row["status"] != "ok":
            lines.append(f"| {name} | {row['simulator']} | {row['status']}: {row['note']} |"
                         + " |" * (len(head) - 3))
            continue
        lines.append("| " + " | ".join([
            name, row["simulator"], str(row["neurons"]), str(row["synapses"]),
            _fmt(row["build_s"], "{:.2f}"), _fmt(row["sim_s"], "{:.3g}"),
            _fmt(row["realtime_factor"]), _fmt(row["synaptic_events_per_s"]),
            _fmt(row["peak_rss_mb"], "{:.0f}"), _fmt(row["rate_hz"], "{:.2f}"),
            _fmt(row["cv_isi_mean"], "{:.2f}")]) + " |")
    return "\n".join(lines)


def ratio_table(results: dict) -> str:
    head = ("network", "seed", "edsim RTF", "Brian2 standalone RTF", "edsim / Brian2 standalone",
            "target (issue 4)", "NEST RTF", "edsim / NEST", "Brian2 runtime RTF")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results["ratios"]:
        ratio = r["ratio_brian2_standalone"]
        met = "" if ratio is None or r["target"] is None else (
            " (met)" if ratio <= r["target"] else " (not met)")
        if not r.get("comparable", True):
            ratio, met = None, (f" not comparable: no seed where edsim ({r['edsim_rate_hz']:.2f} Hz) "
                                "and the reference show the same activity")
        lines.append("| " + " | ".join([
            _label(r["network"]), str(r.get("seed", "")), _fmt(r["edsim_rtf"]),
            _fmt(r["brian2_standalone_rtf"]),
            _fmt(ratio) + met, _fmt(r["target"], "≤ {:g}"), _fmt(r["nest_rtf"]),
            _fmt(r["ratio_nest"]), _fmt(r["brian2_runtime_rtf"])]) + " |")
    return "\n".join(lines)


def agreement_table(results: dict) -> str:
    head = ("network", "run", "reference", "seeds", "KS rate", "KS rate, ref. seed spread",
            "KS CV", "KS CV, ref. seed spread", "within spread")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in results["agreement"]:
        verdicts = []
        for key in ("rate", "cv"):
            v, y = a[f"ks_{key}"], a[f"ks_{key}_spread"]
            if v is not None and y is not None and not (math.isnan(v) or math.isnan(y)):
                verdicts.append(f"{key} {'yes' if v <= y else 'no'}")
        lines.append("| " + " | ".join([
            _label(a["network"]), a["candidate"], a["reference"],
            ", ".join(str(s) for s in a.get("seeds", [a.get("seed", "")])),
            _fmt(a["ks_rate"], "{:.3f}"),
            _fmt(a["ks_rate_spread"], "{:.3f}"), _fmt(a["ks_cv"], "{:.3f}"),
            _fmt(a["ks_cv_spread"], "{:.3f}"), ", ".join(verdicts) or "—"]) + " |")
    return "\n".join(lines)


def sweep_points(results: dict) -> dict[str, list[dict]]:
    """Sweep rows by simulator, sorted by input rate."""
    out: dict[str, list[dict]] = {}
    for row in results["runs"]:
        if row["network"] == "sweep" and row["status"] == "ok":
            out.setdefault(row["simulator"], []).append(row)
    return {k: sorted(v, key=lambda r: r["input_rate_hz"]) for k, v in out.items()}


def sweep_table(results: dict) -> str:
    points = sweep_points(results)
    sims = [s for s in SIMULATORS if s in points]
    rates = sorted({r["input_rate_hz"] for rows in points.values() for r in rows})
    head = (["input rate per neuron (Hz)", "output rate (Hz, edsim)"]
            + [f"{s} sim CPU (s)" for s in sims])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for x in rates:
        cells = [f"{x:g}"]
        out_rate = next((r["rate_hz"] for r in points.get("edsim", [])
                         if r["input_rate_hz"] == x), None)
        cells.append(_fmt(out_rate, "{:.2f}"))
        for s in sims:
            v = next((r["sim_s"] for r in points[s] if r["input_rate_hz"] == x), None)
            cells.append(_fmt(v))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for c in results["sweep_crossovers"]:
        if c["input_rate_hz"] is None:
            lines.append(f"- edsim (event-driven) vs {c['clock_simulator']}: {c['direction']}")
        else:
            lines.append(f"- edsim (event-driven) vs {c['clock_simulator']}: crossover at "
                         f"{c['input_rate_hz']:.3g} Hz input per neuron "
                         f"({c['input_rate_hz'] / SWEEP_K_IN:.3g} Hz per source, "
                         f"{c['sim_s']:.3g} s), {c['direction']}")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    meta = results["meta"]
    durations = ", ".join(f"{_label(k)} {v:g} ms" for k, v in meta["durations_ms"].items())
    parts = [
        f"# edsim bench, {meta['started']}",
        "",
        f"Machine: {meta['cpus']} cores ({meta['processor']}), Python {meta['python']}, load "
        f"average at the end {', '.join(f'{x:.2f}' for x in meta['load_average'] or [])}; "
        f"everything single-threaded, one fresh process per run. Biological time: {durations}. "
        f"Seeds {', '.join(map(str, meta['seeds']))} (the first for the tables, the others for the "
        "seed-to-seed spread). Times are CPU seconds of the simulating thread (Brian2 standalone: "
        "its binary's own run-loop clock); RTF = sim CPU time / biological time; synaptic events "
        "= recurrent spikes x out-degree + expected Poisson input events, the same count for "
        "every simulator. A shared machine makes timings noisy: compare within one run.",
        "",
        "Variants: " + "; ".join(f"{_label(k)}: {v}" for k, v in meta["variants"].items()) + ".",
        "Simulators: "
        + "; ".join(f"{k}: {v}" for k, v in meta["simulator_variants"].items()) + ".",
    ]
    if results["ratios"]:
        parts += ["", "## Speed against the targets", "", ratio_table(results)]
    parts += ["", "## Runs", "", speed_table(results)]
    if results["agreement"]:
        parts += ["", "## Agreement of per-neuron rate and CV-of-ISI distributions", "",
                  "Kolmogorov-Smirnov distance between a run and the reference on the "
                  "same seed (same connectivity, initial state and stimulus), the median over "
                  "the seeds where both show the same activity (B1's kick can fail in any "
                  "simulator), next to the reference's own seed-to-seed spread: the largest "
                  "distance between two of its seeds that show that activity (same "
                  "connectivity, other initial state and Poisson streams). A run agrees within "
                  "the reference's own spread when its distance is not larger. The rows of NEST "
                  "against Brian2 measure the two peers against each other the same way.", "",
                  agreement_table(results)]
    if any(r["network"] == "sweep" for r in results["runs"]):
        parts += ["", "## Activity sweep", "",
                  f"{SWEEP_N} IF_cond_exp cells (benchmark 1's cell), no recurrence, each "
                  "receiving "
                  f"{SWEEP_K_IN} excitatory synapses ({SWEEP_WEIGHT * 1e3:g} nS) from a pool of "
                  f"{SWEEP_N_SOURCES} Poisson sources (scaled with --quick); the source rate "
                  "varies. Crossovers interpolated in log-log between neighbouring points.", "",
                  sweep_table(results)]
    skipped = {(r["simulator"], r["note"]) for r in results["runs"] if r["status"] != "ok"}
    if skipped:
        parts += ["", "## Not run", ""] + [f"- {s}: {n}" for s, n in sorted(skipped)]
    return "\n".join(parts) + "\n"


def plot_speed(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed = results["meta"]["seeds"][0]
    ok = [r for r in results["runs"]
          if r["status"] == "ok" and r["network"] != "sweep" and r["seed"] == seed]
    nets = list(dict.fromkeys(r["network"] for r in ok))
    sims = [s for s in SIMULATORS if any(r["simulator"] == s for r in ok)]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(nets) + 2), 4.5))
    width = 0.8 / max(len(sims), 1)
    for k, sim in enumerate(sims):
        xs, ys = [], []
        for j, net in enumerate(nets):
            row = next((r for r in ok if r["network"] == net and r["simulator"] == sim), None)
            if row is not None and row["realtime_factor"] > 0:
                xs.append(j + (k - (len(sims) - 1) / 2) * width)
                ys.append(row["realtime_factor"])
        ax.bar(xs, ys, width, label=sim)
    ax.set_yscale("log")
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    ax.set_xticks(range(len(nets)))
    ax.set_xticklabels([_label(n) for n in nets])
    ax.set_ylabel("real-time factor (sim CPU time / biological time)")
    ax.set_title("Speed per network and simulator (lower is faster)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sweep(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = sweep_points(results)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7, 7), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.3]})
    for sim in SIMULATORS:
        if sim in points:
            x = [r["input_rate_hz"] for r in points[sim]]
            ax.plot(x, [r["sim_s"] for r in points[sim]], "o-", label=sim)
            ax2.plot(x, [r["rate_hz"] for r in points[sim]], "o-", ms=3, label=sim)
    for c in results["sweep_crossovers"]:
        if c["input_rate_hz"] is not None:
            ax.plot([c["input_rate_hz"]], [c["sim_s"]], "kx", ms=10, mew=2)
            ax.annotate(f"{c['input_rate_hz']:.3g} Hz\n(vs {c['clock_simulator']})",
                        (c["input_rate_hz"], c["sim_s"]), textcoords="offset points",
                        xytext=(6, -24), fontsize=7)
            ax.axvline(c["input_rate_hz"], color="k", lw=0.5, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("simulation CPU time (s)")
    ax.set_title("Activity sweep: event-driven against clock-driven (x: crossovers)")
    ax.legend(fontsize=8)
    ax2.set_xscale("log")
    ax2.set_xlabel("input rate per neuron (Hz)")
    ax2.set_ylabel("output rate (Hz)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, out: Path, json_path: Path | None = None,
          markdown_path: Path | None = None) -> str:
    """Write ``bench.json``, ``bench.md`` and the plots into ``out``; returns the markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_safe(results), indent=1)
    md = markdown(results)
    for path in (out / "bench.json", json_path):
        if path:
            Path(path).write_text(text)
    for path in (out / "bench.md", markdown_path):
        if path:
            Path(path).write_text(md)
    if any(r["status"] == "ok" and r["network"] != "sweep" for r in results["runs"]):
        plot_speed(results, out / "speed.png")
    if sweep_points(results):
        plot_sweep(results, out / "sweep.png")
    return md
