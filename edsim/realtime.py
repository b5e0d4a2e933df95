"""Running a network against the wall clock: fixed slots, measured lag, work shed in levels.

A :class:`RealTimeRunner` advances a network slot by slot (``net.run_until``), hands the new
spikes of its output recorders to your code after every slot, injects what your code returns, and
paces simulated time to the wall clock: slot ``k`` (``k = 1, 2, ...``) is due ``k * slot / speed``
ms of wall time after the start. Its **lag** is the wall time at the end of the slot's work (the
simulation, reading spikes and your code) minus that deadline; negative lag is slack, and the
runner sleeps it off. It never skips simulated time: when behind, it runs the next slots at once
and sheds work to catch up.

Shedding levels, in order (each includes the ones before it):

1. **state sampling**: samplers (``net.record(..., v=...)``) skip their sample times; counted as
   samples (sample times x neurons) dropped;
2. **spike recording** of every recorder not listed in ``outputs``: the core counts those spikes
   instead of storing them (output recorders are never shed);
3. **input below a priority**: spikes injected through the runner into sources whose priority
   (:meth:`RealTimeRunner.set_priority`, default 0) is below ``input_floor`` are dropped before
   they reach the core; counted as input spikes dropped. This changes the simulation.

Levels 1 and 2 never change the spikes the network produces. edsim has no plasticity yet, so
there is no "plasticity updates" level; when it comes it will be shed first.

Hysteresis: the level rises by one when the last ``shed_after`` slots all ended more than
``shed_lag`` ms (wall) behind their deadlines and the lag did not shrink over them (the loop is
not catching up by itself), at most once every ``shed_after`` slots (so that a level has time to
act); it falls by one after ``recover_after`` consecutive slots that end less than
``recover_lag`` ms late (default half of ``shed_lag``: the OS's sleep jitter alone does not
block recovery). A late slot (the OS scheduling something else) that the loop absorbs thus sheds
nothing. Shedding is undone
when the run ends. With ``speed=None`` (as fast as possible) there are no deadlines and nothing is
shed. Before the clock starts the runner makes a zero-length step, so the one-off work of a
network's first run (freezing its connectivity) is not charged to the first slot.

Example
-------
>>> import edsim, numpy as np
>>> net = edsim.Network(seed=1)
>>> sensors = net.source(edsim.SpikeTimes(), n=10, name="sensors")
>>> motor = net.population(20, edsim.IF_curr_exp(tau_refrac=2.0), name="motor")
>>> _ = net.connect(sensors, motor, edsim.AllToAll(), weight=1.0)
>>> out = net.record(motor)
>>> runner = edsim.RealTimeRunner(net, slot=1.0, speed=None, outputs=[out])
>>> def on_slot(t, spikes):                     # t: end of the slot (ms)
...     rate = len(spikes[out]) / 20 / 1e-3       # motor rate in this slot (Hz)
...     n = 3 if rate < 50 else 1                 # more sensor drive when the motor is quiet
...     return [(sensors, np.full(n, t + 0.5), np.arange(n))]
>>> summary = runner.run(100.0, on_slot)
>>> summary.slots
100
"""

from __future__ import annotations

import gc
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from edsim.errors import ParameterError, StateError
from edsim.recording import Recorder, SpikeTrains, _sorted

LEVELS = {1: "state sampling", 2: "spike recording", 3: "low-priority input"}
_UNITS = {1: "samples dropped", 2: "spikes not recorded", 3: "input spikes dropped"}


