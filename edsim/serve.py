"""``edsim serve``: a network stepped by an external controller over a socket.

A *closed-loop spec* is a callable ``spec(seed=..., **params)`` returning a :class:`LoopNetwork`:
the network, its input ports (``SpikeTimes`` sources the controller injects spikes into) and its
output ports (recorders whose new spikes go back after every step). The server builds it, listens
on a TCP port on localhost or on a Unix socket, and serves one client at a time with the protocol
of ``docs/protocol.md`` (framing in :mod:`edsim.protocol`).

Guarantees, each tested in ``tests/test_serve.py``:

* A STEP is atomic: it is fully validated (layout, target time, ports, indices, spike times)
  before anything is injected, so a refused STEP changes nothing.
* A client that sends a malformed header, an oversized length, or stalls in the middle of a
  message gets an ERROR and is disconnected; one that disconnects at any point is dropped. The
  network's state is only ever changed by complete, valid STEP or RESET messages, and the server
  goes on listening.
* A second client while one is connected gets ERROR BUSY and is disconnected.
* The server is single-threaded (``selectors``) and never blocks on a socket: a peer that stops
  reading or writing is timed out.

Example
-------
>>> from edsim.serve import Server
>>> server = Server("tiny", port=0)            # doctest: +SKIP
>>> server.serve_forever()                     # doctest: +SKIP
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import json
import logging
import math
import re
import selectors
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import edsim
from edsim import protocol as P
from edsim.errors import EdsimError, ParameterError
from edsim.network import Network, SpikeTimes, _Cells
from edsim.recording import Recorder

log = logging.getLogger("edsim.serve")

DEFAULT_PORT = 7411
DEFAULT_TIMEOUT_S = 10.0       # a started message must complete within this (s)
DEFAULT_MAX_STEP_MS = 60_000.0  # longest STEP (ms of biological time)
CLOSE_DRAIN_S = 1.0            # after an error that closes, read and discard for at most this (s)
RECV_BYTES = 65536
RECV_CHUNKS = 16               # reads per readable event, so one client cannot starve the loop
_READY = re.compile(r"listening on (\S+)")


# ---- closed-loop specs ----------------------------------------------------------------------

@dataclass(frozen=True)
class LoopNetwork:
    """A network with named input and output ports, as a closed-loop spec returns it.

    Parameters
    ----------
    network : edsim.Network
        The network; the server steps it.
    inputs : dict[str, Population or PopulationView]
        Input ports: ``SpikeTimes`` sources of ``network``; a client's spike with index ``k`` goes
        to source ``k`` of the port.
    outputs : dict[str, Recorder]
        Output ports: recorders of ``network`` (``net.record(cells)``); after each step the
        client receives the spikes recorded during it, as population-local indices.
    description : str
        One line for logs and the WELCOME message.
    """

    network: Network
    inputs: dict
    outputs: dict
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.network, Network):
            raise ParameterError(
                f"LoopNetwork.network must be an edsim.Network (got {self.network!r})")
        for kind, ports in (("input", self.inputs), ("output", self.outputs)):
            if not isinstance(ports, dict):
                raise ParameterError(
                    f"LoopNetwork {kind}s must be a dict name -> port (got {ports!r})")
            if len(ports) > 0xFFFF:
                raise ParameterError(
                    f"a LoopNetwork has at most 65535 {kind} ports (got {len(ports)})")
            for name in ports:
                if not isinstance(name, str) or not name or len(name.encode()) > 255:
                    raise ParameterError(
                        f"{kind} port names must be non-empty strings of <= 255 UTF-8 bytes "
                        f"(got {name!r})"
                    )
        for name, src in self.inputs.items():
            if not (isinstance(src, _Cells) and isinstance(src.model, SpikeTimes)):
                raise ParameterError(
                    f"input port '{name}' must be a SpikeTimes source population or view, e.g. "
                    f"net.source(edsim.SpikeTimes(), n=10) (got {src!r})"
                )
            if src.network is not self.network:
                raise ParameterError(f"input port '{name}' belongs to another network")
        for name, rec in self.outputs.items():
            if not isinstance(rec, Recorder):
                raise ParameterError(
                    f"output port '{name}' must be a Recorder, e.g. net.record(pop) (got {rec!r})"
                )
            if not any(rec is r for r in self.network._recorders):
                raise ParameterError(f"output port '{name}' records another network")


def as_loop_network(obj: Any) -> LoopNetwork:
    """A :class:`LoopNetwork` from what a spec returned: itself, a LoopNetwork-like object
    with ``network``, ``inputs`` and ``outputs`` attributes, or ``(network, inputs, outputs)``."""
    if isinstance(obj, LoopNetwork):
        return obj
    if all(hasattr(obj, a) for a in ("network", "inputs", "outputs")):
        return LoopNetwork(obj.network, dict(obj.inputs), dict(obj.outputs),
                           getattr(obj, "description", ""))
    if isinstance(obj, tuple) and len(obj) == 3:
        return LoopNetwork(obj[0], dict(obj[1]), dict(obj[2]))
    raise ParameterError(
        "a closed-loop spec must return an edsim.serve.LoopNetwork (or an object with network, "
        f"inputs and outputs, or a (network, inputs, outputs) tuple); got {type(obj).__name__}"
    )


# The cell of Brette et al. (2007) benchmark 4 (scenarios/event_driven_cuba.py): E_L above
# threshold, so the network sustains its own activity; inputs make v jump (mV).
_B4_CELL = dict(cm=0.2, tau_m=20.0, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                i_offset=0.0)


def loop10k(seed: int = 1, n: int = 10000, n_in: int = 100, n_out: int = 1000,
            p_in: float = 0.05, table_dir=None) -> LoopNetwork:
    """The 10,000-neuron closed-loop benchmark network (issue 5, item 5).

    Brette et al. (2007) benchmark 4 (voltage-jump ``IF_curr_delta`` cells, simulated exactly,
    self-sustained at about 9.6 Hz) scaled to ``n`` neurons, 80 % excitatory, with the benchmark's
    in-degrees kept (64 excitatory inputs of +0.25 mV and 16 inhibitory of -2.25 mV per neuron,
    delay 0.1 ms), so its dynamics are benchmark 4's at any size: 800,000 recurrent synapses at
    n = 10,000.

    Ports: input ``in``, ``n_in`` spike sources, each reaching every excitatory neuron with
    probability ``p_in`` (+0.25 mV, 0.1 ms); output ``out``, the first ``n_out`` excitatory
    neurons.

    Parameters
    ----------
    seed : int
        Seeds connectivity and initial potentials (uniform in [v_reset, v_thresh) mV).
    n, n_in, n_out : int
        Neurons, input sources, recorded output neurons.
    p_in : float
        Connection probability of the input projection.
    """
    n, n_in, n_out = int(n), int(n_in), int(n_out)
    n_exc = int(round(0.8 * n))
    if not 1 <= n_out <= n_exc:
        raise ParameterError(f"n_out must be in [1, {n_exc}] excitatory neurons (got {n_out})")
    from edsim.bench_loop import scaled_brette

    net = Network(seed=seed, table_dir=table_dir)
    exc, inh = scaled_brette(net, edsim.IF_curr_delta(**_B4_CELL), n, 0.25, -2.25, seed)
    src = net.source(edsim.SpikeTimes(), n=n_in, name="in")
    net.connect(src, exc, edsim.FixedProbability(p_in), weight=0.25, delay=0.1)
    out = net.record(exc[:n_out])
    return LoopNetwork(net, {"in": src}, {"out": out},
                       f"loop10k: benchmark-4 network of {n} IF_curr_delta neurons, "
                       f"{n_in} inputs, {n_out} outputs")


def tiny(seed: int = 1, n_exc: int = 24, n_inh: int = 8) -> LoopNetwork:
    """A small quiescent network that fires only when driven, with two input and two output ports.

    ``IF_curr_delta`` cells at rest 15 mV below threshold. Input ``drive`` (6 sources) excites the
    excitatory cells (+9 mV, connection probability 0.5), input ``brake`` (3 sources) excites the
    inhibitory ones (+16 mV, one-to-one onto the first 3); excitatory cells excite everyone
    (+4 mV, probability 0.25) and inhibitory cells inhibit the excitatory ones (-6 mV, 0.5), with
    delays 0.5-1.5 ms. Outputs ``exc`` and ``inh``. Used by the tests.
    """
    net = Network(seed=seed)
    cell = edsim.IF_curr_delta(tau_m=10.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0,
                               tau_refrac=2.0)
    exc = net.population(int(n_exc), cell, name="exc")
    inh = net.population(int(n_inh), cell, name="inh")
    drive = net.source(edsim.SpikeTimes(), n=6, name="drive")
    brake = net.source(edsim.SpikeTimes(), n=3, name="brake")
    rng = np.random.default_rng(seed)
    net.connect(drive, exc, edsim.FixedProbability(0.5), weight=9.0, delay=0.5)
    net.connect(brake, inh[:3], edsim.OneToOne(), weight=16.0, delay=0.5)
    for post in (exc, inh):
        k = edsim.FixedProbability(0.25)
        net.connect(exc, post, k, weight=4.0, delay=rng.uniform(0.5, 1.5, 1)[0])
    net.connect(inh, exc, edsim.FixedProbability(0.5), weight=-6.0, delay=0.7,
                receptor_type="inhibitory")
    return LoopNetwork(net, {"drive": drive, "brake": brake},
                       {"exc": net.record(exc), "inh": net.record(inh)},
                       f"tiny: {n_exc} + {n_inh} IF_curr_delta neurons, driven only by input")


def idle(seed: int = 1) -> LoopNetwork:
    """One neuron at rest with one input source and its recorder: steps cost only overhead."""
    net = Network(seed=seed)
    cell = edsim.IF_curr_delta(v_rest=-65.0, v_thresh=-50.0)
    pop = net.population(1, cell, name="cell")
    src = net.source(edsim.SpikeTimes(), n=1, name="in")
    net.connect(src, pop, edsim.OneToOne(), weight=1.0, delay=0.1)
    return LoopNetwork(net, {"in": src}, {"out": net.record(pop)},
                       "idle: one resting neuron, for per-step overhead")


#: Built-in closed-loop specs, by the name ``edsim serve NAME`` takes.
SPECS: dict[str, Callable[..., LoopNetwork]] = {"loop10k": loop10k, "tiny": tiny, "idle": idle}


def resolve_spec(spec: str | Callable) -> tuple[Callable[..., Any], str]:
    """The spec callable and its name: built-in, ``module:function`` or ``file.py:function``."""
    if callable(spec):
        return spec, getattr(spec, "__name__", repr(spec))
    if spec in SPECS:
        return SPECS[spec], spec
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ParameterError(
            f"unknown closed-loop spec {spec!r}; built-in: {', '.join(SPECS)}; or give your own "
            "as module:function or path/to/file.py:function"
        )
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            if mod_spec is None or not path.exists():
                raise ImportError(f"no file {path}")
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except (ImportError, AttributeError, OSError) as exc:
        raise ParameterError(f"cannot load closed-loop spec {spec!r}: {exc}") from None
    if not callable(fn):
        raise ParameterError(f"closed-loop spec {spec!r} is not callable")
    return fn, spec


# ---- the network side of a step -------------------------------------------------------------

def _advance(net: Network, injections: list, t_until: float) -> None:
    """Inject ``(source, times, indices)`` spikes, then run to ``t_until`` (ms)."""
    for source, t, i in injections:
        net.inject(source, t, i)
    net.run_until(t_until)


def _take_new_spikes(rec: Recorder) -> tuple[np.ndarray, np.ndarray]:
    """Spikes recorded since the last call, then forgotten: a long session's memory is bounded."""
    s = rec.new_spikes(forget=True)
    return s.t, s.i


