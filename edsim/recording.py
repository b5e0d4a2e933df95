"""Recordings: spike trains and sampled state, as numpy arrays and HDF5 files.

The C core appends spikes to one buffer; the network drains it after every run into a log of
chunks shared by its recorders, and a recorder takes its own spikes from the chunks it has not seen
when it is read. A closed-loop step therefore costs one drain plus the work of the recorders it
reads (:meth:`Recorder.new_spikes` copies just the spikes since its last read), however many others
record. Sampled state leaves the core in batches during closed-loop steps, and at every read and
``run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edsim._h5 import open_checked
from edsim.errors import ParameterError

FORMAT = "edsim-recording"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SpikeTrains:
    """Spikes of ``n`` neurons: times ``t`` (ms) and population-local indices ``i``, sorted by (t, i).

    Examples
    --------
    >>> s = SpikeTrains(np.array([1.0, 2.0, 2.5]), np.array([0, 1, 0]), n=2)
    >>> s.count().tolist()
    [2, 1]
    """

    t: np.ndarray
    i: np.ndarray
    n: int

    def __len__(self) -> int:
        return int(self.t.size)

    def count(self) -> np.ndarray:
        """Spikes per neuron."""
        return np.bincount(self.i, minlength=self.n)

    def spike_trains(self) -> list[np.ndarray]:
        """One sorted array of spike times per neuron (Brian2's ``spike_trains()``)."""
        order = np.argsort(self.i, kind="stable")
        splits = np.cumsum(self.count())[:-1]
        return np.split(self.t[order], splits)

    def window(self, t_start: float, t_stop: float) -> "SpikeTrains":
        keep = (self.t >= t_start) & (self.t < t_stop)
        return SpikeTrains(self.t[keep], self.i[keep], self.n)

    def mean_rate(self, t_start: float, t_stop: float) -> float:
        """Mean firing rate (Hz) over neurons and the window [t_start, t_stop) ms."""
        span = t_stop - t_start
        if not span > 0:
            raise ParameterError(f"rate window must have t_stop > t_start (got {t_start}, {t_stop})")
        return float(len(self.window(t_start, t_stop)) / self.n / (span / 1000.0))

    def cv_isi(self, min_spikes: int = 3) -> np.ndarray:
        """Coefficient of variation of the inter-spike intervals of each neuron with enough spikes."""
        cvs = []
        for train in self.spike_trains():
            if train.size >= min_spikes:
                isi = np.diff(train)
                if isi.mean() > 0:
                    cvs.append(isi.std() / isi.mean())
        return np.array(cvs)


@dataclass(frozen=True)
class StateTrace:
    """Sampled state variable: times ``t`` (ms), values ``[n_samples, n_neurons]``, its unit."""

    t: np.ndarray
    values: np.ndarray
    unit: str


_EMPTY_T = np.zeros(0)
_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_T.flags.writeable = False
_EMPTY_I.flags.writeable = False


def _sorted(t: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((i, t))
    return t[order], i[order]


@dataclass
class Recorder:
    """What :meth:`edsim.Network.record` returns: the recording of one population or view."""

    name: str
    size: int
    model: str
    ids: np.ndarray                      # global ids recorded, population order
    sample_interval: float | None = None
    _chunks_t: list = field(default_factory=list)
    _chunks_i: list = field(default_factory=list)
    _read: int = 0                       # chunks already returned by new_spikes
    _samples_t: list = field(default_factory=list)
    _samples_v: list = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    variables: dict = field(default_factory=lambda: {"v": "mV"})  # sampled names -> units
    _spikes_on: bool = True              # records spikes (net.record(..., spikes=False): not)
    _source: Any = field(default=None, repr=False, compare=False)  # () -> its Network, or None
    _log_pos: int = field(default=0, repr=False, compare=False)     # its Network's spike log read

    def _sync(self) -> None:
        """Take what the network holds for this recorder (spikes and samples not yet routed)."""
        net = self._source() if self._source is not None else None
        if net is not None:
            net._route(self)

    def _id_range(self) -> tuple[int, int, bool]:
        """(lowest id, highest id, ids == lo..hi in order), computed once."""
        cached = self.__dict__.get("_range")
        if cached is None:
            lo, hi = (int(self.ids.min()), int(self.ids.max())) if self.size else (1, 0)
            contiguous = self.size == hi - lo + 1 and bool(np.all(np.diff(self.ids) == 1))
            cached = self.__dict__["_range"] = (lo, hi, contiguous)
        return cached

    def _add_spikes(self, t: np.ndarray, local: np.ndarray) -> None:
        if t.size:
            self._chunks_t.append(t)
            self._chunks_i.append(local)

    def _add_samples(self, t: np.ndarray, values: np.ndarray) -> None:
        if t.size:
            self._samples_t.append(t)
            self._samples_v.append(values)

    @property
    def spikes(self) -> SpikeTrains:
        """All spikes recorded so far, sorted by (t, i)."""
        self._sync()
        if not self._chunks_t:
            return SpikeTrains(np.zeros(0), np.zeros(0, np.int64), self.size)
        t, i = _sorted(np.concatenate(self._chunks_t), np.concatenate(self._chunks_i))
        return SpikeTrains(t, i, self.size)

    def new_spikes(self, forget: bool = False) -> SpikeTrains:
        """Spikes recorded since the previous call, sorted by (t, i); copies only those.

        A closed loop calls it after every step: its cost grows with the new spikes only (about
        a microsecond when there are none), never with the whole recording.

        Parameters
        ----------
        forget : bool
            Also drop the returned spikes from the recording (``spikes`` no longer holds them),
            so that a long closed-loop session's memory stays bounded.
        """
        self._sync()
        n = len(self._chunks_t)
        if self._read == n:
            out = SpikeTrains(_EMPTY_T, _EMPTY_I, self.size)
        elif n - self._read == 1:
            out = SpikeTrains(*_sorted(self._chunks_t[-1], self._chunks_i[-1]), self.size)
        else:
            out = SpikeTrains(*_sorted(np.concatenate(self._chunks_t[self._read:]),
                                       np.concatenate(self._chunks_i[self._read:])), self.size)
        self._read = n
        if forget:
            del self._chunks_t[:n], self._chunks_i[:n]
            self._read = 0
        return out

    def trace(self, variable: str) -> StateTrace:
        """Samples of one state variable (names: the model's ``state_variables``)."""
        if self.sample_interval is None:
            raise ParameterError(
                f"state of '{self.name}' was not recorded; use net.record(pop, v=interval_ms)"
            )
        names = list(self.variables)
        if variable not in names:
            raise ParameterError(
                f"'{self.name}' samples {', '.join(names)}; no variable {variable!r}"
            )
        column, unit = names.index(variable), self.variables[variable]
        self._sync()
        if not self._samples_t:
            return StateTrace(np.zeros(0), np.zeros((0, self.size)), unit)
        return StateTrace(np.concatenate(self._samples_t),
                          np.concatenate(self._samples_v)[:, :, column], unit)

    @property
    def v(self) -> StateTrace:
        """Sampled membrane potential (mV)."""
        return self.trace("v")

    def __getattr__(self, name: str):
        variables = self.__dict__.get("variables", {})
        if name in variables and name != "v":
            return self.trace(name)
        raise AttributeError(name)

    def save(self, path: str | Path) -> None:
        """Write the recording to an HDF5 file (``format = "edsim-recording"``)."""
        import h5py

        from edsim import __version__

        s = self.spikes
        with h5py.File(path, "w") as f:
            f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION,
                            "edsim_version": __version__, "population": self.name,
                            "size": self.size, "model": self.model})
            sp = f.create_group("spikes")
            sp.create_dataset("t", data=s.t).attrs["unit"] = "ms"
            sp.create_dataset("i", data=s.i.astype(np.int64)).attrs["unit"] = "index"
            params = f.create_group("parameters")
            for k, v in self.parameters.items():
                params.attrs[k] = v
            if self.sample_interval is not None:
                st = f.create_group("state")
                st.attrs["interval"] = self.sample_interval
                first = next(iter(self.variables))
                st.create_dataset("t", data=self.trace(first).t).attrs["unit"] = "ms"
                for name in self.variables:
                    trace = self.trace(name)
                    st.create_dataset(name, data=trace.values).attrs["unit"] = trace.unit


@dataclass(frozen=True)
class Recording:
    """A recording read back from a file by :func:`load`."""

    population: str
    size: int
    model: str
    spikes: SpikeTrains
    state: dict[str, StateTrace]
    parameters: dict

    def __getattr__(self, name: str):
        state = self.__dict__.get("state", {})
        if name in state:
            return state[name]
        raise AttributeError(name)


def load(path: str | Path) -> Recording:
    """Read a recording written by :meth:`Recorder.save`, checking its format and version."""
    with open_checked(path, FORMAT, FORMAT_VERSION, "recording") as f:
        size = int(f.attrs["size"])
        spikes = SpikeTrains(f["spikes/t"][()], f["spikes/i"][()], size)
        state = {}
        if "state" in f:
            t = f["state/t"][()]
            for name, d in f["state"].items():
                if name != "t":
                    state[name] = StateTrace(t, d[()], d.attrs["unit"])
        params = {k: (v.item() if hasattr(v, "item") else v) for k, v in f["parameters"].attrs.items()}
        return Recording(str(f.attrs["population"]), size, str(f.attrs["model"]), spikes, state, params)
