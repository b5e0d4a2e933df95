"""The wire format of ``edsim serve``: message framing, payload layouts, error codes.

Shared by the server (:mod:`edsim.serve`) and the client (:mod:`edsim.client`); the normative
description, precise enough for a C or ROS client, is ``docs/protocol.md``. Everything is
little-endian and packed (no alignment padding).

Every message is a 16-byte header followed by ``length`` payload bytes::

    offset 0   4 bytes  magic "EDSM"
    offset 4   u16      protocol version (1)
    offset 6   u16      message type
    offset 8   u32      payload length (bytes)
    offset 12  u32      request id (echoed by the server's reply; 0 on unsolicited messages)

Only the standard library and numpy are used here, so a client needs nothing compiled.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

import numpy as np

from edsim.errors import EdsimError

MAGIC = b"EDSM"
VERSION = 1
HEADER = struct.Struct("<4sHHII")
HEADER_SIZE = HEADER.size  # 16

#: Default largest payload (bytes) the server accepts, and sends, in one message.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Smallest ``max_message_bytes`` a server may be configured with (a WELCOME must fit).
MIN_MESSAGE_BYTES = 1024

STEP_HEAD = struct.Struct("<dH")        # t_until (ms), n_blocks
STEPPED_HEAD = struct.Struct("<dHH")    # t (ms), flags, n_blocks
BLOCK_HEAD = struct.Struct("<HI")       # port id, count
SPIKE_BYTES = 12                        # f64 time + u32 index
FLAG_MORE = 0x0001                      # STEPPED: another STEPPED for the same request follows


class MsgType(enum.IntEnum):
    """Message types (header offset 6)."""

    HELLO = 1       # client -> server
    WELCOME = 2     # server -> client: reply to HELLO and to RESET
    STEP = 3        # client -> server
    STEPPED = 4     # server -> client
    GET_STATS = 5   # client -> server
    STATS = 6       # server -> client
    RESET = 7       # client -> server
    BYE = 8         # both ways
    ERROR = 9       # server -> client


class ErrorCode(enum.IntEnum):
    """Codes of ERROR messages; the first five close the connection after the reply."""

    BAD_MAGIC = 1       # closes
    BAD_VERSION = 2     # closes
    TOO_LARGE = 3       # closes, without reading the payload
    TIMEOUT = 4         # closes: a message started but did not complete in time, or idle
    BUSY = 5            # closes: another client holds the server
    UNKNOWN_TYPE = 6
    MALFORMED = 7       # payload does not match its type's layout
    BAD_TIME = 8        # STEP target time not finite, before now, or beyond max_step_ms
    SPIKE_TIME = 9      # an input spike time not finite or before now
    BAD_PORT = 10       # no input port with that id
    BAD_INDEX = 11      # neuron index >= the port's size
    INTERNAL = 12       # the simulation raised while stepping or resetting

    @property
    def closes(self) -> bool:
        return self <= ErrorCode.BUSY


# ---- errors raised by the client ------------------------------------------------------------

class ProtocolError(EdsimError, RuntimeError):
    """A peer sent bytes that do not follow the protocol (bad header, bad payload layout)."""


class ConnectionClosed(EdsimError, ConnectionError):
    """The peer closed the connection (or it broke) before a complete reply arrived."""


class ServerError(EdsimError, RuntimeError):
    """The server answered with ERROR; ``code`` is an :class:`ErrorCode`, ``message`` its text."""

    def __init__(self, code: int, message: str, request_id: int = 0):
        try:
            name = ErrorCode(code).name
        except ValueError:
            name = f"code {code}"
        super().__init__(f"server error {name}: {message}")
        self.code = code
        self.name = name
        self.message = message
        self.request_id = request_id


class RequestError(ServerError, ValueError):
    """The server refused a request's content (time, spikes, port, index); nothing changed."""


class ServerBusy(ServerError, ConnectionError):
    """Another client holds the server; the connection was closed."""


_REQUEST_CODES = {ErrorCode.MALFORMED, ErrorCode.BAD_TIME, ErrorCode.SPIKE_TIME,
                  ErrorCode.BAD_PORT, ErrorCode.BAD_INDEX, ErrorCode.UNKNOWN_TYPE}


def server_error(code: int, message: str, request_id: int = 0) -> ServerError:
    """The exception matching an ERROR reply's code."""
    if code == ErrorCode.BUSY:
        return ServerBusy(code, message, request_id)
    if code in _REQUEST_CODES:
        return RequestError(code, message, request_id)
    return ServerError(code, message, request_id)


# ---- framing --------------------------------------------------------------------------------

def header(msg_type: int, length: int, request_id: int = 0) -> bytes:
    """The 16-byte header of a message with ``length`` payload bytes."""
    return HEADER.pack(MAGIC, VERSION, int(msg_type), length, request_id)


def frame(msg_type: int, payload: bytes = b"", request_id: int = 0) -> bytes:
    """Header + payload of one message."""
    return header(msg_type, len(payload), request_id) + payload


