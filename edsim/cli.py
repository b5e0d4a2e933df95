"""The ``edsim`` command line: tables, scenarios, benchmarks.

    edsim tables build IF_cond_exp cm=0.2 v_rest=-60 ...   generate (or find cached) a table
    edsim tables build mymodels:QIF tau_m=12               ... of a model declared by its equations
    edsim tables info FILE                                  axes, size, accuracy, parameters
    edsim run coba [scenario options]                       run scenarios/coba.py
    edsim bench                                             time the standard networks
    edsim bench-loop                                        closed-loop benchmark (edsim.bench_loop)
    edsim serve loop10k --port 7411                         serve a closed loop over a socket
"""

from __future__ import annotations

import argparse
import json
import logging
import runpy
import sys
import time
from pathlib import Path

from edsim.errors import EdsimError, ParameterError

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _parse_params(pairs: list[str]) -> dict[str, float]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ParameterError(f"parameters are name=value (got {pair!r})")
        try:
            params[name] = float(value)
        except ValueError:
            raise ParameterError(f"parameter {name} must be a number (got {value!r})") from None
    return params


def _load_model_class(spec: str):
    """``module:Class`` (a model declared with edsim.EquationModel), imported."""
    import importlib

    from edsim.equations import EquationModel

    module, _, name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ParameterError(f"cannot import model {spec!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, EquationModel)):
        raise ParameterError(f"{spec} is not a model declared with edsim.EquationModel")
    return cls


def _tables_build_generic(args) -> int:
    from edsim.tables import generic

    spec = args.model if ":" in args.model else "edsim.nmda:IF_cond_exp_nmda"
    model = _load_model_class(spec).from_dict(_parse_params(args.params))
    table = generic.generic_table(model, generic.GenericSpec(), args.dir)
    _print_info(table.path)
    return 0


def _tables_build(args) -> int:
    from edsim import tables
    from edsim.models import MODELS

    if ":" in args.model or args.model == "IF_cond_exp_nmda":
        return _tables_build_generic(args)
    if args.model not in MODELS or MODELS[args.model].engine != "table":
        raise ParameterError(f"unknown model {args.model!r}; available: {', '.join(MODELS)}")
    model = MODELS[args.model].from_dict(_parse_params(args.params))
    spec = tables.TableSpec(ge_max=args.ge_max, gi_max=args.gi_max)
    table = tables.cond_table(model, spec, args.dir)
    _print_info(table.path)
    return 0


def _print_generic_info(path) -> None:
    from edsim.tables.generic import read

    t = read(path)
    print(f"table {path} (model {t.model_name}, declared by its equations)")
    print(f"  size           {t.nbytes / 1e6:.2f} MB")
    print(f"  axis v0        {t.v_axis.n} nodes on [{t.v_axis.lo:g}, {t.v_axis.hi:g}] mV")
    for name, ax, unit in zip(t.syn_names, (t.s1, t.s2), t.syn_units):
        print(f"  axis {name:9s} {ax.n} nodes on [{ax.lo:g}, {ax.hi:g}] {unit}")
    print(f"  axis t         {t.t.n} nodes on [0, {t.t.x_max:.4g}] ms "
          f"(first step {t.t.x0 / 2**t.t.m:.3g}, {2**t.t.m} per octave)")
    print("  parameters     " + ", ".join(f"{k}={v:g} {t.units[k]}" for k, v in t.parameters.items()))
    _print_accuracy(t.accuracy)


def _print_accuracy(accuracy: dict) -> None:
    print("  accuracy")
    for k, v in accuracy.items():
        print(f"    {k:32s} {v:.4g}" if isinstance(v, float) else f"    {k:32s} {v}")


def _print_info(path) -> None:
    from edsim.tables.generic import is_generic_file
    from edsim.tables.store import read

    if is_generic_file(path):
        _print_generic_info(path)
        return
    t = read(path)
    print(f"table {path}")
    print(f"  size           {t.nbytes / 1e6:.2f} MB")
    for name, ax, unit in (("ge", t.ge, "uS"), ("gi", t.gi, "uS"), ("t", t.t, "ms")):
        print(f"  axis {name:3s}       {ax.n} nodes on [0, {ax.x_max:.4g}] {unit} "
              f"(first step {ax.x0 / 2**ax.m:.3g}, {2**ax.m} per octave)")
    print("  parameters     " + ", ".join(f"{k}={v:g}" for k, v in t.parameters.items()))
    _print_accuracy(t.accuracy)


def _tables_info(args) -> int:
    _print_info(args.file)
    return 0


def _run(args) -> int:
    script = SCENARIOS / f"{args.scenario}.py"
    if not script.exists():
        available = sorted(p.stem for p in SCENARIOS.glob("*.py")) if SCENARIOS.exists() else []
        raise ParameterError(f"no scenario {args.scenario!r}; available: {', '.join(available)}")
    sys.argv = [str(script), *args.rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


BENCH_NETWORKS = ("coba", "cuba", "event_driven_cuba", "coba_hh", "brunel")
BENCH_DEFAULT = ("coba", "cuba", "event_driven_cuba", "brunel")
_BENCH_COLUMNS = (
    ("network", "network", "{}"), ("neurons", "neurons", "{}"), ("synapses", "synapses", "{}"),
    ("build_s", "build (s)", "{:.2f}"), ("sim_s", "sim (s)", "{:.2f}"),
    ("realtime_factor", "RTF", "{:.3g}"), ("synaptic_events_per_s", "syn. events/s", "{:.3g}"),
    ("peak_rss_mb", "peak RSS (MB)", "{:.0f}"), ("rate_hz", "rate (Hz)", "{:.2f}"),
    ("cv_isi_mean", "CV ISI", "{:.2f}"),
)


def _bench_one(network: str, seed: int, duration: float, brunel_scale: float) -> dict:
    """Build and run one network; the row of ``edsim bench`` (peak RSS of this process)."""
    import resource

    if str(SCENARIOS) not in sys.path:
        sys.path.insert(0, str(SCENARIOS))
    import importlib

    module = importlib.import_module(network)
    scale = brunel_scale if network == "brunel" else 1.0
    t0 = time.perf_counter()
    net, recs = module.build(seed=seed, scale=scale)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.run(duration)
    sim_s = time.perf_counter() - t0
    s = module.summarize(net, recs, duration, sim_s)
    s.update(network=network, seed=seed, scale=scale, build_s=build_s, sim_s=sim_s,
             engine="edsim",
             peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return s


def _bench_isolated(network: str, seed: int, duration: float, brunel_scale: float) -> dict:
    """``_bench_one`` in a fresh interpreter, so that its peak RSS is this network's alone."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        code = ("import json, sys; from edsim.cli import _bench_one; "
                f"row = _bench_one({network!r}, {seed!r}, {duration!r}, {brunel_scale!r}); "
                f"open({str(out)!r}, 'w').write(json.dumps(row))")
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
        if proc.returncode != 0 or not out.exists():
            raise EdsimError(f"bench of {network} failed (exit status {proc.returncode})")
        return json.loads(out.read_text())


def _bench_markdown(rows: list[dict], duration: float, seed: int) -> str:
    lines = [f"edsim bench: {duration:g} ms of biological time, seed {seed}; one process per "
             "network unless --in-process (peak RSS is then the process's peak so far)", "",
             "| " + " | ".join(h for _, h, _ in _BENCH_COLUMNS) + " |",
             "|" + "---|" * len(_BENCH_COLUMNS)]
    for row in rows:
        cells = []
        for key, _, fmt in _BENCH_COLUMNS:
            value = row[key]
            if key == "network" and row.get("scale", 1.0) != 1.0:
                value = f"{value} (scale {row['scale']:g})"
            cells.append(fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _bench(args) -> int:
    if args.duration <= 0:
        raise ParameterError(f"--duration must be > 0 ms (got {args.duration})")
    if not args.brunel_scale > 0:
        raise ParameterError(f"--brunel-scale must be > 0 (got {args.brunel_scale})")
    run = _bench_one if args.in_process else _bench_isolated
    rows = []
    for network in args.networks:
        s = run(network, args.seed, args.duration, args.brunel_scale)
        rows.append(s)
        if not args.quiet:
            print(f"{network}: build {s['build_s']:.2f} s, sim {s['sim_s']:.2f} s, "
                  f"RTF {s['realtime_factor']:.3g}, "
                  f"{s['synaptic_events_per_s'] / 1e6:.2f} M synaptic events/s, "
                  f"peak RSS {s['peak_rss_mb']:.0f} MB, rate {s['rate_hz']:.2f} Hz, "
                  f"CV {s['cv_isi_mean']:.2f}", file=sys.stderr)
    table = _bench_markdown(rows, args.duration, args.seed)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="edsim", description="event-driven spiking network simulator")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    sub = parser.add_subparsers(dest="command", required=True)
    tables = sub.add_parser("tables", help="lookup tables").add_subparsers(dest="action", required=True)
    b = tables.add_parser("build", help="generate a model's table (or find it in the cache)")
    b.add_argument("model", help="IF_cond_exp, IF_cond_exp_nmda, or module:Class of an "
                   "edsim.EquationModel")
    b.add_argument("params", nargs="*", help="parameters as name=value (PyNN names and units)")
    b.add_argument("--ge-max", type=float, default=None, help="largest tabulated g_exc (uS)")
    b.add_argument("--gi-max", type=float, default=None, help="largest tabulated g_inh (uS)")
    b.add_argument("--dir", type=Path, default=None, help="cache folder")
    b.set_defaults(func=_tables_build)
    i = tables.add_parser("info", help="describe a table file")
    i.add_argument("file", type=Path)
    i.set_defaults(func=_tables_info)
    r = sub.add_parser("run", help="run a scenario from scenarios/")
    r.add_argument("scenario")
    r.add_argument("rest", nargs=argparse.REMAINDER)
    r.set_defaults(func=_run)
    be = sub.add_parser("bench", help="time the standard networks")
    be.add_argument("--networks", nargs="+", choices=BENCH_NETWORKS, default=list(BENCH_DEFAULT),
                    help="networks to run (default: %(default)s)")
    be.add_argument("--duration", type=float, default=1000.0, help="biological time (ms)")
    be.add_argument("--seed", type=int, default=1)
    be.add_argument("--brunel-scale", type=float, default=0.2,
                    help="size factor of the Brunel network (1 = 12,500 neurons, 15.6 M synapses)")
    be.add_argument("--json", default=None, help="write the rows as JSON here")
    be.add_argument("--markdown", default=None, help="write the markdown table here")
    be.add_argument("--in-process", action="store_true",
                    help="run every network in this process (peak RSS then accumulates)")
    be.set_defaults(func=_bench)
    from edsim import bench_loop
    from edsim.serve import add_subcommand as add_serve

    bench_loop.add_parser(sub)
    add_serve(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except EdsimError as exc:
        print(f"edsim: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
