#!/usr/bin/env python3
"""Seeds for the live-protocol fuzz targets (scripts/fuzz.sh websocket|databento): what a
WebSocket server sends after its 101 answer, and what a Databento gateway sends (greeting,
challenge, auth reply, then DBN bytes from ../shared/data/dbn/test_data.mbo.dbn).

    python3 tools/fuzz_seeds_live.py
"""
import struct

ws = "Tests/Fixtures/fuzz/websocket"


def frame(op, payload, fin=True):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
    head += bytes([n]) if n < 126 else bytes([126]) + struct.pack(">H", n)
    return head + payload


open(f"{ws}/text.bin", "wb").write(frame(1, b'{"type":"ticker","product_id":"BTC-USD"}') + frame(1, b"x" * 300))
open(f"{ws}/fragments.bin", "wb").write(
    frame(1, b'{"a":', fin=False) + frame(9, b"ping") + frame(0, b"1}") + frame(2, bytes(range(40))))
open(f"{ws}/close.bin", "wb").write(frame(1, b"hello") + frame(8, struct.pack(">H", 1000) + b"bye"))

db = "Tests/Fixtures/fuzz/databento"
dbn = open("../shared/data/dbn/test_data.mbo.dbn", "rb").read()
greeting = b"lsg_version=0.7.0\ncram=abcdefghijklmnopqrstuvwxyz012345\n"
open(f"{db}/session.bin", "wb").write(greeting + b"success=1|session_id=7\n" + dbn[:4096])
open(f"{db}/refused.bin", "wb").write(greeting + b"success=0|error=Authentication failed.\n")
