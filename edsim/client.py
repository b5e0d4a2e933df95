"""A small client of ``edsim serve`` (standard library + numpy).

Example
-------
>>> from edsim.client import Client
>>> with Client("tcp://127.0.0.1:7411") as c:                       # doctest: +SKIP
...     w = c.hello()                                                # ports, sizes, time
...     out = c.step(10.0, {"in": ([0, 3], [2.5, 7.25])})            # (indices, times ms)
...     t, i = out["out"]                                            # output spikes in [0, 10) ms

Protocol: ``docs/protocol.md``. Errors the server reports are raised as
:class:`edsim.protocol.ServerError` subclasses carrying the server's message:
:class:`~edsim.protocol.RequestError` (also a ``ValueError``; the request changed nothing) and
:class:`~edsim.protocol.ServerBusy` (also a ``ConnectionError``).
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

import numpy as np

from edsim import protocol as P
from edsim.errors import ParameterError
from edsim.protocol import (  # noqa: F401 - re-exported for users of the client
    ConnectionClosed,
    ProtocolError,
    RequestError,
    ServerBusy,
    ServerError,
    Welcome,
)


class Spikes(NamedTuple):
    """Spikes of one output port in one step: times ``t`` (ms) and neuron indices ``i``,
    sorted by (t, i)."""

    t: np.ndarray
    i: np.ndarray


def parse_address(address: str) -> tuple[str, object]:
    """``tcp://HOST:PORT`` or ``unix://PATH`` -> (family name, socket address)."""
    if address.startswith("unix://"):
        return "unix", address[len("unix://"):]
    if address.startswith("tcp://"):
        host, sep, port = address[len("tcp://"):].rpartition(":")
        if sep and port.isdigit():
            return "tcp", (host.strip("[]"), int(port))
    raise ParameterError(f"server address must be tcp://HOST:PORT or unix://PATH (got {address!r})")


