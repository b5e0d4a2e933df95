"""HDF5 files of lookup tables, and their content-addressed cache.

File layout (``format = "edsim-lut"``, ``format_version = 1``)::

    /                attrs: format, format_version, edsim_version, model, generator_version,
                            equations, equations_sha256, interpolation, reach_margin_mV, key
    /parameters      one scalar dataset per model parameter, attr ``unit``
    /axes/{ge,gi,t}  node positions, attrs ``e0``, ``m``, ``n``, ``unit``
    /q               float64 [ge, gi, t], unit mV: forced response of v
    /reach           float32 [ge, gi, t], unit mV: reachable distance below threshold
    /accuracy        attrs: the measured accuracy (see edsim/certify.py)

Readers check ``format`` and ``format_version`` before anything else. Tables are stored
contiguous and uncompressed, so they are memory-mapped read-only: processes share one copy
through the page cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edsim._h5 import atomic_write, mapped, open_checked
from edsim.errors import TableError
from edsim.tables.axis import FloatExpAxis

FORMAT = "edsim-lut"
FORMAT_VERSION = 1
GENERATOR_VERSION = 1
INTERPOLATION = "v exact in v0; Q: cubic Lagrange in (ge0, gi0) x cubic Hermite in t (dv/dt from the ODE)"


@dataclass
class CondTable:
    """An IF_cond_exp table set in memory (arrays may be read-only memory maps)."""

    parameters: dict[str, float]
    ge: FloatExpAxis
    gi: FloatExpAxis
    t: FloatExpAxis
    q: np.ndarray
    reach: np.ndarray
    reach_margin: float
    accuracy: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    @property
    def nbytes(self) -> int:
        return int(self.q.nbytes + self.reach.nbytes)

    def axes(self) -> dict[str, tuple[int, int, int]]:
        return {name: (a.e0, a.m, a.n) for name, a in (("ge", self.ge), ("gi", self.gi), ("t", self.t))}


def table_dir() -> Path:
    """Where generated tables are cached: ``$EDSIM_TABLE_DIR`` or ``~/.cache/edsim/tables``."""
    env = os.environ.get("EDSIM_TABLE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "edsim" / "tables"


def content_key(model_name: str, parameters: dict[str, float], axes: dict, margin: float,
                certify: dict) -> str:
    """Hash of everything a table's content depends on."""
    blob = json.dumps(
        {"model": model_name, "parameters": parameters, "axes": axes, "margin": margin,
         "certify": certify, "generator": GENERATOR_VERSION, "format": FORMAT_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def write(path: Path, table: CondTable, *, model_name: str, equations: str, units: dict[str, str],
          key: str) -> None:
    """Write atomically (temporary file, then rename), so readers never see half a file."""
    from edsim import __version__

    path = Path(path)
    with atomic_write(path) as f:
        f.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION, "edsim_version": __version__,
            "model": model_name, "generator_version": GENERATOR_VERSION,
            "equations": equations,
            "equations_sha256": hashlib.sha256(equations.encode()).hexdigest(),
            "interpolation": INTERPOLATION, "reach_margin_mV": table.reach_margin, "key": key,
        })
        params = f.create_group("parameters")
        for name, value in table.parameters.items():
            params.create_dataset(name, data=value).attrs["unit"] = units[name]
        axes = f.create_group("axes")
        for name, ax, unit in (("ge", table.ge, "uS"), ("gi", table.gi, "uS"),
                               ("t", table.t, "ms")):
            d = axes.create_dataset(name, data=ax.nodes())
            d.attrs.update({"e0": ax.e0, "m": ax.m, "n": ax.n, "unit": unit})
        f.create_dataset("q", data=table.q).attrs["unit"] = "mV"
        f.create_dataset("reach", data=table.reach).attrs["unit"] = "mV"
        acc = f.create_group("accuracy")
        acc.attrs.update(table.accuracy)


def read(path: Path) -> CondTable:
    """Read a table file, checking its format, version and consistency first."""
    path = Path(path)
    with open_checked(path, FORMAT, FORMAT_VERSION, "table", TableError,
                      "; regenerate it with `edsim tables build`") as f:
        try:
            params = {name: float(d[()]) for name, d in f["parameters"].items()}
            axes = {}
            for name in ("ge", "gi", "t"):
                a = f["axes"][name].attrs
                axes[name] = FloatExpAxis(int(a["e0"]), int(a["m"]), int(a["n"]))
            shape = (axes["ge"].n, axes["gi"].n, axes["t"].n)
            q_d, r_d = f["q"], f["reach"]
            if q_d.shape != shape or r_d.shape != shape:
                raise TableError(f"'{path}': table shapes {q_d.shape}, {r_d.shape} do not match axes {shape}")
            if q_d.dtype != np.float64 or r_d.dtype != np.float32:
                raise TableError(f"'{path}': unexpected table dtypes {q_d.dtype}, {r_d.dtype}")
            try:
                q = mapped(q_d, path)
                reach = mapped(r_d, path)
            except ValueError as exc:
                raise TableError(f"'{path}' is truncated: {exc}") from None
            margin = float(f.attrs["reach_margin_mV"])
            accuracy = {k: (v.item() if hasattr(v, "item") else v) for k, v in f["accuracy"].attrs.items()}
        except KeyError as exc:
            raise TableError(f"'{path}' is missing {exc} (truncated or foreign file)") from None
        except OSError as exc:
            raise TableError(f"'{path}' is unreadable (truncated?): {exc}") from None
    return CondTable(params, axes["ge"], axes["gi"], axes["t"], q, reach, margin, accuracy, path)
