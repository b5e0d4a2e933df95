"""``edsim serve`` and its client: the same spikes as in process, and defined behaviour for bad
clients.

The servers run in child processes (``edsim serve tiny``), one on loopback TCP and one on a
Unix socket with a 1 KiB message limit (so replies are split); this module is their client.
After every misbehaving client, a fresh well-behaved client must still be served.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edsim import protocol as P
from edsim.client import Client, Spikes, parse_address
from edsim.errors import ParameterError
from edsim.serve import (
    LoopNetwork,
    LoopSession,
    Server,
    ServerProcess,
    bench_socket,
    encode_stepped,
    resolve_spec,
    tiny,
)

TIMEOUT_S = 1.0   # the servers' --timeout, short so the stall test is quick


# ---- servers and raw-socket helpers ----------------------------------------------------------

@pytest.fixture(scope="module")
def tcp_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "tcp.log"
    with ServerProcess("tiny", args=["--timeout", str(TIMEOUT_S)], log_path=log,
                       startup_timeout=60) as sp:
        yield sp


@pytest.fixture(scope="module")
def unix_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "unix.log"
    folder = tempfile.mkdtemp(prefix="edsim-")  # short: Unix socket paths are limited to ~100 bytes
    try:
        with ServerProcess("tiny", unix=Path(folder) / "s.sock", log_path=log, startup_timeout=60,
                           args=["--timeout", str(TIMEOUT_S), "--max-message", "1024"]) as sp:
            yield sp
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["tcp", "unix"])
def server(request):
    return request.getfixturevalue(f"{request.param}_server")


def raw(sp: ServerProcess, timeout: float = 5.0) -> socket.socket:
    family, where = parse_address(sp.address)
    s = socket.socket(socket.AF_UNIX if family == "unix" else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(where)
    return s


def read_until_eof(s: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes; fails if it neither sends nor closes."""
    s.settimeout(timeout)
    data = bytearray()
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            raise AssertionError(f"server neither closed nor answered in {timeout} s "
                                 f"(got {bytes(data[:64])!r})") from None
        if not chunk:
            break
        data += chunk
    return bytes(data)


def messages(data: bytes) -> list[tuple[int, int, bytes]]:
    """Split a byte stream from the server into (type, request id, payload); it must be valid."""
    out, pos = [], 0
    while pos < len(data):
        magic, version, msg_type, length, rid = P.HEADER.unpack_from(data, pos)
        assert magic == P.MAGIC and version == P.VERSION
        assert msg_type in (P.MsgType.WELCOME, P.MsgType.STEPPED, P.MsgType.STATS, P.MsgType.BYE,
                            P.MsgType.ERROR)
        payload = data[pos + P.HEADER_SIZE:pos + P.HEADER_SIZE + length]
        assert len(payload) == length, "the server sent a truncated message"
        out.append((msg_type, rid, payload))
        pos += P.HEADER_SIZE + length
    return out


def only_error(data: bytes) -> tuple[int, int, str]:
    msgs = messages(data)
    assert len(msgs) == 1 and msgs[0][0] == P.MsgType.ERROR, msgs
    code, text = P.unpack_error(msgs[0][2])
    return code, msgs[0][1], text


def serves(sp: ServerProcess) -> float:
    """A fresh well-behaved client is served; returns the server's time (ms)."""
    assert sp.alive()
    with Client(sp.address, timeout=10) as c:
        w = c.hello()
        out = c.step(w.t + 1.0)
        assert set(out) == {"exc", "inh"}
        return c.t


# ---- the in-process reference ----------------------------------------------------------------

def random_steps(seed: int, n: int, slot_ms: float = 1.0, heavy_every: int = 0) -> list:
    """(t_until, {port: (indices, times)}) per step; some times lie beyond the step's end."""
    rng = np.random.default_rng(seed)
    steps = []
    for k in range(n):
        t0 = k * slot_ms
        inputs = {}
        n_drive = 30 if heavy_every and k % heavy_every == 0 else int(rng.poisson(0.8))
        if n_drive:
            inputs["drive"] = (rng.integers(0, 6, n_drive), t0 + rng.random(n_drive) * 3 * slot_ms)
        if rng.random() < 0.2:
            inputs["brake"] = (rng.integers(0, 3, 1), t0 + rng.random(1) * slot_ms)
        steps.append((t0 + slot_ms, inputs))
    return steps