class Client:
    """One connection to an ``edsim serve`` server.

    Parameters
    ----------
    address : str, optional
        ``tcp://HOST:PORT`` or ``unix://PATH`` (what the server prints when it starts).
    host, port : str, int
        TCP address, when ``address`` is not given.
    unix : str, optional
        Unix socket path, when ``address`` is not given.
    timeout : float
        Seconds to wait for the connection and for each reply (a long STEP needs a long timeout).
    """

    def __init__(self, address: str | None = None, *, host: str = "127.0.0.1",
                 port: int | None = None, unix: str | None = None, timeout: float = 60.0):
        if address is not None:
            family, where = parse_address(address)
        elif unix is not None:
            family, where = "unix", str(unix)
        elif port is not None:
            family, where = "tcp", (host, int(port))
        else:
            raise ParameterError("Client needs an address, a port or a unix path")
        if family == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(socket.AF_INET6 if ":" in where[0] else socket.AF_INET,
                                      socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(where)
        except OSError:
            self.sock.close()
            raise
        if family == "tcp":
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.welcome: Welcome | None = None
        self.t: float | None = None       # simulation time (ms) after the last reply that said it
        self._next_id = 1
        self._closed = False

    # -- framing -----------------------------------------------------------------------------
    def _send(self, msg_type: P.MsgType, payload: bytes = b"") -> int:
        if self._closed:
            raise ConnectionClosed("the client is closed")
        rid = self._next_id
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        try:
            self.sock.sendall(P.frame(msg_type, payload, rid))
        except OSError as exc:
            self._shut()
            raise ConnectionClosed(f"connection lost while sending: {exc}") from None
        return rid

    def _recv_exactly(self, n: int) -> bytes:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            try:
                k = self.sock.recv_into(view[got:])
            except TimeoutError:
                raise ConnectionClosed("no reply from the server within the timeout") from None
            except OSError as exc:
                self._shut()
                raise ConnectionClosed(f"connection lost: {exc}") from None
            if k == 0:
                self._shut()
                part = f" after {got} of {n} bytes" if got else ""
                raise ConnectionClosed(f"the server closed the connection{part}")
            got += k
        return bytes(buf)

    def recv_message(self) -> tuple[int, int, bytes]:
        """Read one message: (type, request id, payload)."""
        magic, version, msg_type, length, rid = P.HEADER.unpack(self._recv_exactly(P.HEADER_SIZE))
        if magic != P.MAGIC or version != P.VERSION:
            self._shut()
            raise ProtocolError(f"reply header has magic {magic!r} and version {version}; expected "
                                f"{P.MAGIC!r} and {P.VERSION}")
        limit = max(P.MAX_MESSAGE_BYTES, self.welcome.max_message_bytes if self.welcome else 0)
        if length > limit:
            self._shut()
            raise ProtocolError(f"reply payload of {length} bytes exceeds {limit}")
        return msg_type, rid, self._recv_exactly(length)

    def _reply(self, rid: int, expected: P.MsgType) -> bytes:
        msg_type, got_rid, payload = self.recv_message()
        if msg_type == P.MsgType.ERROR:
            code, message = P.unpack_error(payload)
            err = P.server_error(code, message, got_rid)
            if code in set(P.ErrorCode) and P.ErrorCode(code).closes:
                self._shut()
            raise err
        if msg_type == P.MsgType.BYE and got_rid == 0:
            self._shut()
            raise ConnectionClosed("the server is shutting down (unsolicited BYE)")
        if msg_type != expected or got_rid != rid:
            self._shut()
            raise ProtocolError(f"expected {expected.name} for request {rid}, got message type "
                                f"{msg_type} for request {got_rid}")
        return payload

    def _shut(self) -> None:
        self._closed = True
        self.sock.close()

    # -- requests ----------------------------------------------------------------------------
    def hello(self, name: str = "edsim.client") -> Welcome:
        """Greet the server; returns what it says of its network (ports, sizes, time, limits)."""
        rid = self._send(P.MsgType.HELLO, name.encode("utf-8")[:256])
        self.welcome = Welcome.unpack(self._reply(rid, P.MsgType.WELCOME))
        self.t = self.welcome.t
        return self.welcome

    def _port_id(self, port) -> int:
        if isinstance(port, (int, np.integer)) and not isinstance(port, bool):
            return int(port)
        names = list(self.welcome.inputs)
        if port not in names:
            raise ParameterError(f"no input port {port!r}; the server's input ports are: "
                                 f"{', '.join(names) or 'none'}")
        return names.index(port)

    def step(self, t: float, inputs: dict | None = None) -> dict[str, Spikes]:
        """Inject input spikes, advance the network to absolute time ``t`` (ms), return its output.

        Parameters
        ----------
        t : float
            Time to advance to (ms), >= the current time.
        inputs : dict, optional
            ``{port: (indices, times)}``: port name (or id), neuron indices within the port, spike
            times (ms, each >= the current time; later than ``t`` is allowed). An object with
            ``.i`` and ``.t`` arrays (e.g. :class:`Spikes`) may replace the tuple.

        Returns
        -------
        dict[str, Spikes]
            Spikes of every output port during the step, times in [previous time, t) ms.
        """
        if self.welcome is None:
            self.hello()
        blocks = []
        for port, spikes in (inputs or {}).items():
            pid = self._port_id(port)
            if hasattr(spikes, "t") and hasattr(spikes, "i"):
                idx, times = spikes.i, spikes.t
            else:
                idx, times = spikes
            idx, times = np.asarray(idx).ravel(), np.asarray(times, dtype=np.float64).ravel()
            if idx.shape != times.shape:
                raise ParameterError(
                    f"input port {port!r}: {idx.size} indices but {times.size} times")
            if idx.size and (not np.issubdtype(idx.dtype, np.integer)
                             or idx.min() < 0 or idx.max() > 0xFFFFFFFF):
                raise ParameterError(f"input port {port!r}: indices must be integers in [0, 2**32)")
            if not 0 <= pid <= 0xFFFF:
                raise ParameterError(f"input port id must be in [0, 65535] (got {pid})")
            blocks.append(P.pack_block(pid, times, idx))
        payload = P.STEP_HEAD.pack(float(t), len(blocks)) + b"".join(blocks)
        rid = self._send(P.MsgType.STEP, payload)
        names = list(self.welcome.outputs)
        parts: dict[int, list] = {k: [] for k in range(len(names))}
        while True:
            r = P.Reader(self._reply(rid, P.MsgType.STEPPED), "STEPPED")
            now, flags, n_blocks = r.unpack(P.STEPPED_HEAD)
            for _ in range(n_blocks):
                port, count = r.unpack(P.BLOCK_HEAD)
                if port not in parts:
                    raise ProtocolError(f"STEPPED names output port {port}; there are {len(names)}")
                parts[port].append(r.spikes(count))
            r.end()
            if not flags & P.FLAG_MORE:
                break
        self.t = now
        out = {}
        for k, name in enumerate(names):
            ts = [p[0] for p in parts[k]]
            iis = [p[1] for p in parts[k]]
            out[name] = Spikes(np.concatenate(ts) if ts else np.zeros(0),
                               np.concatenate(iis) if iis else np.zeros(0, np.int64))
        return out

    def stats(self) -> dict[str, float]:
        """The server's counters (time, steps, spikes in and out, time spent, core counters)."""
        rid = self._send(P.MsgType.GET_STATS)
        return P.unpack_stats(self._reply(rid, P.MsgType.STATS))

    def reset(self, seed: int | None = None) -> Welcome:
        """Rebuild the network from its spec (same seed unless given), at t = 0; costs a build."""
        payload = b"" if seed is None else struct.pack("<Q", int(seed))
        rid = self._send(P.MsgType.RESET, payload)
        self.welcome = Welcome.unpack(self._reply(rid, P.MsgType.WELCOME))
        self.t = self.welcome.t
        return self.welcome

    def close(self) -> None:
        """Say BYE, wait (briefly) for the server's BYE, and close. Idempotent."""
        if self._closed:
            return
        try:
            self.sock.settimeout(min(self.sock.gettimeout() or 5.0, 5.0))
            rid = self._send(P.MsgType.BYE)
            self._reply(rid, P.MsgType.BYE)
        except (ConnectionClosed, ProtocolError, ServerError, OSError):
            pass
        finally:
            if not self._closed:
                self._shut()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(address: str | None = None, **kwargs) -> Client:
    """Open a :class:`Client` (same arguments)."""
    return Client(address, **kwargs)
