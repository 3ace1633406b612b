#!/usr/bin/env python3
"""Writes the corpus for the frame decoder's fuzz test, straight from
docs/protocol.md (so it also checks that the spec and the decoder agree):
valid frames of every type and the named hostile cases. Run from the repo root."""
import os, struct

out = "Tests/Corpus/frame-decoder"
os.makedirs(out, exist_ok=True)

def frame(kind, payload):
    return struct.pack(">IB", len(payload) + 1, kind) + payload

def s32(b): return struct.pack(">I", len(b)) + b
def s16(b): return struct.pack(">H", len(b)) + b

def record(level=2, ts=1795546992345678, seq=1, line=42, label=b"app", message=b"hello", file=b"App/main.swift",
           function=b"run()", metadata=()):
    body = struct.pack(">BqQI", level, ts, seq, line) + s32(label) + s32(message) + s32(file) + s32(function)
    body += struct.pack(">H", len(metadata))
    for k, v in metadata:
        body += s32(k) + s32(v)
    return body

def batch(*records):
    return frame(3, struct.pack(">I", len(records)) + b"".join(records))

hello = frame(1, b"JBRG" + struct.pack(">HQ", 1, 0x1234567890ABCDEF) + s16(b"my app: worker 1"))
inputs = {
    "hello": hello,
    "welcome": frame(2, struct.pack(">HQ", 1, 77)),
    "ack": frame(4, struct.pack(">Q", 5)),
    "goodbye": frame(5, s16(b"bye")),
    "batch-one": hello + batch(record()),
    "batch-many": hello + batch(*[record(level=i % 7, seq=i + 1, message=b"m%d" % i) for i in range(20)]),
    "nul-in-message": hello + batch(record(message=b"before\x00after")),
    "forged-lines": hello + batch(record(message=b"one\r\nWARNING : forged\ntwo\r")),
    "ansi-osc": hello + batch(record(message=b"\x1b[31mred\x1b[0m \x1b]0;title\x07")),
    "invalid-utf8": hello + batch(record(message=b"a\xff\xfeb\xc3")),
    "trailing-newline": hello + batch(record(message=b"ends with a newline\n")),
    "hostile-keys": hello + batch(record(metadata=[(b"_PID", b"1"), (b"_SYSTEMD_UNIT", b"x.service"), (b"", b"empty"),
                                                   (b"k" * 70, b"long"), (b"lower", b"l"), (b"9lives", b"d"),
                                                   (b"a=b", b"eq"), (b"a\nb", b"nl")])),
    "identifier-colon-space": frame(1, b"JBRG" + struct.pack(">HQ", 1, 1) + s16(b"SYSLOG: id with spaces")),
    "zero-length": struct.pack(">I", 0),
    "one-over-limit": struct.pack(">IB", 8 * 1024 * 1024 + 1, 3),
    "max-length-prefix": b"\xff\xff\xff\xff\x03",
    "truncated": (hello + batch(record()))[:-7],
    "bad-level": hello + batch(record(level=200)),
    "unknown-version": frame(1, b"JBRG" + struct.pack(">HQ", 9, 1) + s16(b"x")),
    "unknown-type": frame(99, b"\x00\x01"),
    "count-lies": hello + frame(3, struct.pack(">I", 65536) + record()),
    "garbage": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
}
for name, data in inputs.items():
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(data)
print(f"{len(inputs)} inputs in {out}")