def reference_loop(seed: int, steps: list) -> list[dict]:
    """The same loop in process, with the public API only (net.inject, net.run, new_spikes)."""
    loop = tiny(seed=seed)
    net = loop.network
    out = []
    for t_until, inputs in steps:
        for name in ("drive", "brake"):               # port-id order
            if name in inputs:
                idx, times = inputs[name]
                for k in np.unique(idx):
                    net.inject(loop.inputs[name], np.sort(times[idx == k]), index=int(k))
        net.run(t_until - net.t)
        out.append({name: rec.new_spikes() for name, rec in loop.outputs.items()})
    return out


def assert_same(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    n_spikes = 0
    for k, (g, w) in enumerate(zip(got, want)):
        for name in ("exc", "inh"):
            assert np.array_equal(g[name].t, w[name].t), (k, name)
            assert np.array_equal(g[name].i, w[name].i), (k, name)
            n_spikes += len(w[name].t)
    assert n_spikes > 50  # the comparison saw real activity


# ---- same spikes as in process ---------------------------------------------------------------

def test_client_in_another_process_gets_the_in_process_spikes_bit_for_bit(server):
    steps = random_steps(seed=5, n=300, heavy_every=37)
    with Client(server.address) as c:
        assert c.reset(seed=1).t == 0.0
        got = [c.step(t, inputs) for t, inputs in steps]
        assert c.t == steps[-1][0]
    assert_same(got, reference_loop(1, steps))


def test_uneven_slots_and_several_blocks_per_port_match_in_process(tcp_server):
    rng = np.random.default_rng(8)
    ends = np.cumsum(rng.uniform(0.05, 4.0, 80))
    steps, now = [], 0.0
    for t_end in ends:
        n = int(rng.integers(0, 5))
        steps.append((float(t_end), {"drive": (rng.integers(0, 6, n), now + rng.random(n) * 5.0)}))
        now = float(t_end)
    with Client(tcp_server.address) as c:
        c.reset(seed=1)
        got = []
        for t_end, inputs in steps:
            idx, times = inputs["drive"]
            half = len(idx) // 2  # split the port's spikes over two blocks
            blocks = P.STEP_HEAD.pack(t_end, 2) + P.pack_block(0, times[:half], idx[:half]) \
                + P.pack_block(0, times[half:], idx[half:])
            rid = c._send(P.MsgType.STEP, blocks)
            r = P.Reader(c._reply(rid, P.MsgType.STEPPED), "STEPPED")
            t, flags, n_blocks = r.unpack(P.STEPPED_HEAD)
            assert (t, flags, n_blocks) == (t_end, 0, 2)
            out = {}
            for want_port, name in enumerate(("exc", "inh")):
                port, count = r.unpack(P.BLOCK_HEAD)
                assert port == want_port
                out[name] = Spikes(*r.spikes(count))
            r.end()
            got.append(out)
    assert_same(got, reference_loop(1, steps))


def test_large_step_reply_is_split_under_the_message_limit(unix_server):
    with Client(unix_server.address) as c:
        c.reset(seed=1)
        t = c.t
    s = raw(unix_server)
    drive = (np.repeat(np.arange(6), 10), np.tile(np.arange(10) * 4.0 + 0.5, 6))  # 736-byte STEP
    s.sendall(P.frame(P.MsgType.STEP, P.STEP_HEAD.pack(t + 45.0, 1)
                      + P.pack_block(0, drive[1] + t, drive[0]), 9))
    s.sendall(P.frame(P.MsgType.BYE, b"", 10))
    msgs = messages(read_until_eof(s))
    s.close()
    stepped = [m for m in msgs if m[0] == P.MsgType.STEPPED]
    assert len(stepped) > 1 and all(len(p) <= 1024 for _, _, p in stepped)
    flags = [P.STEPPED_HEAD.unpack_from(p)[1] for _, _, p in stepped]
    assert flags[:-1] == [P.FLAG_MORE] * (len(stepped) - 1) and flags[-1] == 0
    assert msgs[-1][:2] == (P.MsgType.BYE, 10)
    counts = {}
    for _, rid, p in stepped:
        assert rid == 9
        r = P.Reader(p, "STEPPED")
        _, _, n_blocks = r.unpack(P.STEPPED_HEAD)
        for _ in range(n_blocks):
            port, count = r.unpack(P.BLOCK_HEAD)
            r.spikes(count)
            counts[port] = counts.get(port, 0) + count
    assert counts[0] > 100  # more than one 1 KiB message holds (84 spikes)
    want = reference_loop(1, [(45.0, {"drive": drive})])[0]
    assert counts == {0: len(want["exc"].t), 1: len(want["inh"].t)}


def test_welcome_stats_and_reset(tcp_server):
    with Client(tcp_server.address) as c:
        w = c.reset(seed=1)
        assert (w.inputs, w.outputs) == ({"drive": 6, "brake": 3}, {"exc": 24, "inh": 8})
        assert w.network == "tiny" and w.seed == 1 and w.t == 0.0
        assert w.max_message_bytes == P.MAX_MESSAGE_BYTES and w.timeout_ms == 1000
        steps = random_steps(seed=2, n=40, heavy_every=10)
        first = [c.step(t, x) for t, x in steps]
        stats = c.stats()
        assert stats["t_ms"] == 40.0 and stats["steps"] >= 40
        assert stats["n_spikes"] >= sum(len(o["exc"].t) + len(o["inh"].t) for o in first)
        assert c.reset().t == 0.0
        assert_same([c.step(t, x) for t, x in steps], first)
        assert c.reset(seed=7).seed == 7


# ---- requests refused, nothing changed -------------------------------------------------------

@pytest.mark.parametrize("inputs, t_ahead, code, words", [
    ({"drive": ([1, 2], [0.5, -0.25])}, 2.0, P.ErrorCode.SPIKE_TIME,
     ["9.75 ms", "neuron 2", ">= now = 10.0"]),
    ({"drive": ([1], [float("nan")])}, 2.0, P.ErrorCode.SPIKE_TIME, ["nan", "finite"]),
    ({"drive": ([1], [0.5]), "brake": ([3], [0.5])}, 2.0, P.ErrorCode.BAD_INDEX,
     ["index 3", "'brake'", "3 neurons"]),
    ({5: ([0], [0.5])}, 2.0, P.ErrorCode.BAD_PORT, ["port id 5", "'drive'"]),
    ({"drive": ([1], [0.5])}, -1.0, P.ErrorCode.BAD_TIME, ["target time", ">= now"]),
    ({"drive": ([1], [0.5])}, 60_001.0, P.ErrorCode.BAD_TIME, ["max_step_ms"]),
])
def test_refused_step_changes_nothing(server, inputs, t_ahead, code, words):
    with Client(server.address) as c:
        c.reset(seed=1)
        c.step(10.0)
        shifted = {p: (i, np.asarray(t) + 10.0) for p, (i, t) in inputs.items()}
        with pytest.raises(P.RequestError) as err:
            c.step(10.0 + t_ahead, shifted)
        assert err.value.code == code and isinstance(err.value, ValueError)
        for w in words:
            assert w in err.value.message
        assert c.stats()["t_ms"] == 10.0 and c.stats()["input_spikes"] == 0
        # the valid spikes of the refused step were not injected: the network stays silent
        out = c.step(40.0)
        assert len(out["exc"].t) == len(out["inh"].t) == 0


def test_malformed_step_and_unknown_type_keep_the_connection(server):
    s = raw(server)
    bad_step = P.STEP_HEAD.pack(1.0, 1) + P.BLOCK_HEAD.pack(0, 1000)  # 1000 spikes announced
    s.sendall(P.frame(P.MsgType.STEP, bad_step, 3) + P.frame(42, b"abc", 4)
              + P.frame(P.MsgType.WELCOME, b"", 5) + P.frame(P.MsgType.GET_STATS, b"x", 6)
              + P.frame(P.MsgType.RESET, b"123", 7) + P.frame(P.MsgType.HELLO, b"me", 8)
              + P.frame(P.MsgType.BYE, b"", 9))
    msgs = messages(read_until_eof(s))
    s.close()
    assert [(m[0], m[1]) for m in msgs] == [(P.MsgType.ERROR, 3), (P.MsgType.ERROR, 4),
                                           (P.MsgType.ERROR, 5), (P.MsgType.ERROR, 6),
                                           (P.MsgType.ERROR, 7), (P.MsgType.WELCOME, 8),
                                           (P.MsgType.BYE, 9)]
    codes = [P.unpack_error(m[2])[0] for m in msgs[:5]]
    assert codes == [P.ErrorCode.MALFORMED, P.ErrorCode.UNKNOWN_TYPE, P.ErrorCode.UNKNOWN_TYPE,
                     P.ErrorCode.MALFORMED, P.ErrorCode.MALFORMED]
    assert "truncated" in P.unpack_error(msgs[0][2])[1]
    serves(server)


# ---- bad clients: error and close, server goes on ----------------------------------------------

def test_bad_magic_gets_error_and_close(server):
    s = raw(server)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    code, rid, text = only_error(read_until_eof(s))
    s.close()
    assert code == P.ErrorCode.BAD_MAGIC and rid == 0 and "EDSM" in text
    serves(server)


def test_wrong_version_gets_error_and_close(server):
    s = raw(server)
    s.sendall(struct.pack("<4sHHII", P.MAGIC, 2, P.MsgType.HELLO, 0, 77))
    code, rid, text = only_error(read_until_eof(s))
    s.close()
    assert code == P.ErrorCode.BAD_VERSION and rid == 77 and "version 2" in text
    serves(server)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_oversized_length_is_refused_without_reading_the_payload(server):
    before = _rss_kib(server.proc.pid)
    s = raw(server)
    s.sendall(P.header(P.MsgType.STEP, 0xFFFFFFFF, 5))
    junk = bytes(1 << 20)

    def flood():  # keep sending the announced 4 GiB until the server hangs up
        try:
            for _ in range(64):
                s.sendall(junk)
        except OSError:
            pass

    th = threading.Thread(target=flood)
    th.start()
    code, rid, text = only_error(read_until_eof(s, timeout=10))
    th.join(10)
    s.close()
    assert code == P.ErrorCode.TOO_LARGE and rid == 5 and "max_message_bytes" in text
    assert _rss_kib(server.proc.pid) - before < 8 * 1024  # < 8 MiB: the payload was not kept
    serves(server)


def test_truncated_message_then_disconnect_applies_nothing(server):
    t = serves(server)
    for cut in (3, P.HEADER_SIZE, P.HEADER_SIZE + 11):
        s = raw(server)
        msg = P.frame(P.MsgType.STEP, P.STEP_HEAD.pack(t + 50.0, 1)
                      + P.pack_block(0, np.array([t + 0.5]), np.array([1])), 1)
        s.sendall(msg[:cut])
        s.close()
    with Client(server.address) as c:
        assert c.hello().t == t
        assert c.stats()["t_ms"] == t


def test_stalled_message_times_out(server):
    s = raw(server)
    s.sendall(P.frame(P.MsgType.HELLO, b"")[:10])
    start = time.monotonic()
    code, _, text = only_error(read_until_eof(s, timeout=TIMEOUT_S + 5))
    s.close()
    assert code == P.ErrorCode.TIMEOUT and "incomplete" in text
    assert time.monotonic() - start >= TIMEOUT_S * 0.9
    serves(server)


def test_client_that_stops_reading_is_dropped(unix_server):
    s = raw(unix_server)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:  # ~14 MB of replies, never read: the server stops reading, then drops this client
        s.sendall(P.frame(P.MsgType.GET_STATS, b"", 1) * 20000)
        time.sleep(TIMEOUT_S * 2.5)
    except OSError:
        pass  # dropped while we were still sending
    s.close()
    with Client(unix_server.address) as c:  # not refused as busy: the silent reader was dropped
        c.hello()
        assert c.stats()["connections"] >= 1


def test_idle_timeout_disconnects_a_silent_client():
    server = Server("idle", port=0, idle_timeout=0.3)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        with Client(server.address) as c:
            c.hello()
            time.sleep(0.6)
            with pytest.raises(P.ServerError) as err:
                c.step(1.0)
            assert err.value.code == P.ErrorCode.TIMEOUT and "idle timeout" in err.value.message
    finally:
        server.stop()
        thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_disconnect_mid_step_leaves_a_consistent_network(server, how):
    with Client(server.address) as c:
        c.reset(seed=1)
    steps = random_steps(seed=11, n=60, heavy_every=15)
    s = raw(server)
    t_big, inputs = 30.0, {"drive": (np.arange(6), np.linspace(0.5, 25.0, 6))}
    s.sendall(P.frame(P.MsgType.STEP, P.STEP_HEAD.pack(t_big, 1)
                      + P.pack_block(0, inputs["drive"][1], inputs["drive"][0]), 1))
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    with Client(server.address) as c:
        t = c.hello().t
        # A complete STEP is applied in full; with a TCP reset the kernel may discard it unread.
        assert t == t_big or (how == "reset" and t == 0.0)
        rest = [(t + ts, {p: (i, x + t) for p, (i, x) in inp.items()}) for ts, inp in steps]
        got = [c.step(ts, inp) for ts, inp in rest]
    want = reference_loop(1, ([(t_big, inputs)] if t == t_big else []) + rest)
    assert_same(got, want[-len(rest):])


def test_second_client_gets_busy_and_the_first_is_undisturbed(server):
    with Client(server.address) as first:
        first.reset(seed=1)
        first.step(5.0, {"drive": ([0, 1], [1.0, 2.0])})
        with Client(server.address) as second:
            with pytest.raises(P.ServerBusy) as err:
                second.hello()
            assert err.value.code == P.ErrorCode.BUSY
            assert "one client at a time" in err.value.message
            assert isinstance(err.value, ConnectionError)
        s = raw(server)
        code, rid, _ = only_error(read_until_eof(s))  # even one that sends nothing
        s.close()
        assert code == P.ErrorCode.BUSY and rid == 0
        assert first.step(10.0)["exc"].t.dtype == np.float64
        assert first.stats()["busy_rejections"] >= 2
    serves(server)


# ---- fuzz ------------------------------------------------------------------------------------

_any_type = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xFFFF])
_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def _step_payload(draw):
    """STEPs that are mostly well laid out, with ports, indices and times in and out of range."""
    blocks = []
    for _ in range(draw(st.integers(0, 3))):
        n = draw(st.integers(0, 4))
        times = st.one_of(st.floats(0.0, 300.0), _floats)
        blocks.append(P.pack_block(draw(st.sampled_from([0, 0, 1, 2])),
                                   np.array(draw(st.lists(times, min_size=n, max_size=n))),
                                   np.array(draw(st.lists(st.integers(0, 6), min_size=n,
                                                          max_size=n)), dtype=np.int64)))
    t = draw(st.one_of(st.floats(0.0, 300.0), _floats))
    n_blocks = draw(st.one_of(st.just(len(blocks)), st.integers(0, 4)))
    return P.STEP_HEAD.pack(t, n_blocks) + b"".join(blocks)


