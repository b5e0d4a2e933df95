"""A deliberately plain pure-Python event-driven engine: the reference for the C run loop.

It implements the documented semantics of ``edsim``'s simulation directly, with one ``heapq`` of
events keyed by ``(time, kind rank, insertion counter)`` and one event per synapse activation:

* ``FIRE``: a predicted threshold crossing, stale if the neuron's generation changed since it was
  predicted. The neuron's conductances decay to the firing time, ``v`` is reset, the spike is
  recorded and sent over the outgoing synapses, and a refractory period starts (or, without one,
  the next crossing is predicted at once);
* ``EMIT``: a spike of a source (explicit times, or a Poisson process drawing its next interval
  when it fires);
* ``REFRAC_END``: ``v`` is released at ``v_reset`` and the next crossing predicted. Its rank is
  below ``DELIVER``'s, so a spike arriving exactly when the refractory period ends finds the
  neuron released;
* ``DELIVER``: one synapse's weight arrives. A refractory target only sees its conductances decay
  and grow, its ``v`` stays clamped at ``v_reset`` and nothing is
  predicted; otherwise the target is advanced to the arrival time, the weight added and the next
  crossing predicted;
* ``RECHECK``: the prediction horizon was reached without a crossing being ruled out: advance to
  it and predict again.

Only the neuron's trajectory between events is borrowed from the C core, through the public
``CondLUT.advance`` and ``CondLUT.predict`` (the reference checks the event loop, not the table).

Ordering of equal-time deliveries. Conductance additions commute only up to rounding, so to agree
with the C core to the last bit the reference adds same-time weights to a target in the order the
core does. The core delivers a spike's synapses one distinct delay at a time (increasing delay,
then increasing target id, then the order the synapses were added), and it enqueues the arrivals
over the next delay only once the previous delay's arrivals have been delivered; so the
reference, too, enqueues the per-synapse events of a spike's next delay (as one consecutive run
of insertion counters) when it has delivered the last synapse of the previous delay. Likewise a
source with explicit spike times enqueues its next spike when it emits the previous one (as a
Poisson source naturally does), which is what makes equal-time spikes of different sources pop in
the order the core documents ("insertion order among equal kinds").

Conductance arithmetic. To agree to the last bit, the reference also decays conductances as the
core does: each population keeps them on an epoch t0, ``ge(t) = G_e exp(-(t - t0) / tau_e)`` with
``G_e`` changed only by inputs (``+= w exp((t - t0) / tau_e)``) and state sets, and moves t0 to the
time of a decay, input or state set that finds ``t - t0 > 32 min(tau_e, tau_i)`` (every ``G``
scaled by ``exp(-(t - t0) / tau)``). State reads decay ``ge`` at ``t_last`` by ``exp(-dt / tau)``.

Poisson streams use numpy's own Philox4x64-10 (``numpy.random.Philox``) as an independent
implementation of the core's counter-based generator: draw ``k`` of source ``id`` under seed ``s``
is lane ``k % 4`` of the block with counter ``(k // 4, 0, 0, 0)`` and key ``(s, id)``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

# Ranks of the event kinds, as documented in csrc/edsim.h (SAMPLE and STEP are not modelled here).
# ranks as in csrc/edsim.h (JUMP_FIRE, for voltage jumps, never occurs with IF_cond_exp)
FIRE, EMIT, REFRAC_END, STEP, DELIVER, JUMP_FIRE, SAMPLE, RECHECK = range(8)
KIND_NAMES = ("FIRE", "EMIT", "REFRAC_END", "STEP", "DELIVER", "JUMP_FIRE", "SAMPLE", "RECHECK")


class SemanticsError(Exception):
    """The reference was asked something the simulator semantics forbid."""


EPOCH = 32.0  # the core's EDS__COND_EPOCH


@dataclass
class _Epoch:
    """A population's conductance epoch (see the module docstring)."""
    tau_e: float
    tau_i: float
    t0: float
    cells: list = field(default_factory=list, repr=False, compare=False)

    def factors(self, t: float) -> tuple[float, float, float, float]:
        """exp(-(t - t0) / tau) and exp((t - t0) / tau) for tau_e, tau_i, the epoch moved first if
        t is too far from it."""
        if t - self.t0 > EPOCH * min(self.tau_e, self.tau_i):
            fe, fi = math.exp(-(t - self.t0) / self.tau_e), math.exp(-(t - self.t0) / self.tau_i)
            for nrn in self.cells:
                nrn.g_e *= fe
                nrn.g_i *= fi
            self.t0 = t
        d = t - self.t0
        return (math.exp(-d / self.tau_e), math.exp(-d / self.tau_i),
                math.exp(d / self.tau_e), math.exp(d / self.tau_i))


