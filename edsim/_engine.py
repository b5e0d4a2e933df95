"""The one module that touches the compiled C core (``edsim._core``).

Everything above it passes numpy arrays and Python scalars. This layer converts them to the exact
dtype, contiguity and length the C functions expect (refusing what cannot be converted losslessly),
checks every status code in one place (:func:`check`), and owns the lifetime of C handles.
"""

from __future__ import annotations

import math

import numpy as np

from edsim.errors import (
    CausalityError,
    CoreError,
    EdsimError,
    ParameterError,
    StateError,
    TableError,
)

try:
    from edsim._core import ffi, lib
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "edsim's C core is not built; run `make run` or `pip install -e .` in the repository"
    ) from exc

_EXCEPTIONS: dict[str, type[EdsimError]] = {
    "NOMEM": CoreError,
    "INVALID": ParameterError,
    "RANGE": ParameterError,
    "CAUSALITY": CausalityError,
    "STATE": StateError,
    "OVERFLOW": CoreError,
    "TABLE": TableError,
    "NULLPTR": CoreError,
}

EVENT_KINDS = ("FIRE", "EMIT", "REFRAC_END", "STEP", "DELIVER", "JUMP_FIRE", "SAMPLE", "RECHECK")


def status_name(rc: int) -> str:
    return ffi.string(lib.eds_status_name(rc)).decode()


def check(rc: int, context: str) -> None:
    """Turn a C status into the matching exception, naming what was being done."""
    if rc == lib.EDS_OK:
        return
    name = status_name(rc)
    message = ffi.string(lib.eds_status_message(rc)).decode()
    raise _EXCEPTIONS.get(name, CoreError)(f"{context}: {message} (EDS_{name})")