_message = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda t, p, rid: P.frame(t, p, rid), _any_type, st.binary(max_size=48),
              st.integers(0, 2**32 - 1)),
    st.builds(lambda p, rid: P.frame(P.MsgType.STEP, p, rid), _step_payload(),
              st.integers(0, 2**32 - 1)),
    st.builds(lambda p: P.HEADER.pack(P.MAGIC, P.VERSION, P.MsgType.STEP, len(p) + 7, 1) + p,
              _step_payload()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.lists(_message, max_size=4).map(b"".join),
       cut=st.one_of(st.just(0), st.integers(1, 60)))
def test_random_bytes_never_crash_or_hang_the_server(tcp_server, stream, cut):
    s = raw(tcp_server)
    try:
        s.sendall(stream[:len(stream) - cut] if cut < len(stream) else stream)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server may already have refused and closed
    messages(read_until_eof(s, timeout=10))  # whatever it answers is well-formed, then it closes
    s.close()
    assert tcp_server.alive()


def test_server_serves_after_the_fuzz(tcp_server):
    with Client(tcp_server.address) as c:
        c.reset(seed=1)
    serves(tcp_server)


# ---- shutdown, command line, benchmark --------------------------------------------------------

def test_sigterm_sends_bye_and_exits_cleanly(tmp_path):
    sp = ServerProcess("idle", log_path=tmp_path / "log")
    with Client(sp.address) as c:
        c.hello()
        c.step(3.0)
        sp.proc.send_signal(signal.SIGTERM)
        assert sp.proc.wait(10) == 0
        with pytest.raises(P.ConnectionClosed):
            c.step(4.0)
    sp.close()


