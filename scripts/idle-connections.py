#!/usr/bin/python3
"""Opens N connections to 127.0.0.1:PORT; each makes one GET of PATH, reads the whole answer, and then stays open,
idle. Prints "ready N" once every connection has its answer, then holds them until killed. For scripts/bench's
memory-per-idle-connection rows.

Usage: scripts/idle-connections.py PORT N MODE PATH    MODE: plain (HTTP/1.1), tls (HTTP/1.1 over TLS), h2 (TLS, ALPN h2)
"""
import asyncio
import resource
import ssl
import sys

import h2.config
import h2.connection
import h2.events

AT_ONCE = 128  # connections being opened at the same time (the listen backlog stays far from full)


def tls_context(alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    return ctx


async def http1(reader, writer, path):
    writer.write(f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.encode())
    head = await reader.readuntil(b'\r\n\r\n')
    if not head.startswith(b'HTTP/1.1 200'):
        raise RuntimeError(f'answered {head.splitlines()[0]!r}')
    length = next(int(line.split(b':', 1)[1]) for line in head.split(b'\r\n') if line.lower().startswith(b'content-length:'))
    await reader.readexactly(length)


async def http2(reader, writer, path):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(':method', 'GET'), (':path', path), (':scheme', 'https'), (':authority', '127.0.0.1')],
                      end_stream=True)
    writer.write(conn.data_to_send())
    status = None
    while True:
        data = await reader.read(65536)
        if not data:
            raise RuntimeError('closed before the answer ended')
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers).get(b':status')
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                writer.write(conn.data_to_send())  # (settings acknowledged)
                if status != b'200':
                    raise RuntimeError(f'answered {status!r}')
                return
        writer.write(conn.data_to_send())


async def one(port, mode, path, gate, held):
    async with gate:
        ctx = None if mode == 'plain' else tls_context('h2' if mode == 'h2' else 'http/1.1')
        reader, writer = await asyncio.open_connection('127.0.0.1', port, ssl=ctx, limit=1 << 20)
        if ctx and writer.get_extra_info('ssl_object').selected_alpn_protocol() != ('h2' if mode == 'h2' else 'http/1.1'):
            raise RuntimeError('ALPN did not select ' + mode)
        await (http2 if mode == 'h2' else http1)(reader, writer, path)
        held.append(writer)


async def main():
    port, n, mode, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    gate, held = asyncio.Semaphore(AT_ONCE), []
    await asyncio.gather(*(one(port, mode, path, gate, held) for _ in range(n)))
    print(f'ready {len(held)}', flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
