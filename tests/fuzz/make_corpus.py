#!/usr/bin/python3
# Writes the seed corpora of fuzz_http2 and fuzz_client_response (tests/fuzz/corpus/http2/, .../client_response/).
# Each seed starts with the target's two control bytes (see the targets). HTTP/2 frames are built by hand; header
# blocks are HPACK-encoded by python3-hpack (the python3-h2 package's dependency).
import os
import struct

import hpack

here = os.path.dirname(os.path.abspath(__file__))

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def request(enc, path, method="GET", extra=()):
    return enc.encode([(":method", method), (":scheme", "http"), (":authority", "x"), (":path", path), *extra])


def window_update(stream, n):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", n))


def http2_seeds():
    seeds = {}
    enc = hpack.Encoder()
    seeds["get"] = b"\x05\x00" + settings() + frame(HEADERS, END_STREAM | END_HEADERS, 1, request(enc, "/m/model.json")) + frame(SETTINGS, ACK, 0)

    enc = hpack.Encoder()
    seeds["several"] = (b"\x0c\x02" + settings((3, 100)) +
                        frame(HEADERS, END_STREAM | END_HEADERS, 1, request(enc, "/m/a.bin")) +
                        frame(HEADERS, END_STREAM | END_HEADERS, 3, request(enc, "/m/big.bin", extra=[("accept-encoding", "gzip")])) +
                        frame(HEADERS, END_STREAM | END_HEADERS, 5, request(enc, "/m/model.json", "HEAD")) +
                        frame(HEADERS, END_STREAM | END_HEADERS, 7, request(enc, "/v1/models")) +
                        window_update(0, 1 << 20) + window_update(3, 1 << 20))

    enc = hpack.Encoder()
    seeds["window_zero"] = (b"\x03\x01" + settings((4, 0), (5, 16384)) +
                            frame(HEADERS, END_STREAM | END_HEADERS, 1, request(enc, "/m/big.bin")) +
                            window_update(1, 1000) + frame(PING, 0, 0, b"12345678") +
                            settings((4, 65535)) + window_update(0, 70000))

    enc = hpack.Encoder()
    block = request(enc, "/m/a.bin", extra=[("origin", "https://app.example.com"), ("range", "bytes=0-9"),
                                            ("if-none-match", '"x"'), ("x-long", "v" * 300)])
    third = len(block) // 3
    prio_pad = bytes([4]) + struct.pack(">IB", 0, 15)  # pad length, then dependency and weight
    seeds["continuation"] = (b"\x07\x00" + settings() +
                             frame(HEADERS, END_STREAM | PADDED | PRIO, 1, prio_pad + block[:third] + b"\0" * 4) +
                             frame(CONTINUATION, 0, 1, block[third:2 * third]) +
                             frame(CONTINUATION, END_HEADERS, 1, block[2 * third:]))

    enc = hpack.Encoder()
    seeds["reset"] = (b"\x0a\x00" + settings() +
                      frame(HEADERS, END_STREAM | END_HEADERS, 1, request(enc, "/m/big.bin")) +
                      frame(RST_STREAM, 0, 1, struct.pack(">I", 8)) +
                      frame(PRIORITY, 0, 3, struct.pack(">IB", 1, 200)) +
                      frame(HEADERS, END_STREAM | END_HEADERS, 3, request(enc, "/m/a.bin")) +
                      frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))

    enc = hpack.Encoder()
    seeds["body"] = (b"\x08\x00" + settings() +
                     frame(HEADERS, END_HEADERS, 1, request(enc, "/m/a.bin", "POST", [("content-length", "5000")])) +
                     frame(DATA, 0, 1, b"d" * 5000) +
                     frame(HEADERS, END_STREAM | END_HEADERS, 1, enc.encode([("x-trailer", "t")])) +
                     frame(HEADERS, END_HEADERS, 3, request(enc, "/m/model.json")) +
                     frame(DATA, END_STREAM, 3, b""))
    return seeds


def client_seeds():
    ok = b"HTTP/1.1 200 OK\r\n"
    return {
        "length": b"\x00\x40" + ok + b"Content-Length: 5\r\nETag: \"v1\"\r\n\r\nhello",
        "chunked": b"\x00\x40" + ok + b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
        "until_close": b"\x00\x20" + ok + b"Connection: close\r\n\r\nall of this until the end",
        "resume": b"\x01\x40HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-19/20\r\nContent-Length: 10\r\n\r\nabcdefghij",
        "resume_chunked": b"\x01\x40HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-19/20\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabcdefghij\r\n0\r\n\r\n",
        "too_large": b"\x00\x00" + ok + b"Content-Length: 100\r\n\r\n" + b"x" * 100,
        "redirect": b"\x02\x00HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 3\r\n\r\nbye",
        "head": b"\x03\x00" + ok + b"Content-Length: 1000\r\nContent-Type: application/json\r\n\r\n",
    }


for name, seeds in (("http2", http2_seeds()), ("client_response", client_seeds())):
    for seed, data in seeds.items():
        with open(os.path.join(here, "corpus", name, seed), "wb") as f:
            f.write(data)


def format_seeds():
    """The model readers' seeds (onnx_model, task_bundle, webllm, transformers_repo), from make_formats.py's roots:
    sound files and the broken ones (cut short, hostile lengths, a '..' entry). The bomb is left out (its 64 KB are the
    point of an integration test, not of a seed)."""
    import shutil
    import subprocess
    import tempfile
    tmp = tempfile.mkdtemp()
    try:
        subprocess.run(["/usr/bin/python3", os.path.join(here, "..", "integration", "make_formats.py"), tmp], check=True)
        picks = {
            "onnx_model": ["good/face/model.onnx", "good/acme/tiny/onnx/model_quantized.onnx", "broken/cut-onnx/model.onnx",
                           "broken/negative/model.onnx", "broken/escape/model.onnx", "broken/huge-length/model.onnx"],
            "task_bundle": ["good/mp/face_landmarker.task", "good/mp/selfie_segmenter.tflite", "broken/mp/not_tflite.task",
                            "broken/mp/escape.task", "broken/mp/spa.task"],
            "webllm": ["good/llm/ndarray-cache.json", "good/llm/mlc-chat-config.json"],
            "transformers_repo": ["good/acme/tiny/config.json"],
        }
        for name, files in picks.items():
            os.makedirs(os.path.join(here, "corpus", name), exist_ok=True)
            for f in files:
                shutil.copy(os.path.join(tmp, f), os.path.join(here, "corpus", name, f.replace("/", "_")))
    finally:
        shutil.rmtree(tmp)


format_seeds()