def as_array(values, dtype, name: str, n: int | None = None) -> np.ndarray:
    """``values`` as a C-contiguous 1-D array of ``dtype``, refusing lossy or mis-sized input."""
    arr = np.asarray(values)
    if arr.ndim == 0 and n is not None:
        arr = np.full(n, arr)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D (got shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise ParameterError(f"{name} must be numeric (got dtype {arr.dtype})")
    target = np.dtype(dtype)
    if target.kind in "iu" and arr.dtype.kind == "f":
        if arr.size and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise ParameterError(f"{name} must hold whole numbers (got dtype {arr.dtype})")
    if target.kind == "u" and arr.size and np.min(arr) < 0:
        raise ParameterError(f"{name} must be >= 0 (got {np.min(arr)})")
    if target.kind in "iu" and arr.size and np.max(arr) > np.iinfo(target).max:
        raise ParameterError(f"{name} must be <= {np.iinfo(target).max} (got {np.max(arr)})")
    out = np.ascontiguousarray(arr, dtype=target)
    if n is not None and out.size != n:
        raise ParameterError(f"{name} must have length {n} (got {out.size})")
    return out


def _ptr(ctype: str, arr: np.ndarray):
    return ffi.cast(ctype, ffi.from_buffer(arr)) if arr.size else ffi.NULL


class CondLUT:
    """A prepared IF_cond_exp table. Holds the arrays the C side borrows for its whole life."""

    def __init__(self, params: dict[str, float], axes: dict[str, tuple[int, int, int]],
                 q: np.ndarray, reach: np.ndarray, reach_margin: float):
        self._q = np.ascontiguousarray(q, dtype=np.float64)
        self._reach = np.ascontiguousarray(reach, dtype=np.float32)
        tab = ffi.new("eds_cond_table *")
        for c_name, py_name in (
            ("cm", "cm"), ("tau_m", "tau_m"), ("v_rest", "v_rest"), ("v_thresh", "v_thresh"),
            ("v_reset", "v_reset"), ("tau_refrac", "tau_refrac"), ("tau_syn_e", "tau_syn_E"),
            ("tau_syn_i", "tau_syn_I"), ("e_rev_e", "e_rev_E"), ("e_rev_i", "e_rev_I"),
            ("i_offset", "i_offset"),
        ):
            setattr(tab, c_name, float(params[py_name]))
        for axis in ("ge", "gi", "t"):
            e0, m, n = axes[axis]
            setattr(tab, f"{axis}_e0", int(e0))
            setattr(tab, f"{axis}_m", int(m))
            setattr(tab, f"{axis}_n", int(n))
        tab.q = _ptr("double *", self._q)
        tab.reach = _ptr("float *", self._reach)
        tab.q_len = self._q.size
        tab.reach_len = self._reach.size
        tab.reach_margin = float(reach_margin)
        out = ffi.new("eds_cond_lut **")
        check(lib.eds_cond_lut_new(tab, out), "loading IF_cond_exp table")
        self._handle = ffi.gc(out[0], lib.eds_cond_lut_free)

    @property
    def handle(self):
        return self._handle

    @property
    def horizon(self) -> float:
        return float(lib.eds_cond_lut_horizon(self._handle))

    def advance(self, v0: float, ge0: float, gi0: float, dt: float) -> tuple[float, float, float]:
        out = ffi.new("double[3]")
        check(lib.eds_cond_lut_advance(self._handle, v0, ge0, gi0, dt, out, out + 1, out + 2),
              "advancing IF_cond_exp state")
        return out[0], out[1], out[2]

    def predict(self, v0: float, ge0: float, gi0: float) -> tuple[float, bool]:
        when = ffi.new("double *")
        recheck = ffi.new("int *")
        check(lib.eds_cond_lut_predict(self._handle, v0, ge0, gi0, when, recheck),
              "predicting IF_cond_exp firing")
        return when[0], bool(recheck[0])


class GenLUT:
    """A prepared table of a model declared by its equations (``edsim.tables.generic``).

    Holds the arrays the C side borrows for its whole life. ``table`` is a
    :class:`edsim.tables.generic.GenericTable`.
    """

    def __init__(self, table):
        self.table = table
        self._v = np.ascontiguousarray(table.v, dtype=np.float64)
        self._f = np.ascontiguousarray(table.f, dtype=np.float64)
        self._reach = np.ascontiguousarray(table.reach, dtype=np.float32)
        tab = ffi.new("eds_gen_table *")
        self._clean = np.ascontiguousarray(table.clean, dtype=np.int32)
        for name in ("v_thresh", "v_reset", "tau_refrac", "v_init", "tau_s1", "tau_s2",
                     "reach_margin", "v_block", "rk4_fraction", "rk4_span"):
            setattr(tab, name, float(getattr(table, name)))
        tab.v_lo = float(table.v_axis.lo)
        tab.v_n = int(table.v_axis.n)
        tab.f_below = int(table.f_below)
        tab.f_above = int(table.f_above)
        for c_name, axis in (("s1", table.s1), ("s2", table.s2)):
            setattr(tab, f"{c_name}_lo", float(axis.lo))
            setattr(tab, f"{c_name}_hi", float(axis.hi))
            setattr(tab, f"{c_name}_n", int(axis.n))
        tab.t_e0, tab.t_m, tab.t_n = int(table.t.e0), int(table.t.m), int(table.t.n)
        tab.v = _ptr("double *", self._v)
        tab.f = _ptr("double *", self._f)
        tab.reach = _ptr("float *", self._reach)
        tab.v_len = self._v.size
        tab.f_len = self._f.size
        tab.reach_len = self._reach.size
        tab.clean = _ptr("int32_t *", self._clean)
        tab.clean_len = self._clean.size
        out = ffi.new("eds_gen_lut **")
        check(lib.eds_gen_lut_new(tab, out), f"loading the table of {table.model_name}")
        self._handle = ffi.gc(out[0], lib.eds_gen_lut_free)

    @property
    def handle(self):
        return self._handle

    @property
    def horizon(self) -> float:
        return float(lib.eds_gen_lut_horizon(self._handle))

    def advance(self, v0: float, s1: float, s2: float, dt: float) -> tuple[float, float, float]:
        out = ffi.new("double[3]")
        check(lib.eds_gen_lut_advance(self._handle, v0, s1, s2, dt, out, out + 1, out + 2),
              f"advancing {self.table.model_name} state")
        return out[0], out[1], out[2]

    def predict(self, v0: float, s1: float, s2: float) -> tuple[float, bool]:
        when = ffi.new("double *")
        recheck = ffi.new("int *")
        check(lib.eds_gen_lut_predict(self._handle, v0, s1, s2, when, recheck),
              f"predicting {self.table.model_name} firing")
        return when[0], bool(recheck[0])

    def dv_dt(self, v: float, s1: float, s2: float) -> float:
        out = ffi.new("double *")
        check(lib.eds_gen_lut_dv_dt(self._handle, v, s1, s2, out),
              f"evaluating {self.table.model_name} dv/dt")
        return out[0]

    def in_table(self, v: float, s1: float, s2: float) -> bool:
        return bool(lib.eds_gen_lut_in_table(self._handle, v, s1, s2))


class _Buffer:
    """Two reusable numpy arrays and their C pointers, made once (drain targets)."""

    def __init__(self, shape_a, shape_b, dtype_b=np.uint32):
        self.a = np.empty(shape_a, np.float64)
        self.b = np.empty(shape_b, dtype_b)
        self.pa = ffi.cast("double *", ffi.from_buffer(self.a))
        self.pb = ffi.cast("double *" if dtype_b == np.float64 else "uint32_t *",
                           ffi.from_buffer(self.b))


_NO_SPIKES = (np.zeros(0, np.float64), np.zeros(0, np.uint32))
for _a in _NO_SPIKES:
    _a.flags.writeable = False

STATS_FIELDS = (
    "n_events", "n_stale", "n_spikes", "n_source_spikes", "n_synaptic_events", "n_predictions",
    "n_deferred", "n_rejects", "n_fallback", "heap_max", "heap_size", "n_synapses", "n_delay_groups",
    "n_fused_sources", "bytes_synapses", "bytes_neurons",
)


def _curr_params(params: dict[str, float]):
    """The C struct of IF_curr_exp / IF_curr_delta parameters (PyNN names, units)."""
    p = ffi.new("eds_curr_params *")
    for c_name, py_name in (("cm", "cm"), ("tau_m", "tau_m"), ("v_rest", "v_rest"),
                            ("v_thresh", "v_thresh"), ("v_reset", "v_reset"),
                            ("tau_refrac", "tau_refrac"), ("tau_syn_e", "tau_syn_E"),
                            ("tau_syn_i", "tau_syn_I"), ("i_offset", "i_offset")):
        setattr(p, c_name, float(params.get(py_name, 1.0)))
    return p


class Sim:
    """Owner of one C simulation handle."""

    def __init__(self, seed: int):
        self._h = None
        if not (0 <= int(seed) < 2**64):
            raise ParameterError(f"seed must be in [0, 2**64) (got {seed})")
        out = ffi.new("eds_sim **")
        check(lib.eds_sim_new(int(seed), out), "creating simulation")
        self._h = out[0]
        self._luts: list[CondLUT | GenLUT] = []  # borrowed by populations: keep alive
        self._u64 = ffi.new("uint64_t *")          # scratch out-parameter of the per-step calls
        self._spk_buf: _Buffer | None = None        # drain buffers, reused step after step
        self._smp_bufs: dict[int, _Buffer] = {}

    def close(self) -> None:
        if self._h is not None:
            lib.eds_sim_free(self._h)
            self._h = None

    def __del__(self):
        self.close()

    @property
    def h(self):
        if self._h is None:
            raise StateError("the simulation was closed")
        return self._h

    @property
    def now(self) -> float:
        return float(lib.eds_sim_now(self.h))

    def stats(self) -> dict[str, int]:
        s = ffi.new("eds_stats *")
        check(lib.eds_sim_stats(self.h, s), "reading statistics")
        return {name: int(getattr(s, name)) for name in STATS_FIELDS}

    def add_cond_exp(self, lut: CondLUT, n: int) -> int:
        first = ffi.new("uint32_t *")
        check(lib.eds_sim_add_cond_exp(self.h, lut.handle, n, first), "adding IF_cond_exp population")
        self._luts.append(lut)
        return int(first[0])

    def add_gen(self, lut: GenLUT, n: int) -> int:
        first = ffi.new("uint32_t *")
        check(lib.eds_sim_add_gen(self.h, lut.handle, n, first),
              f"adding {lut.table.model_name} population")
        self._luts.append(lut)
        return int(first[0])

    def add_spike_source(self, n: int) -> int:
        first = ffi.new("uint32_t *")
        check(lib.eds_sim_add_spike_source(self.h, n, first), "adding spike source")
        return int(first[0])

    def add_poisson(self, n: int, rate: float, start: float, stop: float) -> int:
        first = ffi.new("uint32_t *")
        check(lib.eds_sim_add_poisson(self.h, n, rate, start, stop, first), "adding Poisson source")
        return int(first[0])

    def add_spike_times(self, gid: int, times) -> None:
        t = as_array(times, np.float64, "spike times")
        check(lib.eds_sim_add_spike_times(self.h, gid, _ptr("double *", t), t.size),
              f"adding spike times to source {gid}")

    def add_synapses(self, pre, post, weight, delay, receptor) -> None:
        pre = as_array(pre, np.uint32, "pre")
        n = pre.size
        post = as_array(post, np.uint32, "post", n)
        weight = as_array(weight, np.float32, "weight", n)
        delay = as_array(delay, np.float64, "delay", n)
        receptor = as_array(receptor, np.uint8, "receptor", n)
        check(lib.eds_sim_add_synapses(
            self.h, n, _ptr("uint32_t *", pre), _ptr("uint32_t *", post),
            _ptr("float *", weight), _ptr("double *", delay), _ptr("uint8_t *", receptor)),
            "adding synapses")

    def add_exact(self, kind: str, params: dict[str, float], n: int) -> int:
        """IF_curr_exp (kind "curr_exp") or IF_curr_delta (kind "curr_delta") neurons."""
        p = _curr_params(params)
        first = ffi.new("uint32_t *")
        fn = lib.eds_sim_add_curr_exp if kind == "curr_exp" else lib.eds_sim_add_curr_delta
        check(fn(self.h, p, n, first), f"adding {kind} population")
        return int(first[0])

    def add_clock(self, model: int, n: int, dt: float, params) -> int:
        params = as_array(params, np.float64, "model parameters")
        first = ffi.new("uint32_t *")
        check(lib.eds_sim_add_clock(self.h, int(model), n, float(dt), _ptr("double *", params),
                                    params.size, first), "adding time-driven population")
        return int(first[0])

    def set_state(self, first: int, v, s1, s2) -> None:
        v = as_array(v, np.float64, "v")
        n = v.size
        s1 = as_array(s1, np.float64, "synaptic state 1", n)
        s2 = as_array(s2, np.float64, "synaptic state 2", n)
        check(lib.eds_sim_set_state(self.h, first, n, _ptr("double *", v),
                                    _ptr("double *", s1), _ptr("double *", s2)),
              "setting neuron state")

    def get_state(self, first: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = np.empty((3, n))
        check(lib.eds_sim_get_state(self.h, first, n, _ptr("double *", out[0]),
                                    _ptr("double *", out[1]), _ptr("double *", out[2])),
              "reading neuron state")
        return out[0], out[1], out[2]

    def set_clock_state(self, first: int, x: np.ndarray) -> None:
        x = np.ascontiguousarray(x, dtype=np.float64)
        check(lib.eds_sim_set_clock_state(self.h, first, x.shape[0], _ptr("double *", x.ravel())),
              "setting time-driven state")

    def get_clock_state(self, first: int, n: int, n_state: int) -> np.ndarray:
        out = np.empty((n, n_state))
        check(lib.eds_sim_get_clock_state(self.h, first, n, _ptr("double *", out.ravel())),
              "reading time-driven state")
        return out

    def record_spikes(self, first: int, n: int, on: bool = True) -> None:
        check(lib.eds_sim_record_spikes(self.h, first, n, int(on)), "recording spikes")

    def drain_spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """Every spike recorded since the last drain: (t, ids), fresh arrays.

        Drains through reusable buffers (their C pointers made once), so a closed-loop step with
        few or no spikes costs one call into the core.
        """
        out_t, out_i = [], []
        while True:
            if self._spk_buf is None:
                self._spk_buf = _Buffer((1024,), (1024,))
            buf = self._spk_buf
            cap = buf.a.shape[0]
            check(lib.eds_sim_drain_spikes(self.h, buf.pa, buf.pb, cap, self._u64),
                  "draining spikes")
            n = int(self._u64[0])
            if n:
                out_t.append(buf.a[:n].copy())
                out_i.append(buf.b[:n].copy())
            if n < cap:
                break
            self._spk_buf = _Buffer((2 * cap,), (2 * cap,))
        if not out_t:
            return _NO_SPIKES
        if len(out_t) == 1:
            return out_t[0], out_i[0]
        return np.concatenate(out_t), np.concatenate(out_i)

    def add_sampler(self, ids, start: float, interval: float) -> int:
        ids = as_array(ids, np.uint32, "recorded ids")
        out = ffi.new("uint32_t *")
        check(lib.eds_sim_add_sampler(self.h, _ptr("uint32_t *", ids), ids.size, start, interval,
                                      out), "adding state sampler")
        return int(out[0])

    def samples_pending(self, sampler: int) -> int:
        """Rows the sampler holds, not yet drained."""
        check(lib.eds_sim_samples_pending(self.h, sampler, self._u64), "reading samples")
        return int(self._u64[0])

    def drain_samples(self, sampler: int, n_ids: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Samples pending in ``sampler``: (t, values[rows, n_ids, 3]), or None if none."""
        n = self.samples_pending(sampler)
        if n == 0:
            return None
        buf = self._smp_bufs.get(sampler)
        if buf is None or buf.a.shape[0] < n:
            cap = max(n, 64, 2 * buf.a.shape[0] if buf is not None else 0)
            buf = self._smp_bufs[sampler] = _Buffer((cap,), (cap, n_ids, 3), np.float64)
        check(lib.eds_sim_drain_samples(self.h, sampler, buf.pa, buf.pb, n,
                                        self._u64), "draining samples")
        got = int(self._u64[0])
        return buf.a[:got].copy(), buf.b[:got].copy()

    def prepare(self) -> None:
        check(lib.eds_sim_prepare(self.h), "freezing the connectivity")

    def run(self, until: float) -> None:
        if not math.isfinite(until):
            raise ParameterError(f"run end time must be finite (got {until})")
        rc = lib.eds_sim_run(self.h, float(until))
        if rc:
            check(rc, f"running to t = {until} ms")

    # -- closed loop (csrc/control.c) -------------------------------------------------------
    def inject(self, ids: np.ndarray, times: np.ndarray) -> None:
        """Stage spikes ``times[k]`` for source ids ``ids[k]`` (validated, equal lengths)."""
        ids = np.ascontiguousarray(ids, dtype=np.uint32)
        times = np.ascontiguousarray(times, dtype=np.float64)
        if ids.size != times.size:
            raise ParameterError(f"inject: {ids.size} ids for {times.size} spike times")
        rc = lib.eds_sim_inject(self.h, ids.size, ffi.from_buffer("uint32_t[]", ids),
                                ffi.from_buffer("double[]", times))
        if rc:
            check(rc, "injecting spikes")

    def set_curr_params(self, first: int, params: dict[str, float]) -> None:
        p = _curr_params(params)
        check(lib.eds_sim_set_curr_params(self.h, first, p), "changing neuron parameters")

    def set_cond_lut(self, first: int, lut: CondLUT) -> None:
        check(lib.eds_sim_set_cond_lut(self.h, first, lut.handle), "changing the table")
        self._luts.append(lut)

    def set_reset(self, first: int, v_reset: float, tau_refrac: float) -> None:
        check(lib.eds_sim_set_reset(self.h, first, float(v_reset), float(tau_refrac)),
              "changing v_reset / tau_refrac")

    def set_clock_params(self, first: int, params) -> None:
        params = as_array(params, np.float64, "model parameters")
        check(lib.eds_sim_set_clock_params(self.h, first, _ptr("double *", params), params.size),
              "changing time-driven parameters")

    def track_synapses(self, first: int, n: int) -> int:
        out = ffi.new("uint32_t *")
        check(lib.eds_sim_track_synapses(self.h, first, n, out), "tracking synapses")
        return int(out[0])

    def get_weights(self, track: int, n: int, edges: np.ndarray | None = None) -> np.ndarray:
        out = np.empty(n, np.float32)
        e = None if edges is None else np.ascontiguousarray(edges, dtype=np.uint64)
        check(lib.eds_sim_get_weights(self.h, track, n,
                                      ffi.NULL if e is None else _ptr("uint64_t *", e),
                                      _ptr("float *", out)), "reading weights")
        return out

    def set_weights(self, track: int, weights: np.ndarray, edges: np.ndarray | None = None) -> None:
        w = np.ascontiguousarray(weights, dtype=np.float32)
        e = None if edges is None else np.ascontiguousarray(edges, dtype=np.uint64)
        check(lib.eds_sim_set_weights(self.h, track, w.size,
                                      ffi.NULL if e is None else _ptr("uint64_t *", e),
                                      _ptr("float *", w)), "changing weights")

    def shed_recording(self, first: int, n: int, shed: bool) -> None:
        check(lib.eds_sim_shed_recording(self.h, first, n, int(shed)), "shedding spike recording")

    def pause_sampler(self, sampler: int, paused: bool) -> None:
        check(lib.eds_sim_pause_sampler(self.h, sampler, int(paused)), "pausing a sampler")

    def shed_counts(self) -> tuple[int, int]:
        """(spikes not recorded because shed, sample rows skipped over all samplers)."""
        a = ffi.new("uint64_t *")
        b = ffi.new("uint64_t *")
        check(lib.eds_sim_shed_counts(self.h, a, b), "reading shedding counters")
        return int(a[0]), int(b[0])

    def sampler_skipped(self, sampler: int) -> int:
        out = ffi.new("uint64_t *")
        check(lib.eds_sim_sampler_skipped(self.h, sampler, out), "reading a sampler")
        return int(out[0])

    def check_queue(self) -> None:
        check(lib.eds_sim_check_queue(self.h), "checking the event queue")


def clock_model_info(model: int) -> tuple[int, int]:
    """(number of parameters, number of state variables) of a time-driven model."""
    n_params = ffi.new("uint32_t *")
    n_state = ffi.new("uint32_t *")
    check(lib.eds_clock_model_info(int(model), n_params, n_state), f"time-driven model {model}")
    return int(n_params[0]), int(n_state[0])


def philox4x64(counter, key) -> np.ndarray:
    """One Philox4x64-10 block (exposed for tests)."""
    ctr = ffi.new("uint64_t[4]", [int(c) for c in counter])
    k = ffi.new("uint64_t[2]", [int(c) for c in key])
    out = ffi.new("uint64_t[4]")
    lib.eds_philox4x64(ctr, k, out)
    return np.array([out[i] for i in range(4)], dtype=np.uint64)