def _check_spec_params(fn: Callable, name: str, params: dict) -> None:
    """Unknown parameters of a spec are named with the valid ones, before the spec runs."""
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    valid = [p for p in sig.parameters if p != "seed"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ParameterError(f"closed-loop spec {name!r} has no parameter(s) {', '.join(unknown)}; "
                             f"its parameters are: {', '.join(valid) or 'none'}")


class Refused(Exception):
    """A request the server answers with ERROR ``code``; nothing was changed."""

    def __init__(self, code: P.ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class LoopSession:
    """A built closed-loop network and the validated, atomic steps applied to it.

    Socket-free, so the in-process loop and the server run the same code.

    Parameters
    ----------
    spec : str or callable
        Closed-loop spec (see :func:`resolve_spec`).
    seed : int
        Seed passed to the spec.
    params : dict, optional
        Keyword parameters of the spec.
    max_step_ms : float
        Longest step (ms) :meth:`step` accepts.
    """

    def __init__(self, spec: str | Callable, seed: int = 1, params: dict | None = None,
                 max_step_ms: float = DEFAULT_MAX_STEP_MS):
        if not max_step_ms > 0:
            raise ParameterError(f"max_step_ms must be > 0 ms (got {max_step_ms})")
        self.spec, self.spec_name = resolve_spec(spec)
        self.params = dict(params or {})
        _check_spec_params(self.spec, self.spec_name, self.params)
        self.max_step_ms = float(max_step_ms)
        self.resets = -1
        self.build(seed)

    def build(self, seed: int) -> None:
        """(Re)build the network from the spec with ``seed``, counters at zero; the old network
        is kept if this fails."""
        t0 = time.perf_counter()
        loop = as_loop_network(self.spec(seed=seed, **self.params))
        self.loop, self.seed = loop, int(seed)
        self.resets += 1
        self.counters = {"steps": 0, "input_spikes": 0, "output_spikes": 0, "step_seconds": 0.0,
                         "step_cpu_seconds": 0.0}
        self.build_seconds = time.perf_counter() - t0
        self._in = list(loop.inputs.items())
        self._out = list(loop.outputs.items())
        for _, rec in self._out:
            _take_new_spikes(rec)

    @property
    def name(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.spec_name} {args}".strip()

    @property
    def t(self) -> float:
        """Current simulation time (ms)."""
        return self.loop.network.t

    def parse_step(self, payload: bytes) -> tuple[float, list]:
        """Decode and validate a STEP payload; raises :class:`Refused` and changes nothing."""
        try:
            r = P.Reader(payload, "STEP")
            t_until, n_blocks = r.unpack(P.STEP_HEAD)
            blocks = []
            for _ in range(n_blocks):
                port, count = r.unpack(P.BLOCK_HEAD)
                blocks.append((port, *r.spikes(count)))
            r.end()
        except P.ProtocolError as exc:
            raise Refused(P.ErrorCode.MALFORMED, str(exc)) from None
        return t_until, self.validate(t_until, blocks)

    def validate(self, t_until: float, blocks: list) -> list:
        """Check a step (target ms; ``(port id, times ms, indices)`` blocks) against the rules.

        Returns the injections ``(source, times, indices)``, merged per port in port-id order.
        """
        now = self.t
        if not (math.isfinite(t_until) and t_until >= now):
            raise Refused(P.ErrorCode.BAD_TIME,
                          f"STEP target time must be finite and >= now = {now!r} ms "
                          f"(got {t_until!r})")
        if t_until - now > self.max_step_ms:
            raise Refused(P.ErrorCode.BAD_TIME,
                          f"STEP from {now!r} to {t_until!r} ms is longer than max_step_ms = "
                          f"{self.max_step_ms:g} ms; step in shorter slots")
        per_port: dict[int, list] = {}
        for port, t, i in blocks:
            if port >= len(self._in):
                names = ", ".join(f"{k} '{n}' ({s.size} neurons)"
                                  for k, (n, s) in enumerate(self._in))
                raise Refused(P.ErrorCode.BAD_PORT, f"input port id {port} does not exist; this "
                              f"network's input ports are: {names or 'none'}")
            name, src = self._in[port]
            out_of_range = (i < 0) | (i >= src.size)
            if out_of_range.any():
                bad = int(i[out_of_range][0])
                raise Refused(P.ErrorCode.BAD_INDEX,
                              f"neuron index {bad} on input port {port} '{name}' is out of range: "
                              f"the port has {src.size} neurons (indices 0..{src.size - 1})")
            wrong = ~(np.isfinite(t) & (t >= now))
            if wrong.any():
                k = int(np.flatnonzero(wrong)[0])
                raise Refused(P.ErrorCode.SPIKE_TIME,
                              f"input spike time {float(t[k])!r} ms for neuron {int(i[k])} of "
                              f"port {port} '{name}' must be finite and >= now = {now!r} ms")
            per_port.setdefault(port, []).append((t, i))
        injections = []
        for port in sorted(per_port):
            ts, iis = zip(*per_port[port])
            t, i = np.concatenate(ts), np.concatenate(iis)
            if t.size:
                injections.append((self._in[port][1], t, i))
        return injections

    def step(self, t_until: float, injections: list) -> list[tuple[np.ndarray, np.ndarray]]:
        """Apply a validated step; returns ``(times ms, indices)`` of each output port."""
        t0, cpu0 = time.perf_counter(), time.process_time()
        _advance(self.loop.network, injections, t_until)
        out = [_take_new_spikes(rec) for _, rec in self._out]
        c = self.counters
        c["step_seconds"] += time.perf_counter() - t0
        c["step_cpu_seconds"] += time.process_time() - cpu0
        c["steps"] += 1
        c["input_spikes"] += sum(t.size for _, t, _ in injections)
        c["output_spikes"] += sum(t.size for t, _ in out)
        return out

    def step_inputs(self, t_until: float, inputs: dict | None = None) -> dict[str, tuple]:
        """In-process equivalent of a client's STEP: ``inputs = {port name: (indices, times ms)}``.

        Returns ``{output name: (times ms, indices)}``; the same validation and order as the server.
        """
        ids = {name: k for k, (name, _) in enumerate(self._in)}
        blocks = []
        for name, (i, t) in (inputs or {}).items():
            if name not in ids:
                raise ParameterError(f"no input port {name!r}; ports: {', '.join(ids)}")
            blocks.append((ids[name], np.asarray(t, np.float64), np.asarray(i, np.int64)))
        try:
            injections = self.validate(float(t_until), blocks)
        except Refused as exc:
            raise ParameterError(exc.message) from None
        out = self.step(float(t_until), injections)
        return {name: spikes for (name, _), spikes in zip(self._out, out)}

    def welcome(self, server: "Server | None" = None) -> P.Welcome:
        return P.Welcome(
            server=f"edsim {edsim.__version__}", network=self.name, seed=self.seed, t=self.t,
            max_message_bytes=server.max_message_bytes if server else P.MAX_MESSAGE_BYTES,
            max_step_ms=self.max_step_ms,
            timeout_ms=int(round((server.timeout if server else DEFAULT_TIMEOUT_S) * 1000)),
            inputs={name: src.size for name, src in self._in},
            outputs={name: rec.size for name, rec in self._out})

    def stats(self) -> dict[str, float]:
        s = {"t_ms": self.t, "seed": float(self.seed), "build_seconds": self.build_seconds,
             "resets": float(self.resets)}
        s.update(self.counters)
        core = self.loop.network.stats()
        s.update({k: float(v) for k, v in core.items() if k not in ("build_seconds",)})
        return s


def encode_stepped(t: float, outputs: list, request_id: int, max_payload: int) -> list[bytes]:
    """The STEPPED messages of one step: every output port in port-id order, each port's spikes
    as one or more blocks (count 0 for a silent port), packed into messages of <= max_payload
    bytes; all but the last carry FLAG_MORE."""
    room_per_msg = max_payload - P.STEPPED_HEAD.size
    messages, blocks, room = [], [], room_per_msg

    def flush(more: bool) -> None:
        nonlocal blocks, room
        payload = P.STEPPED_HEAD.pack(t, P.FLAG_MORE if more else 0, len(blocks)) + b"".join(blocks)
        messages.append(P.frame(P.MsgType.STEPPED, payload, request_id))
        blocks, room = [], room_per_msg

    for port, (ts, ii) in enumerate(outputs):
        done = 0
        while True:
            if room < P.BLOCK_HEAD.size + (P.SPIKE_BYTES if ts.size > done else 0):
                flush(more=True)
            m = min(ts.size - done, (room - P.BLOCK_HEAD.size) // P.SPIKE_BYTES)
            blocks.append(P.pack_block(port, ts[done:done + m], ii[done:done + m]))
            room -= P.BLOCK_HEAD.size + m * P.SPIKE_BYTES
            done += m
            if done >= ts.size:
                break
    flush(more=False)
    return messages


# ---- the socket side ------------------------------------------------------------------------

class _Conn:
    """One client connection: buffers, deadlines (time.monotonic() s) and its state."""

    def __init__(self, sock: socket.socket, peer: str):
        self.sock = sock
        self.peer = peer
        self.inbuf = bytearray()
        self.out = bytearray()
        self.out_pos = 0
        self.closing = False           # an error or BYE was queued: flush, half-close, drain, close
        self.shut = False              # our side half-closed
        self.read_deadline = None      # a started message must complete by then
        self.write_deadline = None     # queued output must make progress by then
        self.idle_deadline = None      # next message must start by then (if an idle timeout is set)
        self.close_deadline = None

    @property
    def pending_out(self) -> int:
        return len(self.out) - self.out_pos


class Server:
    """Serve a closed-loop network to one client at a time.

    Parameters
    ----------
    spec : str or callable
        Closed-loop spec: ``loop10k``, ``tiny``, ``idle``, ``module:function``,
        ``path/to/file.py:function``, or a callable.
    seed : int
        Seed passed to the spec (and reused by RESET unless it names another).
    params : dict, optional
        Keyword parameters of the spec.
    host, port : str, int
        TCP address (port 0 picks a free port; see :attr:`address`).
    unix : str or Path, optional
        Listen on this Unix domain socket instead of TCP.
    timeout : float
        Seconds a started message may take to arrive completely, and queued replies to drain.
    idle_timeout : float, optional
        Seconds a connected client may stay silent between messages (default: no limit).
    max_message_bytes : int
        Largest payload (bytes) accepted or sent in one message.
    max_step_ms : float
        Longest step (ms of biological time) one STEP may ask for.
    """

    def __init__(self, spec: str | Callable = "loop10k", *, seed: int = 1,
                 params: dict | None = None, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 unix: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 idle_timeout: float | None = None, max_message_bytes: int = P.MAX_MESSAGE_BYTES,
                 max_step_ms: float = DEFAULT_MAX_STEP_MS):
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ParameterError(f"timeout must be > 0 s (got {timeout!r})")
        if idle_timeout is not None and not idle_timeout > 0:
            raise ParameterError(f"idle_timeout must be > 0 s or None (got {idle_timeout!r})")
        if not P.MIN_MESSAGE_BYTES <= int(max_message_bytes) <= 2**32 - 1:
            raise ParameterError(f"max_message_bytes must be in [{P.MIN_MESSAGE_BYTES}, 2**32 - 1] "
                                 f"(got {max_message_bytes})")
        self.timeout = float(timeout)
        self.idle_timeout = idle_timeout
        self.max_message_bytes = int(max_message_bytes)
        self.session = LoopSession(spec, seed, params, max_step_ms)
        self.counters = {"connections": 0, "busy_rejections": 0, "errors_sent": 0}
        self._active: _Conn | None = None
        self._conns: set[_Conn] = set()
        self._stopping = False
        self._unix = Path(unix) if unix is not None else None
        self._listen = self._bind(host, port)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listen, selectors.EVENT_READ, "listen")
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        log.info("%s", self.session.loop.description or self.session.name)

    # -- listening ---------------------------------------------------------------------------
    def _bind(self, host: str, port: int) -> socket.socket:
        if self._unix is not None:
            path = self._unix
            if path.exists() or path.is_symlink():
                if not stat.S_ISSOCK(path.lstat().st_mode):
                    raise ParameterError(
                        f"--unix {path} exists and is not a socket; choose another path")
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(str(path))
                    raise ParameterError(f"another server is listening on {path}")
                except (ConnectionRefusedError, FileNotFoundError):
                    path.unlink()  # left by a server that died: safe to replace
                finally:
                    probe.close()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(str(path))
            except OSError as exc:
                sock.close()
                raise ParameterError(
                    f"cannot listen on Unix socket {path}: {exc.strerror}") from None
        else:
            if isinstance(port, bool) or not (isinstance(port, int) and 0 <= port <= 65535):
                raise ParameterError(f"port must be an integer in [0, 65535] (got {port!r})")
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                 socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                sock.close()
                raise ParameterError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.listen(8)
        sock.setblocking(False)
        return sock

    @property
    def address(self) -> str:
        """Where clients connect: ``tcp://HOST:PORT`` or ``unix://PATH``."""
        if self._unix is not None:
            return f"unix://{self._unix}"
        host, port = self._listen.getsockname()[:2]
        return f"tcp://{host}:{port}" if ":" not in host else f"tcp://[{host}]:{port}"

    def stop(self) -> None:
        """Ask :meth:`serve_forever` to return; safe from a signal handler or another thread."""
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def close(self) -> None:
        """Close every connection and the listening socket (and remove a Unix socket's file)."""
        for conn in list(self._conns):
            self._drop(conn)
        for s in (self._listen, self._wake_r, self._wake_w):
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        self._sel.close()
        if self._unix is not None:
            try:
                self._unix.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the loop ----------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Serve until :meth:`stop`; a connected client then receives BYE (request id 0)."""
        try:
            while not self._stopping:
                # Connections before the listening socket: a client that just left is seen
                # leaving before a newcomer is judged busy.
                events = sorted(self._sel.select(self._next_timeout()),
                                key=lambda e: e[0].data == "listen")
                for key, mask in events:
                    if key.data == "listen":
                        self._accept()
                    elif key.data == "wake":
                        try:
                            self._wake_r.recv(4096)
                        except BlockingIOError:
                            pass
                    else:
                        conn = key.data
                        if mask & selectors.EVENT_WRITE and conn in self._conns:
                            self._on_writable(conn)
                        if mask & selectors.EVENT_READ and conn in self._conns:
                            self._on_readable(conn)
                self._check_deadlines()
            if self._active is not None:
                conn = self._active
                self._queue(conn, P.frame(P.MsgType.BYE))
                self._flush(conn)
        finally:
            self.close()

    def _next_timeout(self) -> float | None:
        deadlines = [d for c in self._conns for d in (c.read_deadline, c.write_deadline,
                                                       c.idle_deadline, c.close_deadline) if d]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for conn in list(self._conns):
            if conn.close_deadline and now >= conn.close_deadline:
                self._drop(conn)
            elif conn.write_deadline and now >= conn.write_deadline:
                log.warning("%s: not reading its replies for %g s; dropped", conn.peer,
                            self.timeout)
                self._drop(conn)
            elif conn.read_deadline and now >= conn.read_deadline:
                self._error(conn, P.ErrorCode.TIMEOUT, 0,
                            f"a message started but was still incomplete after {self.timeout:g} s "
                            f"({len(conn.inbuf)} bytes received); closing")
            elif conn.idle_deadline and now >= conn.idle_deadline:
                self._error(conn, P.ErrorCode.TIMEOUT, 0,
                            f"no message for {self.idle_timeout:g} s (idle timeout); closing")

    def _accept(self) -> None:
        """Accept one connection. The next waits for the next select, which reports first
        whether the connected client has meanwhile left, so a newcomer is not refused as busy
        because of a client already gone."""
        try:
            sock, addr = self._listen.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # e.g. EMFILE: leave the connection in the backlog, retry soon
            log.warning("accept failed: %s", exc)
            time.sleep(0.01)
            return
        sock.setblocking(False)
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else "unix client"
        conn = _Conn(sock, peer)
        self._conns.add(conn)
        self._sel.register(sock, selectors.EVENT_READ, conn)
        if self._active is not None:
            self.counters["busy_rejections"] += 1
            log.info("%s: refused, busy with %s", peer, self._active.peer)
            self._error(conn, P.ErrorCode.BUSY, 0,
                        f"another client ({self._active.peer}) is connected; this server "
                        "serves one client at a time; closing")
            return
        self._active = conn
        self.counters["connections"] += 1
        if self.idle_timeout:
            conn.idle_deadline = time.monotonic() + self.idle_timeout
        log.info("%s: connected (t = %g ms)", peer, self.session.t)

    def _on_readable(self, conn: _Conn) -> None:
        """Read what is available (up to RECV_CHUNKS x RECV_BYTES), handle it, then an EOF."""
        eof = False
        for _ in range(RECV_CHUNKS):
            if conn not in self._conns or (conn.pending_out and not conn.closing):
                break  # dropped, or waiting for its reply to drain: read no more for now
            try:
                data = conn.sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # reset by the peer
                data = b""
            if not data:
                eof = True
                break
            if not conn.closing:  # a closing connection's input is discarded unread
                conn.inbuf += data
                self._process(conn)
        if not eof or conn not in self._conns:
            return
        if conn.closing:
            self._drop(conn)
        elif conn.pending_out:  # a half-closed client still gets its reply
            self._start_closing(conn)
        else:
            if conn.inbuf:
                log.warning("%s: disconnected in the middle of a message (%d bytes received); "
                            "nothing was applied", conn.peer, len(conn.inbuf))
            else:
                log.info("%s: disconnected", conn.peer)
            self._drop(conn)

    def _process(self, conn: _Conn) -> None:
        """Handle every complete message in the input buffer, one reply at a time."""
        while (conn in self._conns and not conn.closing and conn.pending_out == 0
               and len(conn.inbuf) >= P.HEADER_SIZE):
            magic, version, msg_type, length, rid = P.HEADER.unpack_from(conn.inbuf)
            if magic != P.MAGIC:
                self._error(conn, P.ErrorCode.BAD_MAGIC, 0,
                            f"bad magic {bytes(magic)!r}: every message starts with "
                            f"{P.MAGIC!r}; closing")
                return
            if version != P.VERSION:
                self._error(conn, P.ErrorCode.BAD_VERSION, rid,
                            f"protocol version {version} is not supported; this server speaks "
                            f"version {P.VERSION}; closing")
                return
            if length > self.max_message_bytes:
                self._error(conn, P.ErrorCode.TOO_LARGE, rid,
                            f"payload length {length} bytes exceeds max_message_bytes = "
                            f"{self.max_message_bytes}; closing without reading it")
                return
            if len(conn.inbuf) < P.HEADER_SIZE + length:
                break
            payload = bytes(conn.inbuf[P.HEADER_SIZE:P.HEADER_SIZE + length])
            del conn.inbuf[:P.HEADER_SIZE + length]
            conn.read_deadline = None
            if self.idle_timeout:
                conn.idle_deadline = time.monotonic() + self.idle_timeout
            self._handle(conn, msg_type, rid, payload)
        if conn in self._conns and not conn.closing:
            if conn.inbuf and conn.read_deadline is None:
                conn.read_deadline = time.monotonic() + self.timeout
            self._interest(conn)

    def _handle(self, conn: _Conn, msg_type: int, rid: int, payload: bytes) -> None:
        handler = self._HANDLERS.get(msg_type)
        if handler is None:
            known = ", ".join(f"{t.value} {t.name}" for t in P.MsgType)
            self._error(conn, P.ErrorCode.UNKNOWN_TYPE, rid,
                        f"message type {msg_type} is not one a client may send (types: {known}; "
                        "clients send HELLO, STEP, GET_STATS, RESET, BYE)")
            return
        try:
            handler(self, conn, rid, payload)
        except Refused as exc:
            self._error(conn, exc.code, rid, exc.message)
        except Exception as exc:  # noqa: BLE001 - a failing request must not stop the server
            log.exception("%s: request type %d failed", conn.peer, msg_type)
            self._error(conn, P.ErrorCode.INTERNAL, rid, f"the simulation failed: {exc}")

    # -- requests ----------------------------------------------------------------------------
    def _on_hello(self, conn: _Conn, rid: int, payload: bytes) -> None:
        if payload:
            log.info("%s: client %r", conn.peer, payload[:256].decode("utf-8", "replace"))
        self._queue(conn, P.frame(P.MsgType.WELCOME, self.session.welcome(self).pack(), rid))
        self._flush(conn)

    def _on_step(self, conn: _Conn, rid: int, payload: bytes) -> None:
        t_until, injections = self.session.parse_step(payload)
        outputs = self.session.step(t_until, injections)
        for msg in encode_stepped(self.session.t, outputs, rid, self.max_message_bytes):
            self._queue(conn, msg)
        self._flush(conn)

    def _on_stats(self, conn: _Conn, rid: int, payload: bytes) -> None:
        if payload:
            raise Refused(P.ErrorCode.MALFORMED,
                          f"GET_STATS has no payload (got {len(payload)} bytes)")
        stats = self.session.stats()
        stats.update(self.counters)
        self._queue(conn, P.frame(P.MsgType.STATS, P.pack_stats(stats), rid))
        self._flush(conn)

    def _on_reset(self, conn: _Conn, rid: int, payload: bytes) -> None:
        if len(payload) not in (0, 8):
            raise Refused(P.ErrorCode.MALFORMED,
                          f"RESET payload is empty or a u64 seed (got {len(payload)} bytes)")
        seed = P.Reader(payload, "RESET").u64() if payload else self.session.seed
        if seed >= 2**63:
            raise Refused(P.ErrorCode.MALFORMED, f"RESET seed must be < 2**63 (got {seed})")
        self.session.build(seed)
        log.info("%s: reset with seed %d in %.2f s", conn.peer, seed, self.session.build_seconds)
        self._on_hello(conn, rid, b"")

    def _on_bye(self, conn: _Conn, rid: int, payload: bytes) -> None:
        self._queue(conn, P.frame(P.MsgType.BYE, b"", rid))
        self._start_closing(conn)

    _HANDLERS = {P.MsgType.HELLO: _on_hello, P.MsgType.STEP: _on_step,
                 P.MsgType.GET_STATS: _on_stats, P.MsgType.RESET: _on_reset, P.MsgType.BYE: _on_bye}

    # -- output and closing ------------------------------------------------------------------
    def _error(self, conn: _Conn, code: P.ErrorCode, rid: int, message: str) -> None:
        self.counters["errors_sent"] += 1
        if code != P.ErrorCode.BUSY:
            log.warning("%s: ERROR %s: %s", conn.peer, code.name, message)
        self._queue(conn, P.frame(P.MsgType.ERROR, P.pack_error(code, message), rid))
        if code.closes:
            self._start_closing(conn)
        else:
            self._flush(conn)

    def _queue(self, conn: _Conn, data: bytes) -> None:
        conn.out += data

    def _start_closing(self, conn: _Conn) -> None:
        """Send what is queued, half-close, discard input until the peer closes (or CLOSE_DRAIN_S).

        Closing at once with unread input would reset the connection, and a reset may destroy
        the ERROR before the peer reads it; draining lets it arrive."""
        conn.closing = True
        conn.inbuf = bytearray()
        conn.read_deadline = conn.idle_deadline = None
        conn.close_deadline = time.monotonic() + min(CLOSE_DRAIN_S, self.timeout) + (
            self.timeout if conn.pending_out else 0.0)
        if conn is self._active:
            self._active = None
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        """Send queued output without blocking; wait for writability if the socket is full."""
        while conn.pending_out:
            try:
                sent = conn.sock.send(memoryview(conn.out)[conn.out_pos:])
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.info("%s: connection lost while sending (%s)", conn.peer,
                         errno.errorcode.get(exc.errno, exc))
                self._drop(conn)
                return
            conn.out_pos += sent
            conn.write_deadline = None
        if conn.pending_out:
            if conn.write_deadline is None:
                conn.write_deadline = time.monotonic() + self.timeout
        else:
            conn.out, conn.out_pos, conn.write_deadline = bytearray(), 0, None
            if conn.closing and not conn.shut:
                conn.shut = True
                try:
                    conn.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    self._drop(conn)
                    return
        self._interest(conn)

    def _on_writable(self, conn: _Conn) -> None:
        self._flush(conn)
        if conn in self._conns and not conn.closing and conn.pending_out == 0:
            self._process(conn)

    def _interest(self, conn: _Conn) -> None:
        if conn not in self._conns:
            return
        want = selectors.EVENT_WRITE if conn.pending_out else selectors.EVENT_READ
        if self._sel.get_key(conn.sock).events != want:
            self._sel.modify(conn.sock, want, conn)

    def _drop(self, conn: _Conn) -> None:
        if conn not in self._conns:
            return
        self._conns.discard(conn)
        if conn is self._active:
            self._active = None
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()


# ---- a server in a child process ------------------------------------------------------------

class ServerProcess:
    """``edsim serve`` in a child process, for tests and benchmarks; stops on ``close()``.

    Parameters
    ----------
    spec : str
        Closed-loop spec name (see :func:`resolve_spec`).
    seed : int
        Seed of the network.
    params : dict, optional
        Spec parameters (passed as ``name=value``).
    unix : str or Path, optional
        Serve on this Unix socket instead of a free TCP port on 127.0.0.1.
    args : sequence of str
        More ``edsim serve`` options, e.g. ``["--timeout", "0.5"]``.
    log_path : str or Path, optional
        File receiving the server's log (default: discarded).
    startup_timeout : float
        Seconds to wait for the server to listen (it builds the network first).
    """

    def __init__(self, spec: str = "loop10k", seed: int = 1, params: dict | None = None,
                 unix: str | Path | None = None, args=(), log_path=None,
                 startup_timeout: float = 120.0):
        cmd = [sys.executable, "-m", "edsim", "serve", spec,
               *(f"{k}={v}" for k, v in (params or {}).items()), "--seed", str(seed)]
        cmd += ["--unix", str(unix)] if unix is not None else ["--port", "0"]
        cmd += list(args)
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        self.address = self._wait_ready(startup_timeout)

    def _wait_ready(self, timeout: float) -> str:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline, seen = time.monotonic() + timeout, b""
        try:
            while time.monotonic() < deadline:
                if sel.select(max(0.0, deadline - time.monotonic())):
                    line = self.proc.stdout.readline()
                    if not line:
                        break
                    seen += line
                    m = _READY.search(line.decode(errors="replace"))
                    if m:
                        return m.group(1)
        finally:
            sel.close()
        self.close()
        output = seen.decode(errors="replace")
        raise EdsimError(f"edsim serve did not start within {timeout:g} s "
                         f"(exit status {self.proc.returncode}; output {output!r})")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, SIGKILL if needed; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._log is not subprocess.DEVNULL:
            self._log.close()
            self._log = subprocess.DEVNULL
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- benchmark over the socket --------------------------------------------------------------

@dataclass(frozen=True)
class SocketBench:
    """Closed-loop benchmark over the socket; times in ms, RTF = wall time / simulated time."""

    spec: str
    transport: str
    slots: int
    slot_ms: float
    simulated_s: float
    wall_s: float
    rtf: float
    latency_ms: dict                   # p50, p95, p99, max, mean round trip of one STEP
    server_step_ms_mean: float         # mean server-side wall time per step (run, collect)
    server_step_cpu_ms_mean: float     # the same in CPU time of the server process
    input_spikes: int
    output_spikes: int
    idle_slots: int
    idle_overhead_ms: dict             # p50, p95, p99, max, mean round trip on the idle network
    idle_in_process_ms: float          # mean cost of one empty step in process, for comparison
    build_s: float
    in_process_rtf: float              # the same loop without the socket (nan if not run)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def markdown(self) -> str:
        lat, idle_ = self.latency_ms, self.idle_overhead_ms
        return "\n".join([
            f"edsim serve --bench: {self.spec} over {self.transport}, {self.slots} slots of "
            f"{self.slot_ms:g} ms ({self.simulated_s:g} s simulated)", "",
            "| figure | value |", "|---|---|",
            f"| real-time factor (wall / simulated) | {self.rtf:.3f} |",
            f"| same loop in process, RTF | {self.in_process_rtf:.3f} |",
            f"| wall time | {self.wall_s:.2f} s |",
            f"| STEP round trip p50 / p95 / p99 / max | {lat['p50']:.3f} / {lat['p95']:.3f} / "
            f"{lat['p99']:.3f} / {lat['max']:.3f} ms |",
            f"| STEP round trip, first step / max after it | {lat['first']:.3f} / "
            f"{lat['max_after_first']:.3f} ms |",
            f"| server time per step, wall / CPU (mean) | {self.server_step_ms_mean:.3f} / "
            f"{self.server_step_cpu_ms_mean:.3f} ms |",
            f"| input / output spikes | {self.input_spikes} / {self.output_spikes} |",
            f"| idle STEP round trip p50 / p95 / p99 / max ({self.idle_slots} steps) | "
            f"{idle_['p50']:.3f} / {idle_['p95']:.3f} / {idle_['p99']:.3f} / "
            f"{idle_['max']:.3f} ms |",
            f"| idle step in process (mean) | {self.idle_in_process_ms:.4f} ms |",
            f"| network build | {self.build_s:.2f} s |", ""])


def _percentiles(x: np.ndarray) -> dict:
    """Percentiles (ms) of durations (s); the first step also starts the network (initial firing
    predictions of every neuron), so the largest after it is given too."""
    x = np.asarray(x) * 1e3
    return {"p50": float(np.percentile(x, 50)), "p95": float(np.percentile(x, 95)),
            "p99": float(np.percentile(x, 99)), "max": float(x.max()), "mean": float(x.mean()),
            "first": float(x[0]), "max_after_first": float(x[1:].max()) if x.size > 1 else 0.0}


def _poisson_inputs(rng: np.random.Generator, n_sources: int, rate_hz: float, t0: float,
                    slot_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson input for one slot [t0, t0 + slot_ms): (indices, times ms)."""
    count = rng.poisson(n_sources * rate_hz * slot_ms / 1000.0)
    return (rng.integers(0, n_sources, count).astype(np.int64),
            np.sort(t0 + rng.random(count) * slot_ms))


def bench_socket(slots: int = 10000, slot_ms: float = 1.0, spec: str = "loop10k", seed: int = 1,
                 transport: str = "tcp", input_rate_hz: float = 20.0, idle_slots: int = 2000,
                 params: dict | None = None, log_path=None, in_process: bool = True
                 ) -> SocketBench:
    """Drive a server subprocess from this process in fixed slots and time it.

    Every slot sends Poisson input (``input_rate_hz`` per source of the first input port, spike
    times inside the slot) and receives the output spikes of the slot; the loop runs as fast as
    it can (no pacing), so RTF < 1 means it could keep up with real time. The server runs in a
    child process; this process is the client.

    Parameters
    ----------
    slots : int
        Steps (10,000 1-ms slots = 10 s simulated).
    slot_ms : float
        Length of a slot (ms).
    spec, seed, params
        The network served (default: the 10,000-neuron ``loop10k``).
    transport : {"tcp", "unix"}
        Loopback TCP or a Unix domain socket.
    input_rate_hz : float
        Rate of every input source (Hz).
    idle_slots : int
        Steps timed on the ``idle`` network (per-step overhead); 0 skips it.
    log_path : str or Path, optional
        Where the server processes write their logs.
    in_process : bool
        Also time the same loop in this process (no socket), and compare output spike counts.

    Returns
    -------
    SocketBench
    """
    import tempfile

    from edsim.client import Client

    if transport not in ("tcp", "unix"):
        raise ParameterError(f"transport must be 'tcp' or 'unix' (got {transport!r})")
    if int(slots) < 1 or not slot_ms > 0:
        raise ParameterError(f"need slots >= 1 and slot_ms > 0 ms (got {slots}, {slot_ms})")
    slots = int(slots)

    ref = LoopSession(spec, seed, params)
    port, src = ref._in[0]
    rng = np.random.default_rng(seed)
    inputs = [{port: _poisson_inputs(rng, src.size, input_rate_hz, k * slot_ms, slot_ms)}
              for k in range(slots)]
    in_process_wall, in_process_out = float("nan"), None
    if in_process:  # the same loop without the socket, for comparison
        start = time.perf_counter()
        in_process_out = 0
        for k in range(slots):
            out = ref.step_inputs((k + 1) * slot_ms, inputs[k])
            in_process_out += sum(len(t) for t, _ in out.values())
        in_process_wall = time.perf_counter() - start
    del ref

    def run(spec_name, n_slots, spec_params, slot_inputs):
        with tempfile.TemporaryDirectory() as tmp:
            unix = Path(tmp) / "edsim.sock" if transport == "unix" else None
            with ServerProcess(spec_name, seed, spec_params, unix=unix, log_path=log_path) as sp, \
                    Client(sp.address) as client:
                if client.hello().t != 0.0:
                    raise EdsimError("the benchmark server did not start at t = 0 ms")
                lat = np.empty(n_slots)
                n_out = 0
                start = time.perf_counter()
                for k in range(n_slots):
                    a = time.perf_counter()
                    out = client.step((k + 1) * slot_ms, slot_inputs[k] if slot_inputs else None)
                    lat[k] = time.perf_counter() - a
                    n_out += sum(len(t) for t, _ in out.values())
                wall = time.perf_counter() - start
                stats = client.stats()
        return wall, lat, stats, n_out

    wall, lat, stats, n_out = run(spec, slots, params, inputs)
    idle_lat = np.zeros(1)
    if idle_slots:
        _, idle_lat, _, _ = run("idle", int(idle_slots), None, None)
    session = LoopSession("idle")
    k_idle = max(int(idle_slots), 1000)
    a = time.perf_counter()
    for k in range(k_idle):
        session.step(float(k + 1), [])
    idle_in_process = (time.perf_counter() - a) / k_idle
    simulated = slots * slot_ms / 1000.0
    return SocketBench(
        spec=spec, transport=transport, slots=slots, slot_ms=float(slot_ms), simulated_s=simulated,
        wall_s=wall, rtf=wall / simulated, latency_ms=_percentiles(lat),
        server_step_ms_mean=stats["step_seconds"] / max(stats["steps"], 1) * 1e3,
        server_step_cpu_ms_mean=stats["step_cpu_seconds"] / max(stats["steps"], 1) * 1e3,
        input_spikes=int(sum(len(x[port][0]) for x in inputs)), output_spikes=int(n_out),
        idle_slots=int(idle_slots), idle_overhead_ms=_percentiles(idle_lat),
        idle_in_process_ms=idle_in_process * 1e3, build_s=stats["build_seconds"],
        in_process_rtf=in_process_wall / simulated,
        extra={"synapses": stats.get("n_synapses"), "server_spikes": stats.get("n_spikes"),
               "input_rate_hz": input_rate_hz, "seed": seed,
               "in_process_output_spikes": in_process_out,
               "same_output_as_in_process": (None if in_process_out is None
                                             else in_process_out == n_out)})


# ---- command line ---------------------------------------------------------------------------

def _spec_params(pairs: list[str]) -> dict:
    """``name=value`` pairs: integers, then floats, else strings."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ParameterError(f"spec parameters are name=value (got {pair!r})")
        for cast in (int, float):
            try:
                params[name] = cast(value)
                break
            except ValueError:
                continue
        else:
            params[name] = value
    return params


def add_subcommand(sub) -> None:
    """Add ``edsim serve`` to the ``edsim`` command's subparsers."""
    s = sub.add_parser(
        "serve", help="serve a closed-loop network to an external controller over a socket",
        description="Serve a closed-loop network to one external controller at a time over "
        "loopback TCP or a Unix socket (protocol: docs/protocol.md).")
    s.add_argument("spec", nargs="?", default="loop10k",
                   help=f"built-in spec ({', '.join(SPECS)}) or module:function or "
                   "path/to/file.py:function returning an edsim.serve.LoopNetwork "
                   "(default: loop10k)")
    s.add_argument("params", nargs="*", help="spec parameters as name=value, e.g. n=5000")
    s.add_argument("--host", default="127.0.0.1", help="TCP address (default: %(default)s)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="TCP port, 0 for any free one (default: %(default)s)")
    s.add_argument("--unix", default=None, help="listen on this Unix socket path instead of TCP")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help="seconds a started message may take to arrive (default: %(default)s)")
    s.add_argument("--idle-timeout", type=float, default=None,
                   help="disconnect a client silent for this many seconds (default: never)")
    s.add_argument("--max-message", type=int, default=P.MAX_MESSAGE_BYTES,
                   help="largest payload in bytes (default: %(default)s = 16 MiB)")
    s.add_argument("--max-step", type=float, default=DEFAULT_MAX_STEP_MS,
                   help="longest STEP in ms (default: %(default)s)")
    s.add_argument("--bench", action="store_true",
                   help="instead of serving: time a client driving a server subprocess")
    s.add_argument("--slots", type=int, default=10000, help="--bench: number of steps")
    s.add_argument("--slot-ms", type=float, default=1.0, help="--bench: step length (ms)")
    s.add_argument("--transport", choices=("tcp", "unix"), default="tcp",
                   help="--bench: socket kind")
    s.add_argument("--idle-slots", type=int, default=2000,
                   help="--bench: steps on the idle network")
    s.add_argument("--json", default=None, help="--bench: write the figures as JSON here")
    s.set_defaults(func=cli)


def cli(args) -> int:
    """Run ``edsim serve`` (or ``edsim serve --bench``) from parsed arguments."""
    params = _spec_params(args.params)
    if args.bench:
        result = bench_socket(args.slots, args.slot_ms, args.spec, args.seed, args.transport,
                              idle_slots=args.idle_slots, params=params)
        print(result.markdown())
        if args.json:
            Path(args.json).write_text(json.dumps(result.as_dict(), indent=2))
        return 0
    server = Server(args.spec, seed=args.seed, params=params, host=args.host, port=args.port,
                    unix=args.unix, timeout=args.timeout, idle_timeout=args.idle_timeout,
                    max_message_bytes=args.max_message, max_step_ms=args.max_step)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.stop())
    print(f"edsim serve: {server.session.name} listening on {server.address}", flush=True)
    server.serve_forever()
    log.info("stopped after %d connection(s), %d step(s)", server.counters["connections"],
             server.session.counters["steps"])
    return 0
