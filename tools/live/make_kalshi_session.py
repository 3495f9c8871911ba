#!/usr/bin/env python3
"""A seeded Kalshi trade-api v2 WebSocket session, shaped as Kalshi documents it, and the
reference YES book after every book message, computed here with Decimal.

Session (JSON lines): per market an `orderbook_snapshot` (yes_dollars_fp / no_dollars_fp bid
ladders of ["price","size"] strings), then `orderbook_delta` messages (price_dollars, signed
delta_fp, side yes|no) and `trade` messages, each wrapped {"type","sid","seq","msg"} with
seq rising by one per message of the subscription. Prices tick at 0.0001 dollars in places
(sub-cent markets) and sizes are fractional contracts.

Reference: after each snapshot or delta, the market's YES book, best 10 a side: bids the
yes ladder, asks 1 − the no ladder's bids; `{"product":ticker,"sequence_num":seq,...}` with
9-decimal strings, as `hotpath book` prints venue books.

--drops N,M puts a `{"hotpath_peer":"drop"}` line after N and after M messages: ws_peer.py
ends the connection there without a close frame, and what follows is what Kalshi sends a new
subscription: `seq` from 1, then a snapshot of each market's ladders (recorded in the
reference like any other).

--gaps N,M leaves a delta out after N and after M messages (the reference applies it; the
session does not carry it), follows it with a trade whose `seq` shows the gap, then an
`{"hotpath_peer":"await"}` line (ws_peer.py waits for the client to subscribe again) and
what Kalshi sends the new subscription: a new `sid`, `seq` from 1, each market's snapshot.

Usage: make_kalshi_session.py --messages N --seed S [--drops N,M] [--gaps N,M] SESSION.jsonl REFERENCE.jsonl
"""
import argparse, bisect, json, random
from decimal import Decimal

Q = Decimal("0.000000001")
ONE = Decimal(1)


def fmt(d):
    return str(d.quantize(Q))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drops", default="")
    ap.add_argument("--gaps", default="")
    ap.add_argument("session")
    ap.add_argument("reference")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    markets = {"KXFED-26DEC-T4.00": Decimal("0.01"), "KXBTC-26DEC31-B99500": Decimal("0.0001")}
    ladders = {m: {"yes": {}, "no": {}} for m in markets}
    prices = {m: {"yes": [], "no": []} for m in markets}  # each ladder's prices, ascending

    def put(m, side, p, q):
        if q <= 0:
            if ladders[m][side].pop(p, None) is not None:
                prices[m][side].pop(bisect.bisect_left(prices[m][side], p))
            return
        if p not in ladders[m][side]:
            bisect.insort(prices[m][side], p)
        ladders[m][side][p] = q
    seq = 0
    sid = 1
    session, reference = [], []

    def emit(kind, msg):
        nonlocal seq
        seq += 1
        session.append(json.dumps({"type": kind, "sid": sid, "seq": seq, "msg": msg}, separators=(",", ":")))

    def record(m):
        # The best 10 a side: the highest yes bids, and the highest no bids as the lowest asks.
        yes = [(p, ladders[m]["yes"][p]) for p in reversed(prices[m]["yes"][-10:])]
        asks = [(ONE - p, ladders[m]["no"][p]) for p in reversed(prices[m]["no"][-10:])]
        reference.append(json.dumps({"product": m, "sequence_num": seq,
                                     "bids": [[fmt(p), fmt(q)] for p, q in yes],
                                     "asks": [[fmt(p), fmt(q)] for p, q in asks]}, separators=(",", ":")))

    def size():
        return Decimal(rng.randint(1, 500000)) / Decimal(100)

    def price(tick, side):
        # yes bids below 0.5, no bids below 0.5 too: the book is not crossed.
        steps = int(Decimal("0.45") / tick)
        return (tick * rng.randint(1, steps)).quantize(tick)

    def snapshot(m):
        emit("orderbook_snapshot", {"market_ticker": m, "market_id": "id-" + m,
                                    "yes_dollars_fp": [[str(p), str(q)] for p, q in sorted(ladders[m]["yes"].items())],
                                    "no_dollars_fp": [[str(p), str(q)] for p, q in sorted(ladders[m]["no"].items())]})
        record(m)

    for m, tick in markets.items():
        for side in ("yes", "no"):
            for _ in range(15):
                q = size()  # drawn before the price, as the seeded fixtures were
                put(m, side, price(tick, side), q)
        snapshot(m)
    drops = [int(x) for x in a.drops.split(",") if x]
    gaps = [int(x) for x in a.gaps.split(",") if x]
    while len(session) < a.messages:
        if gaps and len(session) >= gaps[0]:
            gaps.pop(0)
            m = rng.choice(list(markets))
            p = price(markets[m], "yes")
            put(m, "yes", p, ladders[m]["yes"].get(p, Decimal(0)) + size())  # applied, never sent
            seq += 1
            emit("trade", {"market_ticker": m, "yes_price_dollars": str(p), "count_fp": str(size()),
                           "taker_side": "yes", "ts": 1764800000 + seq})
            session.append('{"hotpath_peer":"await"}')
            sid += 1
            seq = 0
            for m in markets:
                snapshot(m)
        if drops and len(session) >= drops[0]:
            drops.pop(0)
            session.append('{"hotpath_peer":"drop"}')
            seq = 0
            for m in markets:
                snapshot(m)
        m = rng.choice(list(markets))
        tick = markets[m]
        if rng.random() < 0.1:
            emit("trade", {"market_ticker": m, "yes_price_dollars": str(price(tick, "yes")), "count_fp": str(size()),
                           "taker_side": rng.choice(["yes", "no"]), "ts": 1764800000 + seq})
            continue
        side = rng.choice(["yes", "no"])
        levels = ladders[m][side]
        if levels and rng.random() < 0.5:
            p = rng.choice(list(levels))
            d = -levels[p] if rng.random() < 0.4 else -(levels[p] / 2).quantize(Decimal("0.01"))
        else:
            p = price(tick, side)
            d = size()
        put(m, side, p, levels.get(p, Decimal(0)) + d)
        emit("orderbook_delta", {"market_ticker": m, "market_id": "id-" + m, "price_dollars": str(p),
                                 "delta_fp": str(d), "side": side, "ts": "2026-12-04T12:00:00Z"})
        record(m)
    with open(a.session, "w") as f:
        f.write("\n".join(session) + "\n")
    with open(a.reference, "w") as f:
        f.write("\n".join(reference) + "\n")


if __name__ == "__main__":
    main()