class SlotSpikes:
    """The new spikes of the output recorders after one slot.

    Index it with a :class:`~edsim.Recorder` (the object ``net.record`` returned), its name (the
    population's) or its position in ``outputs``; iterate over ``(recorder, spikes)`` pairs.
    """

    def __init__(self, pairs: list[tuple[Recorder, SpikeTrains]]):
        self._pairs = pairs

    def __getitem__(self, key) -> SpikeTrains:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self._pairs[key][1]
        for rec, trains in self._pairs:
            if rec is key or rec.name == key:
                return trains
        names = ", ".join(repr(r.name) for r, _ in self._pairs) or "none"
        raise KeyError(f"{key!r} is not an output of this runner (outputs: {names})")

    def __iter__(self) -> Iterator[tuple[Recorder, SpikeTrains]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def total(self) -> int:
        """Number of new spikes over all outputs."""
        return sum(len(s) for _, s in self._pairs)


@dataclass
class Step:
    """One slot of :meth:`RealTimeRunner.steps`: its end time, new output spikes and inject."""

    k: int                 #: slot number, from 0
    t: float               #: end of the slot = the network's time now (ms)
    spikes: SlotSpikes     #: new spikes of the outputs during the slot
    level: int             #: shedding level in force during the slot
    runner: "RealTimeRunner" = field(repr=False)

    def inject(self, source, times, index=0) -> None:
        """Inject spikes (times >= ``t``, ms) through the runner (level 3 may drop them)."""
        self.runner.inject(source, times, index)


@dataclass(frozen=True)
class LoopSummary:
    """What a :class:`RealTimeRunner` run did: timing, deadlines, lag and work shed.

    Times: ``sim_ms`` simulated (ms); ``wall_s`` (s); lag and step percentiles in ms of wall
    time. ``lag_ms`` is None when unpaced (``speed`` None). ``shed`` maps each level (1, 2, 3) to
    ``{"name", "slots" (slots spent at that level or above), "dropped", "unit"}``.
    ``lag_per_slot_ms`` and ``step_per_slot_ms`` hold every slot's lag and step time (ms).
    ``overran`` counts the missed deadlines whose slot itself (simulation, controller and
    recording) took longer than the slot's wall time: the work was too much. The others started
    late (the loop woke up late, or was still behind from an earlier slot).
    """

    slots: int
    slot_ms: float
    speed: float | None
    sim_ms: float
    wall_s: float
    deadlines_missed: int | None
    lag_ms: dict | None
    step_ms: dict
    shed: dict
    level_changes: tuple
    shed_lag_ms: float | None
    shed_after: int
    recover_after: int
    recover_lag_ms: float | None
    lag_per_slot_ms: np.ndarray | None = field(default=None, repr=False, compare=False)
    step_per_slot_ms: np.ndarray | None = field(default=None, repr=False, compare=False)
    scheduling: str = "normal scheduling"   # or the real-time priority the loop ran at
    overran: int | None = None

    @property
    def realtime_factor(self) -> float:
        """Wall time per simulated time (< 1: faster than real time)."""
        return self.wall_s / (self.sim_ms / 1000.0) if self.sim_ms > 0 else math.nan

    @property
    def shed_anything(self) -> bool:
        return any(level["dropped"] > 0 or level["slots"] > 0 for level in self.shed.values())

    @property
    def kept_up(self) -> bool:
        """Every deadline met and nothing shed (always True when unpaced and nothing shed)."""
        return not self.deadlines_missed and not self.shed_anything

    def as_dict(self) -> dict:
        """Plain data, for JSON."""
        return {
            "slots": self.slots, "slot_ms": self.slot_ms, "speed": self.speed,
            "sim_ms": self.sim_ms, "wall_s": self.wall_s,
            "realtime_factor": self.realtime_factor,
            "deadlines_missed": self.deadlines_missed, "overran": self.overran,
            "lag_ms": self.lag_ms, "step_ms": self.step_ms,
            "shed": {str(k): v for k, v in self.shed.items()},
            "level_changes": [list(c) for c in self.level_changes],
            "kept_up": self.kept_up,
        }

    def report(self) -> str:
        """A printable summary; says "kept up, shed nothing" when so."""
        pace = "as fast as possible" if self.speed is None else f"speed {self.speed:g}x real time"
        lines = [f"closed loop: {self.slots} slots of {self.slot_ms:g} ms "
                 f"({self.sim_ms:g} ms simulated) in {self.wall_s:.3f} s wall, {pace}, "
                 f"RTF {self.realtime_factor:.3g}"]

        def pct(d):
            return "  ".join(f"{k} {d[k]:.3f}" for k in ("p50", "p95", "p99", "max"))

        lines.append(f"  step time (ms)    {pct(self.step_ms)}")
        if self.scheduling != "normal scheduling":
            lines.append(f"  scheduling        {self.scheduling}")
        if self.lag_ms is not None:
            why = ""
            if self.deadlines_missed:
                why = (f" ({self.overran} overran their slot, {self.deadlines_missed - self.overran}"
                       f" started late: woken late or behind from an earlier slot)")
            lines.append(f"  deadlines missed  {self.deadlines_missed} of {self.slots}{why}")
            lines.append(f"  lag (ms)          {pct(self.lag_ms)}   (wall, negative = early)")
        if self.kept_up:
            lines.append("  kept up, shed nothing")
        elif not self.shed_anything:
            lines.append(f"  shed nothing: the loop caught up by itself whenever it fell behind "
                         f"(sheds after {self.shed_after} slots over "
                         f"{self.shed_lag_ms:.3g} ms late without catching up)")
        else:
            lines.append(f"  shedding (up one level after {self.shed_after} slots > "
                         f"{self.shed_lag_ms:.3g} ms late without catching up, down after "
                         f"{self.recover_after} slots < {self.recover_lag_ms:.3g} ms late):")
            for level, s in self.shed.items():
                lines.append(f"    level {level} {s['name']:20s} {s['slots']:7d} slots, "
                             f"{s['dropped']} {s['unit']}")
            changes = ", ".join(f"{a}->{b} at slot {k} (t = {t:g} ms)"
                                for k, t, a, b in self.level_changes[:8])
            more = len(self.level_changes) - 8
            tail = f", ... {more} more" if more > 0 else ""
            lines.append(f"    level changes: {changes}{tail}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _percentiles(x_s: np.ndarray) -> dict:
    if x_s.size == 0:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan}
    p = np.percentile(x_s, [50, 95, 99]) * 1e3
    return {"p50": float(p[0]), "p95": float(p[1]), "p99": float(p[2]),
            "max": float(x_s.max() * 1e3)}


class RealTimeRunner:
    """Step a network in fixed slots paced to the wall clock, shedding work when behind.

    Parameters
    ----------
    net : edsim.Network
        The network; the runner calls ``net.run_until`` once per slot.
    slot : float
        Slot length (ms of simulated time), > 0.
    speed : float or None
        Simulated time per wall time: 1.0 is real time, 20.0 twenty times faster than real
        time; None (or ``math.inf``) runs as fast as possible, without deadlines or shedding.
    outputs : sequence of Recorder
        Recorders whose new spikes are read after every slot and handed to your code; their
        recording is never shed.
    on_slot : callable, optional
        Default callback of :meth:`run`.
    input_floor : int
        Level 3 drops input to sources whose priority is below this (default 1: every source
        left at the default priority 0).
    shed_lag : float, optional
        Lag (ms of wall time) beyond which the level rises; default one slot of wall time.
    shed_after : int
        Consecutive late slots, without the lag shrinking, before the level rises; also the
        least number of slots between two rises; >= 1.
    recover_after : int
        Consecutive slots less than ``recover_lag`` late after which the level falls by one, >= 1.
    recover_lag : float, optional
        Lag (ms of wall time) under which a slot counts towards recovery; default
        ``shed_lag / 2``.
    busy_wait : float
        Wall time (ms) before a deadline spent spinning instead of sleeping, for tighter
        pacing than the OS sleep allows (costs a core meanwhile); default 0.
    clock, sleep : callable, optional
        The wall clock (seconds) and the sleep the runner uses; ``time.perf_counter`` and
        ``time.sleep`` unless you substitute your own (a simulated clock, in tests).
    rt_priority : int, optional
        Run the paced loop under the operating system's real-time FIFO scheduling at this
        priority (1-99; Linux ``SCHED_FIFO``), so that other processes cannot preempt a slot;
        the previous policy is restored afterwards. Needs the right to do so (root or
        ``CAP_SYS_NICE``); without it the loop runs normally and ``summary.priority`` says
        why. Default None: normal scheduling. Do not combine it with a ``busy_wait`` that fills
        the slots: Linux lets real-time tasks run 95 % of each second (``sched_rt_runtime_us``)
        and then stops them for the rest, a stall of about 50 ms (measured: 1,079 of 10,000
        deadlines missed, against 138 with the same busy wait at normal priority).

    See the module documentation for the levels and an example.
    """

    def __init__(self, net, slot: float = 1.0, speed: float | None = 1.0, outputs=(),
                 on_slot: Callable | None = None, input_floor: int = 1,
                 shed_lag: float | None = None, shed_after: int = 10, recover_after: int = 100,
                 recover_lag: float | None = None, busy_wait: float = 0.0,
                 clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, rt_priority: int | None = None):
        if not (isinstance(slot, (int, float)) and math.isfinite(slot) and slot > 0):
            raise ParameterError(f"slot of RealTimeRunner must be > 0 ms (got {slot!r})")
        if speed is not None and not (isinstance(speed, (int, float)) and speed > 0):
            raise ParameterError(f"speed of RealTimeRunner must be > 0 or None (got {speed!r})")
        if speed is not None and math.isinf(speed):
            speed = None
        outputs = list(outputs)
        for rec in outputs:
            if not isinstance(rec, Recorder) or not any(rec is r for r in net._recorders):
                raise ParameterError(f"outputs of RealTimeRunner must be recorders of this "
                                     f"network, as net.record returns them (got {rec!r})")
        for name, value in (("shed_after", shed_after), ("recover_after", recover_after)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} of RealTimeRunner must be a whole number >= 1 "
                                     f"(got {value!r})")
        for name, value in (("shed_lag", shed_lag), ("recover_lag", recover_lag)):
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)
                                          and value >= 0):
                raise ParameterError(f"{name} of RealTimeRunner must be >= 0 ms (got {value!r})")
        if rt_priority is not None and (isinstance(rt_priority, bool) or
                                        not isinstance(rt_priority, int) or
                                        not 1 <= rt_priority <= 99):
            raise ParameterError(f"rt_priority of RealTimeRunner must be a whole number in 1-99 "
                                 f"or None (got {rt_priority!r})")
        self.rt_priority = rt_priority
        self.priority_note = "normal scheduling"
        if not (math.isfinite(busy_wait) and busy_wait >= 0):
            raise ParameterError(f"busy_wait of RealTimeRunner must be >= 0 ms (got {busy_wait!r})")
        self.net = net
        self.slot = float(slot)
        self.speed = None if speed is None else float(speed)
        self.outputs = outputs
        self.on_slot = on_slot
        self.input_floor = int(input_floor)
        self.shed_after = shed_after
        self.recover_after = recover_after
        self.busy_wait = busy_wait / 1e3
        self._clock, self._sleep = clock, sleep
        slot_wall_ms = None if self.speed is None else self.slot / self.speed
        self.shed_lag = (None if slot_wall_ms is None else
                         slot_wall_ms if shed_lag is None else float(shed_lag))
        self.recover_lag = (None if self.shed_lag is None else
                            self.shed_lag / 2 if recover_lag is None else float(recover_lag))
        self.level = 0
        self.summary: LoopSummary | None = None
        self._priority: dict[int, int] = {}
        self._dropped_inputs = 0
        self._running = False

    # -- inputs ------------------------------------------------------------------------------
    def set_priority(self, source, priority: int) -> None:
        """Priority of ``source`` (a SpikeTimes population or view) for level 3; default 0."""
        if isinstance(priority, bool) or not isinstance(priority, (int, np.integer)):
            raise ParameterError(f"priority of '{getattr(source, 'name', source)}' must be a whole "
                                 f"number (got {priority!r})")
        self.net._own(source, "source")
        self._priority[id(source)] = int(priority)

    def priority(self, source) -> int:
        """The priority of ``source`` (its own, else its parent population's, else 0)."""
        s = source
        while s is not None:
            if id(s) in self._priority:
                return self._priority[id(s)]
            s = getattr(s, "parent", None)
        return 0

    def inject(self, source, times, index=0) -> None:
        """``net.inject`` through the runner: at level 3 low-priority input is dropped (counted)."""
        if self.level >= 3 and self.priority(source) < self.input_floor:
            self._dropped_inputs += int(np.size(times))
            return
        self.net.inject(source, times, index)

    # -- shedding ----------------------------------------------------------------------------
    def _shed_runs(self) -> list[tuple[int, int]]:
        keep = set()
        for rec in self.outputs:
            keep.update(int(i) for i in rec.ids)
        shed = set()
        for rec in self.net._recorders:
            if not any(rec is o for o in self.outputs):
                shed.update(int(i) for i in rec.ids)
        ids = np.array(sorted(shed - keep), dtype=np.int64)
        if ids.size == 0:
            return []
        breaks = np.nonzero(np.diff(ids) != 1)[0] + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [ids.size]])
        return [(int(ids[a]), int(b - a)) for a, b in zip(starts, ends)]

    def _apply(self, level: int) -> None:
        sim = self.net._sim
        for sampler, _ in self.net._samplers:
            sim.pause_sampler(sampler, level >= 1)
        for first, n in self._runs:
            sim.shed_recording(first, n, level >= 2)
        self.level = level

    def _counts(self) -> dict[int, int]:
        sim = self.net._sim
        samples = sum(sim.sampler_skipped(s) * rec.size for s, rec in self.net._samplers)
        spikes, _ = sim.shed_counts()
        return {1: samples, 2: spikes, 3: self._dropped_inputs}

    # -- running -----------------------------------------------------------------------------
    def run(self, duration: float, on_slot: Callable | None = None) -> LoopSummary:
        """Run ``duration`` ms in slots, calling ``on_slot(t, spikes)`` after each one.

        ``t`` is the end of the slot (ms, = ``net.t``), ``spikes`` a :class:`SlotSpikes` of the
        outputs' new spikes. The callback returns None or an iterable of injections, each
        ``(source, times)`` or ``(source, times, index)`` as :meth:`edsim.Network.inject` takes
        them (times >= t); they go through :meth:`inject`. Returns the :class:`LoopSummary`
        (also kept as ``self.summary``).
        """
        callback = on_slot or self.on_slot
        for step in self.steps(duration):
            if callback is None:
                continue
            out = callback(step.t, step.spikes)
            if out is not None:
                for injection in out:
                    self.inject(*injection)
        return self.summary

    def _raise_priority(self):
        """SCHED_FIFO at self.rt_priority; returns the policy to restore, or None if refused."""
        if not hasattr(os, "sched_setscheduler"):
            self.priority_note = "real-time priority not available on this system"
            return None
        previous = (os.sched_getscheduler(0), os.sched_getparam(0))
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.rt_priority))
        except OSError as exc:
            self.priority_note = f"real-time priority refused ({exc.strerror}): normal scheduling"
            return None
        self.priority_note = f"SCHED_FIFO priority {self.rt_priority}"
        return previous

    def steps(self, duration: float) -> Iterator[Step]:
        """Iterate over the slots of ``duration`` ms: the loop body is your closed loop.

        Each :class:`Step` comes after its slot was simulated; inject with ``step.inject`` before
        asking for the next one. The slot's lag is measured when you ask for the next step, so
        your processing counts. ``self.summary`` holds the :class:`LoopSummary` when the loop
        ends (also if you leave it early).

        Examples
        --------
        >>> import edsim
        >>> net = edsim.Network()
        >>> src = net.source(edsim.SpikeTimes(), n=1, name="src")
        >>> pop = net.population(1, edsim.IF_curr_delta(), name="pop")
        >>> _ = net.connect(src, pop, edsim.AllToAll(), weight=20.0)
        >>> rec = net.record(pop)
        >>> runner = edsim.RealTimeRunner(net, slot=1.0, speed=None, outputs=[rec])
        >>> for step in runner.steps(10.0):
        ...     if step.k % 2 == 0:
        ...         step.inject(src, [step.t + 0.25])
        >>> len(rec.spikes), runner.summary.slots
        (5, 10)
        """
        if isinstance(duration, bool) or not isinstance(duration, (int, float, np.number)):
            raise ParameterError(f"duration must be a number of ms (got {duration!r})")
        if not (math.isfinite(duration) and duration > 0):
            raise ParameterError(f"duration must be finite and > 0 ms (got {duration})")
        if self._running:
            raise StateError("this RealTimeRunner is already running")
        return self._loop(float(duration))

    def _loop(self, duration: float) -> Iterator[Step]:
        net = self.net
        t0 = net.t
        n = max(1, math.ceil(duration / self.slot - 1e-9))
        paced = self.speed is not None
        wall_per_ms = None if not paced else 1e-3 / self.speed   # s of wall per ms simulated
        shed_lag = None if not paced else self.shed_lag / 1e3
        recover_lag = None if not paced else self.recover_lag / 1e3
        self._runs = self._shed_runs()
        self._running = True
        start_counts = self._counts()
        lags = np.empty(n)
        steps = np.empty(n)
        at_level = {1: 0, 2: 0, 3: 0}
        changes: list[tuple[int, float, int, int]] = []
        since_change = self.shed_after
        on_time = behind = 0
        done = 0
        t_end = t0
        perf = self._clock
        net.run_until(t0)  # a network's first run freezes its connectivity: not on the clock
        # Python's cyclic garbage collector pauses for milliseconds at unpredictable slots; a
        # paced loop runs without it (reference counting still frees memory) and collects once
        # at the end.
        gc_was_enabled = gc.isenabled()
        restore_policy = None
        for rec in self.outputs:
            # numpy resolves a ufunc loop for new operand types on first use (~0.2 ms): the
            # routing of an output's spikes runs once on a dummy spike, off the clock
            if rec.size:
                got = net._select(rec, np.zeros(1), rec.ids[:1].astype(np.uint32))
                if got is not None:
                    SpikeTrains(*_sorted(*got), rec.size)
        if paced:
            gc.collect()
            gc.disable()
            if self.rt_priority is not None:
                restore_policy = self._raise_priority()
        wall0 = perf()
        try:
            for k in range(n):
                t_end = t0 + duration if k == n - 1 else t0 + (k + 1) * self.slot
                start = perf()
                net.run_until(t_end)
                spikes = SlotSpikes([(rec, rec.new_spikes()) for rec in self.outputs])
                yield Step(k, t_end, spikes, self.level, self)
                end = perf()
                steps[k] = end - start
                done = k + 1
                for level in range(1, self.level + 1):
                    at_level[level] += 1
                if not paced:
                    continue
                deadline = wall0 + (t_end - t0) * wall_per_ms
                lag = end - deadline
                lags[k] = lag
                since_change += 1
                on_time = on_time + 1 if lag < recover_lag else 0
                behind = behind + 1 if lag > shed_lag else 0
                m = self.shed_after
                if (behind >= m and lag >= lags[k - m + 1] and self.level < 3
                        and since_change >= m):
                    changes.append((k, t_end, self.level, self.level + 1))
                    self._apply(self.level + 1)
                    since_change = 0
                elif on_time >= self.recover_after and self.level > 0:
                    changes.append((k, t_end, self.level, self.level - 1))
                    self._apply(self.level - 1)
                    on_time = 0
                    since_change = 0
                if lag < 0:
                    self._sleep_until(deadline)
        finally:
            wall = perf() - wall0
            if paced and gc_was_enabled:
                gc.enable()
            if restore_policy is not None:
                os.sched_setscheduler(0, *restore_policy)
            counts = self._counts()
            if self.level:
                self._apply(0)
            self._running = False
            shed = {level: {"name": LEVELS[level], "slots": at_level[level],
                            "dropped": counts[level] - start_counts[level],
                            "unit": _UNITS[level]} for level in LEVELS}
            lag_s = lags[:done]
            self.summary = LoopSummary(
                slots=done, slot_ms=self.slot, speed=self.speed, sim_ms=net.t - t0,
                wall_s=wall, deadlines_missed=int(np.sum(lag_s > 0)) if paced else None,
                lag_ms=_percentiles(lag_s) if paced else None, step_ms=_percentiles(steps[:done]),
                shed=shed, level_changes=tuple(changes),
                shed_lag_ms=self.shed_lag, shed_after=self.shed_after,
                recover_after=self.recover_after, recover_lag_ms=self.recover_lag,
                scheduling=self.priority_note if paced else "normal scheduling",
                lag_per_slot_ms=lag_s * 1e3 if paced else None,
                step_per_slot_ms=steps[:done] * 1e3,
                overran=int(np.sum((lag_s > 0) & (steps[:done] > self.slot * wall_per_ms)))
                if paced else None)

    def _sleep_until(self, deadline: float) -> None:
        remaining = deadline - self._clock() - self.busy_wait
        if remaining > 0:
            self._sleep(remaining)
        if self.busy_wait:
            while self._clock() < deadline:
                pass
