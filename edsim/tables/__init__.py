"""Lookup tables: generated from a model's equations, certified, cached, shared read-only.

:func:`cond_table` is the front door: it returns the table of an ``IF_cond_exp`` parameter set,
from the content-addressed cache when present, otherwise generating it, measuring its accuracy
(:mod:`edsim.certify`) and writing the HDF5 file (:mod:`edsim.tables.store`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from edsim.errors import ParameterError
from edsim.tables import cond_exp
from edsim.tables.store import CondTable, content_key, read, table_dir, write

log = logging.getLogger("edsim.tables")


@dataclass(frozen=True)
class TableSpec:
    """How to build a conductance table.

    Parameters
    ----------
    ge_max, gi_max : float or None
        Largest excitatory / inhibitory conductance tabulated (µS); ``None`` means 50 and 150 times
        the leak conductance. Larger states are still simulated exactly (by quadrature, slower).
    g_bits, t_bits : int
        Mantissa bits of the float-exponent axes: ``2**bits`` nodes per octave.
    reach_margin : float
        Safety margin (mV) of the "cannot fire" bound; it costs speed, never accuracy.
    n_trains, train_duration, seed : int, float (ms), int
        The random input trains on which the table's accuracy is measured and recorded.
    """

    ge_max: float | None = None
    gi_max: float | None = None
    g_bits: int = 3
    t_bits: int = 3
    reach_margin: float = 0.5
    n_trains: int = 1000
    train_duration: float = 200.0
    seed: int = 20071

    def __post_init__(self):
        for name in ("ge_max", "gi_max"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ParameterError(f"{name} of a table must be > 0 uS (got {v})")
        for name in ("g_bits", "t_bits"):
            if not 1 <= getattr(self, name) <= 8:
                raise ParameterError(f"{name} must be in [1, 8] (got {getattr(self, name)})")
        if self.n_trains < 1 or not self.train_duration > 0:
            raise ParameterError("a table needs n_trains >= 1 and train_duration > 0 ms")


def _axes(model, spec: TableSpec):
    ge_max = spec.ge_max if spec.ge_max is not None else 50.0 * model.g_leak
    gi_max = spec.gi_max if spec.gi_max is not None else 150.0 * model.g_leak
    return cond_exp.default_grid(model, ge_max, gi_max, spec.g_bits, spec.t_bits)


def cond_key(model, spec: TableSpec = TableSpec()) -> str:
    ge, gi, t = _axes(model, spec)
    axes = {"ge": (ge.e0, ge.m, ge.n), "gi": (gi.e0, gi.m, gi.n), "t": (t.e0, t.m, t.n)}
    certify = {k: v for k, v in asdict(spec).items() if k in ("n_trains", "train_duration", "seed")}
    return content_key(model.name, model.parameters(), axes, spec.reach_margin, certify)


def cache_path(model, spec: TableSpec = TableSpec(), directory: Path | None = None) -> Path:
    key = cond_key(model, spec)
    return Path(directory or table_dir()) / f"{model.name}-{key[:20]}.h5"


def build(model, spec: TableSpec = TableSpec()) -> CondTable:
    """Generate and certify a table in memory (no file)."""
    from edsim import certify
    from edsim._engine import CondLUT

    ge, gi, t = _axes(model, spec)
    start = time.perf_counter()
    log.info("generating %s table: %d x %d x %d nodes", model.name, ge.n, gi.n, t.n)
    arrays = cond_exp.generate(model, ge, gi, t)
    table = CondTable(model.parameters(), ge, gi, t, arrays["q"], arrays["reach"], spec.reach_margin)
    generated = time.perf_counter()
    log.info("certifying on %d random input trains of %g ms", spec.n_trains, spec.train_duration)
    lut = CondLUT(table.parameters, table.axes(), table.q, table.reach, table.reach_margin)
    trains = certify.random_input_trains(model, spec.n_trains, spec.train_duration, spec.seed)
    got, stats = certify.run_table(lut, trains)
    ref = certify.reference_spikes(model, certify.shifted(trains))
    acc = certify.compare(ref, got)
    acc.update(certify.v_error(model, lut, 2000, spec.seed + 1))
    acc["fallback_updates"] = stats["n_fallback"]
    acc["reference"] = "lockstep exponential integrator, h = 2^-7 ms, Gauss-Legendre 4 (edsim.certify)"
    acc["generation_seconds"] = generated - start
    acc["certification_seconds"] = time.perf_counter() - generated
    acc["bytes"] = table.nbytes
    table.accuracy = acc
    log.info(
        "%s table: %.1f MB, spike-time error mean %.2g ms, p99 %.2g ms, missed+extra %d of %d",
        model.name, table.nbytes / 1e6, acc["spike_time_error_mean_ms"],
        acc["spike_time_error_p99_ms"], acc["n_missed"] + acc["n_extra"], acc["n_reference_spikes"],
    )
    return table


def cond_table(model, spec: TableSpec = TableSpec(), directory: Path | None = None) -> CondTable:
    """The table of ``model`` from the cache, generating and storing it first if missing."""
    path = cache_path(model, spec, directory)
    if path.exists():
        return read(path)
    table = build(model, spec)
    write(path, table, model_name=model.name, equations=model.__doc__ or "", units=model.units,
          key=cond_key(model, spec))
    log.info("wrote %s", path)
    return read(path)


__all__ = ["TableSpec", "CondTable", "build", "cond_table", "cache_path", "read", "write"]
