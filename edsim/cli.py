"""The ``edsim`` command line: tables, scenarios, benchmarks.

    edsim tables build IF_cond_exp cm=0.2 v_rest=-60 ...   generate (or find cached) a table
    edsim tables build mymodels:QIF tau_m=12               ... of a model declared by its equations
    edsim tables info FILE                                  axes, size, accuracy, parameters
    edsim run coba [scenario options]                       run scenarios/coba.py
    edsim bench                                             time the standard networks
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
    print("  accuracy")
    for k, v in t.accuracy.items():
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
    print("  accuracy")
    for k, v in t.accuracy.items():
        print(f"    {k:32s} {v:.4g}" if isinstance(v, float) else f"    {k:32s} {v}")


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


def _bench(args) -> int:
    sys.path.insert(0, str(SCENARIOS))
    import coba  # noqa: PLC0415 - scenario module

    rows = []
    for seed in args.seeds:
        net, recs = coba.build(seed=seed)
        t0 = time.perf_counter()
        net.run(args.duration)
        wall = time.perf_counter() - t0
        s = coba.summarize(net, recs, args.duration, wall)
        s.update(network="coba", seed=seed, engine="edsim event-driven")
        rows.append(s)
        print(f"coba seed {seed}: RTF {s['realtime_factor']:.3f}, "
              f"{s['synaptic_events_per_s'] / 1e6:.2f} M synaptic events/s, "
              f"rate {s['rate_hz']:.2f} Hz, CV {s['cv_isi_mean']:.2f}")
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
    be.add_argument("--duration", type=float, default=2000.0)
    be.add_argument("--seeds", type=int, nargs="+", default=[1])
    be.add_argument("--json", default=None)
    be.set_defaults(func=_bench)
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