@dataclass
class _Neuron:
    lut: object
    v_rest: float
    v_reset: float
    tau_refrac: float
    tau_e: float
    tau_i: float
    v: float = 0.0
    ge: float = 0.0
    gi: float = 0.0
    t_last: float = 0.0
    refr_until: float = -math.inf
    gen: int = 0
    epoch: _Epoch | None = field(default=None, repr=False, compare=False)
    g_e: float = 0.0        # ge, gi on the epoch
    g_i: float = 0.0

    def decay_conductances(self, t: float) -> None:
        if t - self.t_last > 0.0:
            fe, fi, _, _ = self.epoch.factors(t)
            self.ge, self.gi = self.g_e * fe, self.g_i * fi
        self.t_last = t

    def advance(self, t: float) -> None:
        self.v = self.lut.advance(self.v, self.ge, self.gi, t - self.t_last)[0]
        self.decay_conductances(t)

    def add(self, t: float, inhibitory: bool, w: float) -> None:
        _, _, re, ri = self.epoch.factors(t)
        if inhibitory:
            self.gi += w
            self.g_i += w * ri
        else:
            self.ge += w
            self.g_e += w * re

    def set_conductances(self, t: float, ge: float, gi: float) -> None:
        _, _, re, ri = self.epoch.factors(t)
        self.ge, self.gi, self.g_e, self.g_i = ge, gi, ge * re, gi * ri


@dataclass
class _SpikeTrain:
    times: list = field(default_factory=list)   # sorted from `cursor` on
    cursor: int = 0                               # index of the next spike not yet emitted
    gen: int = 0                                  # generation of the pending EMIT


class _Poisson:
    """n sources of rate r as one process of rate n r, each spike to a uniformly drawn source."""

    def __init__(self, seed: int, first: int, n: int, rate: float, start: float, stop: float):
        key = np.array([seed, first], dtype=np.uint64)
        # numpy increments the counter before it generates: start one below zero.
        self._bits = np.random.Philox(key=key, counter=np.full(4, 2**64 - 1, dtype=np.uint64))
        self.first, self.n = first, n
        self.rate = float(rate)
        self.start = float(start)
        self.stop = float(stop)
        self.n_draws = 0

    def next_after(self, t: float) -> tuple[float, int]:
        """(time, gid) of the population's next spike."""
        if self.rate <= 0.0:
            return math.inf, self.first
        x = int(self._bits.random_raw())
        self.n_draws += 1
        u = ((x >> 11) + 0.5) * 2.0**-53
        t = t - math.log(u) * (1000.0 / (self.rate * self.n))
        if self.n == 1:
            return t, self.first
        self.n_draws += 1
        return t, self.first + (int(self._bits.random_raw()) * self.n >> 64)


