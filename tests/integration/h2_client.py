#!/usr/bin/python3
"""HTTP/2 clients that misbehave on purpose, for tests/integration/http2_test.cpp (Debian's python3-h2).

    h2_client.py MODE PORT [ARG]

Speaks h2c with prior knowledge to 127.0.0.1:PORT. Each mode prints what happened on its last line and exits 0 when
the server behaved as a hardened HTTP/2 server must, 1 when it did not, 2 on a usage error:

    rapid-reset         opens and cancels streams in a loop (CVE-2023-44487): must be cut off (GOAWAY or close)
    continuation-flood  one HEADERS then endless CONTINUATION frames (CVE-2024-28182): must be cut off
    ping-flood          PING frames without reading the acknowledgements: must be cut off
    settings-flood      SETTINGS frames without reading the acknowledgements: must be cut off
    idle                sends nothing after the preface: must get GOAWAY and a close within ARG seconds
    stalled-header      HEADERS without END_HEADERS, then silence: must be closed within ARG seconds
    shut-window         a request with a flow-control window of 0, never opened: must be closed within ARG seconds
    slow-body           a request whose body never ends: must get 408 on its stream within ARG seconds, and the
                        connection must still serve a second request
    refused CA          over TLS (ALPN h2, trusting the CA file): a server at its connection limit must answer
                        GOAWAY REFUSED_STREAM naming no stream, so the client may retry elsewhere
    drain PID           requests /big.bin, sends SIGTERM to PID mid-transfer: must get GOAWAY(NO_ERROR) naming
                        stream 1, and the whole body (its length printed)
"""
import os
import signal
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import hpack

HOST = "127.0.0.1"


