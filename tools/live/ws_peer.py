#!/usr/bin/env python3
"""A TLS WebSocket test peer built on the `websockets` library (not HotPath's code), with
`trustme` certificates: it replays a JSON-lines session as text messages to each client.

Options shape the stream: --fragment SEED splits messages into frames at random sizes,
--ping-every N pings after every N messages, --drop-after N,M,... aborts the k-th
connection (no close frame) after that many messages of the session in all, and --malformed
KIND sends, after --malformed-after messages, one broken frame (truncated, bad_opcode,
oversized, bad_utf8, masked, reserved_bits) and then stops. Bounded: it serves
--connections clients at most and exits after --timeout seconds whatever happens.

It writes ca.pem (the test CA) into --certs, serves a certificate for --hostname (default
localhost and 127.0.0.1), and prints "listening PORT" on its first line.

Usage: ws_peer.py --certs DIR --session FILE [--port 0] [options]
"""
import argparse, asyncio, os, random, ssl, struct, sys

import trustme
from websockets.asyncio.server import serve


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--certs", required=True)
    ap.add_argument("--session", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--hostname", action="append")
    ap.add_argument("--fragment", type=int)
    ap.add_argument("--ping-every", type=int, default=0)
    ap.add_argument("--drop-after", default="")
    ap.add_argument("--malformed")
    ap.add_argument("--malformed-after", type=int, default=3)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--wait-subscribe", action="store_true")
    a = ap.parse_args()

    with open(a.session) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    ca = trustme.CA()
    os.makedirs(a.certs, exist_ok=True)
    ca.cert_pem.write_to_path(os.path.join(a.certs, "ca.pem"))
    cert = ca.issue_cert(*(a.hostname or ["localhost", "127.0.0.1"]))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    drops = [int(x) for x in a.drop_after.split(",") if x]
    state = {"connections": 0, "sent": 0}
    rng = random.Random(a.fragment or 0)

    async def handler(ws):
        k = state["connections"]
        state["connections"] += 1
        if a.wait_subscribe:
            await ws.recv()
        drop = drops[k] if k < len(drops) else None
        i = state["sent"] if drops else 0
        count = 0
        while i < len(lines):
            if a.malformed and count == a.malformed_after:
                ws.transport.write(broken(a.malformed))
                await asyncio.sleep(0.2)
                ws.transport.abort()
                return
            if drop is not None and i >= drop:
                ws.transport.abort()
                return
            text = lines[i]
            if a.fragment and len(text) > 2 and rng.random() < 0.5:
                cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 4))))
                parts = [text[x:y] for x, y in zip([0] + cuts, cuts + [len(text)])]
                await ws.send(parts)
            else:
                await ws.send(text)
            i += 1
            count += 1
            state["sent"] = max(state["sent"], i)
            if a.ping_every and count % a.ping_every == 0:
                await ws.ping()
        await ws.close()

    async def run():
        async with serve(handler, "127.0.0.1", a.port, ssl=ctx, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"listening {port}", flush=True)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + a.timeout
            while loop.time() < deadline and state["connections"] < a.connections:
                await asyncio.sleep(0.05)
            # the last connection: let it finish
            while loop.time() < deadline and any(True for _ in server.connections):
                await asyncio.sleep(0.05)

    asyncio.run(run())


def broken(kind):
    if kind == "truncated":
        return b"\x81\x7e\x01\x00" + b"x" * 10  # promises 256 bytes, sends 10, then the connection ends
    if kind == "bad_opcode":
        return b"\x83\x00"
    if kind == "oversized":
        return b"\x81\x7f" + struct.pack(">Q", 1 << 30)
    if kind == "bad_utf8":
        return b"\x81\x04\xff\xfe\xfd\xfc"
    if kind == "masked":
        return b"\x81\x82\x01\x02\x03\x04\x40\x40"
    if kind == "reserved_bits":
        return b"\xc1\x02{}"
    raise SystemExit(f"ws_peer: unknown --malformed {kind}")


if __name__ == "__main__":
    main()
