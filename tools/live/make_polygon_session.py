#!/usr/bin/env python3
"""A seeded Polygon (Massive) stocks WebSocket session, shaped as its documentation shows,
and the reference top of book after every quote, computed here with Decimal.

Session (JSON lines, one message each): arrays of one to three events, `Q` quotes (sym, bx,
bp, bs, ax, ap, as, c, i, t, q, z) and `T` trades (sym, x, i, z, p, s, c, t, q), numbers as
JSON numbers written from their decimal text (some with trailing zeros, one symbol under a
dollar ticking at 0.0001). `q` rises across the feed. The `connected`, `auth_success` and
`subscribed` statuses are ws_peer.py's to send (--polygon-key), not the session's.

Reference (JSON lines, one per quote): `{"product":sym,"sequence_num":q,"bids":[[bp,bs]],
"asks":[[ap,as]]}`, a side empty when its size is 0, prices and sizes as decimal strings
with 9 places, as `hotpath book` prints venue books.

--drops N,M puts a `{"hotpath_peer":"drop"}` line after N and after M messages: ws_peer.py
ends the connection there without a close frame; Polygon sends no snapshot to a new
connection, so the stream just goes on.

Usage: make_polygon_session.py --messages N --seed S [--drops N,M] SESSION.jsonl REFERENCE.jsonl
"""
import argparse, json, random
from decimal import Decimal

Q = Decimal("0.000000001")


def fmt(d):
    return str(d.quantize(Q))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drops", default="")
    ap.add_argument("session")
    ap.add_argument("reference")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    symbols = {"AAPL": (Decimal("192.30"), Decimal("0.01")), "MSFT": (Decimal("415.12"), Decimal("0.01")),
               "SNDL": (Decimal("0.8123"), Decimal("0.0001"))}
    mids = {s: m for s, (m, _) in symbols.items()}
    seq = 50385480
    t = 1764856800000
    session, reference = [], []
    drops = [int(x) for x in a.drops.split(",") if x]

    def number(d):
        # The decimal text as the venue would write it: sometimes with its trailing zeros.
        text = str(d)
        if "." in text and rng.random() < 0.5:
            text = text.rstrip("0").rstrip(".")
        return text

    def quote(sym):
        nonlocal seq, t
        mid, tick = symbols[sym]
        mids[sym] = max(tick * 10, mids[sym] + tick * rng.randint(-3, 3))
        bp = mids[sym] - tick * rng.randint(0, 2)
        ap_ = mids[sym] + tick * rng.randint(1, 3)
        bs, as_ = rng.randint(1, 40), rng.randint(1, 40)
        if rng.random() < 0.01:
            bp, bs = Decimal(0), 0  # no bid
        seq += rng.randint(1, 50)
        t += rng.randint(0, 3)
        reference.append(json.dumps({"product": sym, "sequence_num": seq,
                                     "bids": [[fmt(bp), fmt(Decimal(bs))]] if bs else [],
                                     "asks": [[fmt(ap_), fmt(Decimal(as_))]]}, separators=(",", ":")))
        return (f'{{"ev":"Q","sym":"{sym}","bx":{rng.randint(1, 21)},"bp":{number(bp)},"bs":{bs},'
                f'"ax":{rng.randint(1, 21)},"ap":{number(ap_)},"as":{as_},"c":1,"i":[{rng.choice([0, 604])}],'
                f'"t":{t},"q":{seq},"z":{rng.randint(1, 3)}}}')

    def trade(sym):
        nonlocal seq, t
        seq += rng.randint(1, 50)
        t += rng.randint(0, 3)
        return (f'{{"ev":"T","sym":"{sym}","x":{rng.randint(1, 21)},"i":"{rng.randint(1, 10**14)}",'
                f'"z":{rng.randint(1, 3)},"p":{number(mids[sym])},"s":{rng.randint(1, 5000)},'
                f'"c":[{rng.choice([0, 12, 37])}],"t":{t},"q":{seq}}}')

    while len(session) < a.messages:
        if drops and len(session) >= drops[0]:
            drops.pop(0)
            session.append('{"hotpath_peer":"drop"}')
        events = [(quote if rng.random() < 0.8 else trade)(rng.choice(list(symbols)))
                  for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        session.append("[" + ",".join(events) + "]")
    with open(a.session, "w") as f:
        f.write("\n".join(session) + "\n")
    with open(a.reference, "w") as f:
        f.write("\n".join(reference) + "\n")


if __name__ == "__main__":
    main()
