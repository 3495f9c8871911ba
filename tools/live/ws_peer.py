#!/usr/bin/env python3
"""A TLS WebSocket test peer built on the `websockets` library (not HotPath's code), with
`trustme` certificates: it replays a JSON-lines session as text messages to each client.

Options shape the stream: --fragment SEED splits messages into frames at random sizes,
--ping-every N pings after every N messages, and --malformed KIND sends, after
--malformed-after messages, one broken frame (truncated, bad_opcode, oversized, bad_utf8,
masked, reserved_bits) and then stops. A session line {"hotpath_peer":"drop"} ends the
connection there without a close frame (once what was sent has left); the next connection
goes on from the line after it. {"hotpath_peer":"await"} waits for the client to subscribe
again (reading what comes before, an unsubscribe) before going on. --log-client FILE
appends every client message read to FILE. --wait-subscribe waits for the client's first message on
each connection; --polygon-key KEY plays Polygon's handshake instead (connected, the auth
action checked against KEY: auth_success or auth_failed and a close, then the subscribe
action answered). --hold keeps the last connection open after the session, as a venue
would, until the client leaves. Bounded: it serves
--connections clients at most and exits after --timeout seconds whatever happens.

It writes ca.pem (the test CA) into --certs, serves a certificate for --hostname (default
localhost and 127.0.0.1), and prints "listening PORT" on its first line.

Usage: ws_peer.py --certs DIR --session FILE [--port 0] [options]
"""
import argparse, asyncio, json, os, random, ssl, struct, sys

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
    ap.add_argument("--polygon-key")
    ap.add_argument("--malformed")
    ap.add_argument("--malformed-after", type=int, default=3)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--wait-subscribe", action="store_true")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--log-client")
    a = ap.parse_args()

    with open(a.session) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    ca = trustme.CA()
    os.makedirs(a.certs, exist_ok=True)
    ca.cert_pem.write_to_path(os.path.join(a.certs, "ca.pem"))
    cert = ca.issue_cert(*(a.hostname or ["localhost", "127.0.0.1"]))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    state = {"connections": 0, "next": 0}
    rng = random.Random(a.fragment or 0)

    async def receive(ws):
        text = await ws.recv()
        if a.log_client:
            with open(a.log_client, "a") as f:
                f.write(text + "\n")
        return text

    async def polygon_handshake(ws):
        await ws.send('[{"ev":"status","status":"connected","message":"Connected Successfully"}]')
        auth = json.loads(await receive(ws))
        if auth.get("action") != "auth" or auth.get("params") != a.polygon_key:
            await ws.send('[{"ev":"status","status":"auth_failed","message":"authentication failed"}]')
            await ws.close()
            return False
        await ws.send('[{"ev":"status","status":"auth_success","message":"authenticated"}]')
        sub = json.loads(await receive(ws))
        await ws.send(json.dumps([{"ev": "status", "status": "success", "message": "subscribed to: " + sub.get("params", "")}]))
        return True

    async def handler(ws):
        state["connections"] += 1
        if a.polygon_key is not None:
            if not await polygon_handshake(ws):
                return
        elif a.wait_subscribe:
            await receive(ws)
        i = state["next"]
        count = 0
        while i < len(lines):
            if a.malformed and count == a.malformed_after:
                ws.transport.write(broken(a.malformed))
                await asyncio.sleep(0.2)
                ws.transport.abort()
                return
            text = lines[i]
            i += 1
            state["next"] = i
            if text == '{"hotpath_peer":"drop"}':
                for _ in range(200):  # let what was sent leave, then drop: no close frame
                    if ws.transport.get_write_buffer_size() == 0:
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                ws.transport.abort()
                return
            if text == '{"hotpath_peer":"await"}':
                while '"subscribe"' not in await receive(ws):  # an unsubscribe first, then the subscribe
                    pass
                continue
            if a.fragment and len(text) > 2 and rng.random() < 0.5:
                cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 4))))
                parts = [text[x:y] for x, y in zip([0] + cuts, cuts + [len(text)])]
                await ws.send(parts)
            else:
                await ws.send(text)
            count += 1
            if a.ping_every and count % a.ping_every == 0:
                await ws.ping()
        if a.hold:  # a venue does not hang up at the end: the stream goes quiet
            await ws.wait_closed()
        else:
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