def connect(port):
    sock = socket.create_connection((HOST, port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def request_headers(path, port):
    return [(":method", "GET"), (":scheme", "http"), (":authority", f"{HOST}:{port}"), (":path", path)]


def cut_off(sock, conn, seconds=10):
    """Reads until the server closes: True when it sent GOAWAY or closed within `seconds`."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                return True
            try:
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        print(f"GOAWAY error_code={event.error_code}")
                        return True
            except h2.exceptions.ProtocolError:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def send_until_cut(sock, make_batch, limit):
    """Sends batches until the server stops reading (reset, closed) or `limit` batches went out."""
    for i in range(limit):
        try:
            sock.sendall(make_batch(i))
        except (ConnectionResetError, BrokenPipeError):
            return i
        except socket.timeout:
            return i  # the server stopped reading: it is about to close
    return limit


def rapid_reset(port):
    sock, conn = connect(port)
    sent = 0

    def batch(_):
        nonlocal sent
        for _ in range(50):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, request_headers("/model.json", port), end_stream=True)
            conn.reset_stream(sid)
            sent += 1
        return conn.data_to_send()

    sock.settimeout(5)
    send_until_cut(sock, batch, 400)  # up to 20,000 opened and cancelled streams
    ok = cut_off(sock, conn)
    print(f"{'cut off' if ok else 'NOT cut off'} after {sent} reset streams")
    return ok


def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def continuation_flood(port):
    sock, conn = connect(port)
    encoder = hpack.Encoder()
    block = encoder.encode(request_headers("/model.json", port))
    pad = encoder.encode([("x-pad", "a" * 100)])
    sock.sendall(frame(0x1, 0x1, 1, block))  # HEADERS, END_STREAM, no END_HEADERS
    sock.settimeout(5)
    sent = send_until_cut(sock, lambda _: frame(0x9, 0x0, 1, pad) * 10, 10000)
    ok = cut_off(sock, conn)
    print(f"{'cut off' if ok else 'NOT cut off'} after {sent * 10} CONTINUATION frames")
    return ok


def ack_flood(port, make):
    sock, conn = connect(port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # never read: acknowledgements pile up server-side
    sock.settimeout(5)
    sent = send_until_cut(sock, lambda i: make(i) * 1000, 1000)
    ok = cut_off(sock, conn, 15)
    print(f"{'cut off' if ok else 'NOT cut off'} after {sent * 1000} frames")
    return ok


def closed_within(sock, conn, seconds):
    started = time.monotonic()
    ok = cut_off(sock, conn, seconds + 2)
    print(f"{'closed' if ok else 'NOT closed'} after {time.monotonic() - started:.1f}s")
    return ok


def idle(port, seconds):
    sock, conn = connect(port)
    return closed_within(sock, conn, seconds)


def stalled_header(port, seconds):
    sock, conn = connect(port)
    block = hpack.Encoder().encode(request_headers("/model.json", port))
    sock.sendall(frame(0x1, 0x1, 1, block[:3]))  # HEADERS without END_HEADERS; the rest never comes
    return closed_within(sock, conn, seconds)


def shut_window(port, seconds):
    sock = socket.create_connection((HOST, port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.local_settings = h2.settings.Settings(client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    conn.initiate_connection()
    conn.send_headers(1, request_headers("/big.bin", port), end_stream=True)
    sock.sendall(conn.data_to_send())
    return closed_within(sock, conn, seconds)


def slow_body(port, seconds):
    sock, conn = connect(port)
    conn.send_headers(1, request_headers("/model.json", port), end_stream=False)  # the body never comes
    sock.sendall(conn.data_to_send())
    started = time.monotonic()
    statuses = {}
    sock.settimeout(seconds + 2)
    try:
        while len(statuses) < 2:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    statuses[event.stream_id] = dict(event.headers)[":status"]
                    if event.stream_id == 1:  # the connection goes on: a second request on it
                        conn.send_headers(3, request_headers("/model.json", port), end_stream=True)
            sock.sendall(conn.data_to_send())
    except socket.timeout:
        pass
    print(f"statuses {statuses} after {time.monotonic() - started:.1f}s")
    return statuses.get(1) == "408" and statuses.get(3) in ("200", "404")


def refused(port, ca):
    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection((HOST, port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname=HOST)
    if sock.selected_alpn_protocol() != "h2":
        print(f"ALPN chose {sock.selected_alpn_protocol()!r}, not h2")
        return False
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.send_headers(1, request_headers("/model.json", port), end_stream=True)
    sock.sendall(conn.data_to_send())
    while True:
        data = sock.recv(65536)
        if not data:
            print("closed without GOAWAY")
            return False
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ConnectionTerminated):
                print(f"GOAWAY error_code={event.error_code!r} last_stream_id={event.last_stream_id}")
                return event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM and event.last_stream_id == 0
            if isinstance(event, h2.events.ResponseReceived):
                print(f"answered {dict(event.headers)[':status']} although the server is at its limit")
                return False


def drain(port, pid):
    sock, conn = connect(port)
    # python-h2 treats any GOAWAY as the end of the connection, but RFC 9113 §6.8 lets the streams up to
    # last_stream_id finish: this connection stays open on GOAWAY (in the state machine itself, so DATA frames that
    # arrive in the same read as the GOAWAY are taken too).
    machine = conn.state_machine
    machine._transitions = dict(type(machine)._transitions)
    machine._transitions[(h2.connection.ConnectionState.CLIENT_OPEN, h2.connection.ConnectionInputs.RECV_GOAWAY)] = (
        None, h2.connection.ConnectionState.CLIENT_OPEN)
    conn.send_headers(1, request_headers("/big.bin", port), end_stream=True)
    sock.sendall(conn.data_to_send())
    received, signalled, goaway, ended = 0, False, None, False
    sock.settimeout(10)
    while not ended:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived):
                received += len(event.data)
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                goaway = (event.error_code, event.last_stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                ended = True
            elif isinstance(event, h2.events.StreamReset):
                print(f"stream reset: {event.error_code}")
                return False
        sock.sendall(conn.data_to_send())
        if received > 0 and not signalled:
            os.kill(pid, signal.SIGTERM)
            signalled = True
            time.sleep(0.3)  # the GOAWAY is sent while the body is still flowing
    print(f"received {received} bytes, stream ended: {ended}, GOAWAY (error, last stream): {goaway}")
    return ended and goaway is not None and goaway[0] == 0 and goaway[1] == 1


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    mode, port = argv[1], int(argv[2])
    arg = argv[3] if len(argv) > 3 else None
    modes = {
        "rapid-reset": lambda: rapid_reset(port),
        "continuation-flood": lambda: continuation_flood(port),
        "ping-flood": lambda: ack_flood(port, lambda i: frame(0x6, 0x0, 0, struct.pack(">Q", i))),
        "settings-flood": lambda: ack_flood(port, lambda i: frame(0x4, 0x0, 0, b"")),
        "idle": lambda: idle(port, float(arg)),
        "stalled-header": lambda: stalled_header(port, float(arg)),
        "slow-body": lambda: slow_body(port, float(arg)),
        "shut-window": lambda: shut_window(port, float(arg)),
        "drain": lambda: drain(port, int(arg)),
        "refused": lambda: refused(port, arg),
    }
    if mode not in modes:
        print(__doc__)
        return 2
    return 0 if modes[mode]() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