class ReferenceSim:
    """The calls of ``edsim._engine.Sim`` used for IF_cond_exp networks (add_cond_exp,
    add_spike_source, add_poisson, add_spike_times, add_synapses, set_state, get_state,
    record_spikes, drain_spikes, run), except that ``add_cond_exp`` also takes the model
    parameters, which the C table does not expose."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.now = 0.0
        self._heap: list = []
        self._counter = 0
        self._started = False
        self._n_ids = 0
        self._neurons: dict[int, _Neuron] = {}
        self._trains: dict[int, _SpikeTrain] = {}
        self._poisson: dict[int, _Poisson] = {}
        self._staged: list = []                  # (pre, post, weight, delay, receptor)
        self._out: dict[int, list] = {}          # pre -> [(delay, [(post, inhibitory, w)])]
        self._recorded: set[int] = set()
        self._spikes: list[tuple[float, int]] = []
        # n_events counts popped events as the core does, which delivers all synapses of one
        # spike over one delay in a single event: here, the pops of a delay's first synapse.
        # n_stale_neuron: stale FIRE/REFRAC_END/RECHECK events. The core keeps one re-keyed slot
        # per neuron instead, so it never sees them; core_stats() gives what it should count.
        self.stats = {"n_events": 0, "n_stale": 0, "n_stale_neuron": 0, "n_spikes": 0,
                      "n_source_spikes": 0, "n_synaptic_events": 0, "n_recheck": 0,
                      "n_refractory_deliveries": 0, "n_equal_time_pops": 0}
        self.trace: list | None = None           # set to [] to log (t, kind, id) of handled events
        self._last_key = None

    # ---- queue ---------------------------------------------------------------------------

    def _push(self, t: float, kind: int, payload) -> None:
        if not t >= self.now:
            raise SemanticsError(f"event {KIND_NAMES[kind]} at {t} before now = {self.now}")
        heapq.heappush(self._heap, (t, kind, self._counter, payload))
        self._counter += 1

    # ---- construction --------------------------------------------------------------------

    def _new_ids(self, n: int) -> int:
        if self._started:
            raise SemanticsError("populations must be added before the first run")
        if n <= 0:
            raise SemanticsError("a population needs at least one member")
        first = self._n_ids
        self._n_ids += n
        return first

    @property
    def n_ids(self) -> int:
        return self._n_ids

    def add_cond_exp(self, lut, n: int, params) -> int:
        if not isinstance(params, dict):
            params = params.parameters()
        first = self._new_ids(n)
        epoch = _Epoch(float(params["tau_syn_E"]), float(params["tau_syn_I"]), self.now)
        for gid in range(first, first + n):
            self._neurons[gid] = _Neuron(
                lut, float(params["v_rest"]), float(params["v_reset"]),
                float(params["tau_refrac"]), float(params["tau_syn_E"]),
                float(params["tau_syn_I"]), v=float(params["v_rest"]), t_last=self.now,
                epoch=epoch)
            epoch.cells.append(self._neurons[gid])
        for gid in range(first, first + n):
            self._predict(gid)
        return first

    def add_spike_source(self, n: int) -> int:
        first = self._new_ids(n)
        for gid in range(first, first + n):
            self._trains[gid] = _SpikeTrain()
        return first

    def add_poisson(self, n: int, rate: float, start: float, stop: float) -> int:
        if not (rate >= 0 and math.isfinite(rate) and math.isfinite(start) and stop >= start):
            raise SemanticsError("bad Poisson parameters")
        if start < self.now:
            raise SemanticsError("Poisson source starting in the past")
        first = self._new_ids(n)
        src = _Poisson(self.seed, first, n, rate, start, stop)
        for gid in range(first, first + n):
            self._poisson[gid] = src
        t, gid = src.next_after(src.start)
        if t < src.stop:
            self._push(t, EMIT, (gid, None))
        return first

    def add_spike_times(self, gid: int, times) -> None:
        train = self._trains[gid]
        times = [float(t) for t in np.atleast_1d(np.asarray(times, dtype=np.float64))]
        if any(not math.isfinite(t) for t in times):
            raise SemanticsError("spike times must be finite")
        if any(t < self.now for t in times):
            raise SemanticsError("spike time in the past")
        pending = sorted(train.times[train.cursor:] + times)
        train.times = train.times[:train.cursor] + pending
        train.gen += 1      # whatever EMIT is pending may no longer be the earliest spike
        self._push_next_emit(gid)

    def add_synapses(self, pre, post, weight, delay, receptor) -> None:
        if self._started:
            raise SemanticsError("connectivity is frozen by the first run")
        pre = np.atleast_1d(np.asarray(pre))
        n = pre.size
        post = np.broadcast_to(np.asarray(post), (n,))
        weight = np.broadcast_to(np.asarray(weight, dtype=np.float32), (n,))  # the core's dtype
        delay = np.broadcast_to(np.asarray(delay, dtype=np.float64), (n,))
        receptor = np.broadcast_to(np.asarray(receptor), (n,))
        for s in range(n):
            if int(post[s]) not in self._neurons or int(receptor[s]) not in (0, 1):
                raise SemanticsError("synapses must target IF_cond_exp neurons")
            if not (float(delay[s]) > 0 and weight[s] >= 0):
                raise SemanticsError("bad delay or weight")
            self._staged.append((int(pre[s]), int(post[s]), float(weight[s]), float(delay[s]),
                                 int(receptor[s])))

    def set_state(self, first: int, v, ge, gi) -> None:
        v = np.atleast_1d(np.asarray(v, dtype=np.float64))
        ge = np.broadcast_to(np.asarray(ge, dtype=np.float64), v.shape)
        gi = np.broadcast_to(np.asarray(gi, dtype=np.float64), v.shape)
        for k in range(v.size):
            nrn = self._neurons[first + k]
            nrn.v = float(v[k])
            nrn.set_conductances(self.now, float(ge[k]), float(gi[k]))
            nrn.t_last = self.now
            nrn.refr_until = -math.inf   # setting the state ends any refractory period
            self._predict(first + k)

    set_cond_state = set_state

    def get_state(self, first: int, n: int):
        out = np.empty((3, n))
        for k in range(n):
            nrn = self._neurons[first + k]
            dt = self.now - nrn.t_last
            if self.now <= nrn.refr_until:   # released at v_reset when the period ends
                out[:, k] = (nrn.v_reset, nrn.ge * math.exp(-dt / nrn.tau_e),
                             nrn.gi * math.exp(-dt / nrn.tau_i))
            else:
                out[:, k] = nrn.lut.advance(nrn.v, nrn.ge, nrn.gi, dt)
        return out[0], out[1], out[2]

    get_cond_state = get_state

    def record_spikes(self, first: int, n: int, on: bool = True) -> None:
        for gid in range(first, first + n):
            if on:
                self._recorded.add(gid)
            else:
                self._recorded.discard(gid)

    def drain_spikes(self) -> tuple[np.ndarray, np.ndarray]:
        t = np.array([s[0] for s in self._spikes], dtype=np.float64)
        ids = np.array([s[1] for s in self._spikes], dtype=np.uint32)
        self._spikes = []
        return t, ids

    # ---- running -------------------------------------------------------------------------

    def _freeze(self) -> None:
        by_pre: dict[int, list] = {}
        for order, (pre, post, w, d, rec) in enumerate(self._staged):
            by_pre.setdefault(pre, []).append((d, post, order, rec, w))
        for pre, syns in by_pre.items():
            groups: dict[float, list] = {}
            for d, post, order, rec, w in sorted(syns):
                groups.setdefault(d, []).append((post, rec == 1, w))
            self._out[pre] = sorted(groups.items())
        self._staged = []

    def run(self, until: float) -> None:
        until = float(until)
        if not math.isfinite(until):
            raise SemanticsError("run end time must be finite")
        if until < self.now:
            raise SemanticsError("cannot run backwards")
        if not self._started:
            self._freeze()
            self._started = True
        handlers = {FIRE: self._on_fire, EMIT: self._on_emit, REFRAC_END: self._on_refrac_end,
                    DELIVER: self._on_deliver, RECHECK: self._on_recheck}
        while self._heap and self._heap[0][0] < until:
            t, kind, counter, payload = heapq.heappop(self._heap)
            # an event at the same time and rank as the previous one, other than the next
            # synapse of the same delivery: the queue's tie-breaking decided their order
            group = payload[:3] if kind == DELIVER else counter
            if self._last_key is not None and self._last_key[:2] == (t, kind) \
                    and self._last_key[2] != group:
                self.stats["n_equal_time_pops"] += 1
            self._last_key = (t, kind, group)
            self.now = t
            if kind != DELIVER or payload[3] == 0:
                self.stats["n_events"] += 1
            handlers[kind](t, payload)
        self.now = until

    def pending_events(self) -> int:
        """Events in the queue, counting the pending synapses of one spike over one delay once."""
        return sum(1 for ev in self._heap if ev[1] != DELIVER or ev[3][3] == 0)

    # ---- neurons -------------------------------------------------------------------------

    def _predict(self, gid: int) -> None:
        nrn = self._neurons[gid]
        when, recheck = nrn.lut.predict(nrn.v, nrn.ge, nrn.gi)
        nrn.gen += 1
        if math.isinf(when):
            return
        self._push(nrn.t_last + when, RECHECK if recheck else FIRE, (gid, nrn.gen))

    def _stale(self, gid: int, gen: int) -> bool:
        if gen != self._neurons[gid].gen:
            self.stats["n_stale"] += 1
            self.stats["n_stale_neuron"] += 1
            return True
        return False

    def core_stats(self) -> dict:
        """The counters as the C core keeps them: stale neuron events never exist there."""
        out = dict(self.stats)
        out["n_events"] -= self.stats["n_stale_neuron"]
        out["n_stale"] -= self.stats["n_stale_neuron"]
        return out

    def pending_valid_events(self) -> int:
        """pending_events() without the neuron events that are already stale."""
        def valid(ev):
            kind, payload = ev[1], ev[3]
            if kind in (FIRE, REFRAC_END, RECHECK):
                return payload[1] == self._neurons[payload[0]].gen
            return kind != DELIVER or payload[3] == 0
        return sum(1 for ev in self._heap if valid(ev))

    def _log(self, t: float, kind: int, gid: int) -> None:
        if self.trace is not None:
            self.trace.append((t, KIND_NAMES[kind], gid))

    def _on_fire(self, t: float, payload) -> None:
        gid, gen = payload
        if self._stale(gid, gen):
            return
        self._log(t, FIRE, gid)
        nrn = self._neurons[gid]
        nrn.decay_conductances(t)
        nrn.v = nrn.v_reset
        self.stats["n_spikes"] += 1
        self._spike(gid, t)
        if nrn.tau_refrac > 0.0:
            nrn.refr_until = t + nrn.tau_refrac
            nrn.gen += 1
            self._push(nrn.refr_until, REFRAC_END, (gid, nrn.gen))
        else:
            self._predict(gid)

    def _on_refrac_end(self, t: float, payload) -> None:
        gid, gen = payload
        if self._stale(gid, gen):
            return
        self._log(t, REFRAC_END, gid)
        nrn = self._neurons[gid]
        nrn.decay_conductances(t)
        nrn.v = nrn.v_reset
        self._predict(gid)

    def _on_recheck(self, t: float, payload) -> None:
        gid, gen = payload
        if self._stale(gid, gen):
            return
        self._log(t, RECHECK, gid)
        self.stats["n_recheck"] += 1
        nrn = self._neurons[gid]
        nrn.advance(t)
        self._predict(gid)

    def _on_deliver(self, t: float, payload) -> None:
        pre, t_spike, k, s = payload
        delay, syns = self._out[pre][k]
        post, inhibitory, w = syns[s]
        self._log(t, DELIVER, post)
        self.stats["n_synaptic_events"] += 1
        nrn = self._neurons[post]
        refractory = t < nrn.refr_until
        if refractory:
            self.stats["n_refractory_deliveries"] += 1
            nrn.decay_conductances(t)       # v stays clamped at v_reset
        else:
            nrn.advance(t)
        nrn.add(t, inhibitory, w)
        if not refractory:
            self._predict(post)
        if s + 1 == len(syns) and k + 1 < len(self._out[pre]):
            self._push_arrivals(pre, t_spike, k + 1)

    # ---- sources and spikes --------------------------------------------------------------

    def _push_next_emit(self, gid: int) -> None:
        train = self._trains[gid]
        if train.cursor < len(train.times):
            self._push(train.times[train.cursor], EMIT, (gid, train.gen))

    def _on_emit(self, t: float, payload) -> None:
        gid, gen = payload
        if gid in self._trains:
            train = self._trains[gid]
            if gen != train.gen:
                self.stats["n_stale"] += 1
                return
            train.cursor += 1
        self._log(t, EMIT, gid)
        self.stats["n_source_spikes"] += 1
        self._spike(gid, t)
        if gid in self._trains:
            self._push_next_emit(gid)
        else:
            nxt, nxt_gid = self._poisson[gid].next_after(t)
            if nxt < self._poisson[gid].stop:
                self._push(nxt, EMIT, (nxt_gid, None))

    def _spike(self, gid: int, t: float) -> None:
        if gid in self._recorded:
            self._spikes.append((t, gid))
        if gid in self._out:
            self._push_arrivals(gid, t, 0)

    def _push_arrivals(self, pre: int, t_spike: float, k: int) -> None:
        delay, syns = self._out[pre][k]
        for s in range(len(syns)):
            self._push(t_spike + delay, DELIVER, (pre, t_spike, k, s))