def pack_str(s: str) -> bytes:
    """A string field: u16 byte length + UTF-8 bytes (at most 65,535 bytes)."""
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise ProtocolError(f"string field must be <= 65535 UTF-8 bytes (got {len(b)})")
    return struct.pack("<H", len(b)) + b


class Reader:
    """Sequential reader of one payload; every overrun raises :class:`ProtocolError`."""

    def __init__(self, payload: bytes | memoryview, what: str):
        self.buf = memoryview(payload)
        self.pos = 0
        self.what = what

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ProtocolError(
                f"{self.what} payload is truncated: needs {self.pos + n} bytes, has {len(self.buf)}"
            )
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, st: struct.Struct) -> tuple:
        return st.unpack(self.take(st.size))

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def f64(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def string(self) -> str:
        raw = bytes(self.take(self.u16()))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(
                f"{self.what} holds a string that is not UTF-8: {raw[:40]!r}") from None

    def spikes(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` spikes: f64 times (ms) then u32 indices, as native numpy arrays."""
        t = np.frombuffer(self.take(8 * count), dtype="<f8").astype(np.float64)
        i = np.frombuffer(self.take(4 * count), dtype="<u4").astype(np.int64)
        return t, i

    def end(self) -> None:
        if self.pos != len(self.buf):
            raise ProtocolError(
                f"{self.what} payload has {len(self.buf) - self.pos} bytes after its last field "
                f"(length {len(self.buf)}, layout ends at {self.pos})"
            )


def pack_block(port: int, t: np.ndarray, i: np.ndarray) -> bytes:
    """One spike block: u16 port, u32 count, f64 times[count], u32 indices[count]."""
    return (BLOCK_HEAD.pack(port, t.size) + np.ascontiguousarray(t, dtype="<f8").tobytes()
            + np.ascontiguousarray(i, dtype="<u4").tobytes())


# ---- WELCOME --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Welcome:
    """What the server says about itself and its network (reply to HELLO and RESET).

    Attributes
    ----------
    server : str
        Server software and version, e.g. ``"edsim 0.1.0"``.
    network : str
        The closed-loop spec the server runs, with its parameters.
    seed : int
        Seed the network was built with.
    t : float
        Current simulation time (ms).
    max_message_bytes : int
        Largest payload (bytes) the server accepts or sends in one message.
    max_step_ms : float
        Longest step (ms) one STEP may ask for (``inf`` when unlimited).
    timeout_ms : int
        How long (ms) the server waits for the rest of a started message.
    inputs, outputs : dict[str, int]
        Port names and sizes (neurons), in port-id order (ids 0, 1, ...).
    """

    server: str
    network: str
    seed: int
    t: float
    max_message_bytes: int
    max_step_ms: float
    timeout_ms: int
    inputs: dict
    outputs: dict

    def pack(self) -> bytes:
        out = [pack_str(self.server), pack_str(self.network),
               struct.pack("<QdIdI", self.seed, self.t, self.max_message_bytes,
                           self.max_step_ms, self.timeout_ms)]
        for ports in (self.inputs, self.outputs):
            out.append(struct.pack("<H", len(ports)))
            for name, size in ports.items():
                out.append(pack_str(name) + struct.pack("<I", size))
        return b"".join(out)

    @classmethod
    def unpack(cls, payload: bytes) -> "Welcome":
        r = Reader(payload, "WELCOME")
        server, network = r.string(), r.string()
        seed, t, max_message, max_step, timeout = r.unpack(struct.Struct("<QdIdI"))
        ports = []
        for _ in range(2):
            n = r.u16()
            ports.append({r.string(): r.u32() for _ in range(n)})
        r.end()
        return cls(server, network, seed, t, max_message, max_step, timeout, ports[0], ports[1])


# ---- STATS ----------------------------------------------------------------------------------

def pack_stats(stats: dict[str, float]) -> bytes:
    """u16 count, then count x (string name, f64 value)."""
    out = [struct.pack("<H", len(stats))]
    for name, value in stats.items():
        out.append(pack_str(name) + struct.pack("<d", float(value)))
    return b"".join(out)


def unpack_stats(payload: bytes) -> dict[str, float]:
    r = Reader(payload, "STATS")
    stats = {}
    for _ in range(r.u16()):
        name = r.string()
        stats[name] = r.f64()
    r.end()
    return stats


def pack_error(code: int, message: str) -> bytes:
    """u16 code, then the UTF-8 message filling the rest of the payload."""
    return struct.pack("<H", int(code)) + message.encode("utf-8")


def unpack_error(payload: bytes) -> tuple[int, str]:
    if len(payload) < 2:
        raise ProtocolError(
            f"ERROR payload must hold at least its u16 code (got {len(payload)} bytes)")
    return struct.unpack("<H", payload[:2])[0], bytes(payload[2:]).decode("utf-8", "replace")