def test_bench_socket_reports_rtf_and_latency_percentiles(tmp_path):
    r = bench_socket(slots=40, slot_ms=1.0, spec="tiny", transport="unix", idle_slots=40,
                     input_rate_hz=200.0, log_path=tmp_path / "log")
    assert r.slots == 40 and r.simulated_s == 0.04 and r.rtf > 0
    for lat in (r.latency_ms, r.idle_overhead_ms):
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert r.input_spikes > 0 and r.idle_in_process_ms > 0 and r.in_process_rtf > 0
    assert r.extra["same_output_as_in_process"] is True and r.output_spikes > 0
    assert "real-time factor" in r.markdown()


def test_cli_names_unknown_spec_and_builtins(capsys):
    from edsim.cli import main

    assert main(["serve", "no_such_spec", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no_such_spec" in err and "loop10k" in err and "module:function" in err


# ---- socket-free units -----------------------------------------------------------------------

@settings(max_examples=60)
@given(counts=st.lists(st.integers(0, 300), min_size=1, max_size=4),
       limit=st.integers(P.MIN_MESSAGE_BYTES, 5000))
def test_stepped_chunks_reassemble_to_every_port_in_order(counts, limit):
    rng = np.random.default_rng(len(counts))
    outputs = [(np.sort(rng.random(n)), rng.integers(0, 1000, n)) for n in counts]
    msgs = encode_stepped(12.5, outputs, 3, limit)
    got = {k: ([], []) for k in range(len(counts))}
    for j, m in enumerate(msgs):
        (msg_type, rid, payload), = messages(m)
        assert (msg_type, rid) == (P.MsgType.STEPPED, 3) and len(payload) <= limit
        r = P.Reader(payload, "STEPPED")
        t, flags, n_blocks = r.unpack(P.STEPPED_HEAD)
        assert t == 12.5 and flags == (P.FLAG_MORE if j < len(msgs) - 1 else 0)
        for _ in range(n_blocks):
            port, count = r.unpack(P.BLOCK_HEAD)
            ts, ii = r.spikes(count)
            got[port][0].append(ts)
            got[port][1].append(ii)
        r.end()
    for k, (ts, ii) in enumerate(outputs):
        assert got[k][0], f"port {k} has no block"
        assert np.array_equal(np.concatenate(got[k][0]), ts)
        assert np.array_equal(np.concatenate(got[k][1]), ii)
    if sum(counts) * 12 + 6 * len(counts) + 12 <= limit:
        assert len(msgs) == 1


def test_loop_network_names_a_bad_port():
    import edsim

    net = edsim.Network(seed=1)
    pop = net.population(2, edsim.IF_curr_delta())
    poisson = net.source(edsim.Poisson(10.0), n=2, name="noise")
    with pytest.raises(ParameterError, match="input port 'noise' must be a SpikeTimes"):
        LoopNetwork(net, {"noise": poisson}, {"out": net.record(pop)})
    other = edsim.Network(seed=2)
    rec = other.record(other.population(1, edsim.IF_curr_delta()))
    with pytest.raises(ParameterError, match="output port 'out' records another network"):
        LoopNetwork(net, {}, {"out": rec})


def test_user_spec_from_a_file_and_its_parameters(tmp_path):
    (tmp_path / "my_loop.py").write_text(
        "import edsim\n"
        "from edsim.serve import LoopNetwork\n"
        "def build(seed=1, n=5):\n"
        "    net = edsim.Network(seed=seed)\n"
        "    cells = net.population(n, edsim.IF_curr_delta(v_rest=-65.0), name='cells')\n"
        "    src = net.source(edsim.SpikeTimes(), n=2, name='s')\n"
        "    net.connect(src, cells, edsim.AllToAll(), weight=20.0, delay=0.5)\n"
        "    return net, {'s': src}, {'m': net.record(cells)}\n")
    session = LoopSession(f"{tmp_path / 'my_loop.py'}:build", seed=3, params={"n": 7})
    assert session.welcome().inputs == {"s": 2} and session.welcome().outputs == {"m": 7}
    t, i = session.step_inputs(5.0, {"s": ([1], [1.0])})["m"]
    assert np.array_equal(t, np.full(7, 1.5)) and np.array_equal(i, np.arange(7))
    with pytest.raises(ParameterError, match="has no parameter.s. m; its parameters are: n"):
        LoopSession(f"{tmp_path / 'my_loop.py'}:build", params={"m": 7})
    with pytest.raises(ParameterError, match="cannot load closed-loop spec"):
        resolve_spec("edsim.serve:no_such_function")
    with pytest.raises(ParameterError, match="unknown closed-loop spec 'nope'"):
        resolve_spec("nope")


def test_unix_socket_left_by_a_dead_server_is_replaced_and_a_file_is_not():
    folder = tempfile.mkdtemp(prefix="edsim-")
    try:
        path = Path(folder) / "s.sock"
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(path))
        stale.close()                               # the file stays, nobody listens
        with Server("idle", unix=path) as server:
            assert server.address == f"unix://{path}"
        assert not path.exists()
        path.write_text("not a socket")
        with pytest.raises(ParameterError, match="exists and is not a socket"):
            Server("idle", unix=path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_client_address_must_name_a_transport():
    with pytest.raises(ParameterError, match="tcp://HOST:PORT or unix://PATH"):
        parse_address("localhost:7411")
    assert parse_address("tcp://127.0.0.1:7411") == ("tcp", ("127.0.0.1", 7411))
    assert os.fspath(parse_address("unix:///tmp/x.sock")[1]) == "/tmp/x.sock"
