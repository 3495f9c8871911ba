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

Usage: make_kalshi_session.py --messages N --seed S SESSION.jsonl REFERENCE.jsonl
"""
import argparse, json, random
from decimal import Decimal

Q = Decimal("0.000000001")
ONE = Decimal(1)


def fmt(d):
    return str(d.quantize(Q))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("session")
    ap.add_argument("reference")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    markets = {"KXFED-26DEC-T4.00": Decimal("0.01"), "KXBTC-26DEC31-B99500": Decimal("0.0001")}
    ladders = {m: {"yes": {}, "no": {}} for m in markets}
    seq = 0
    session, reference = [], []

    def emit(kind, msg):
        nonlocal seq
        seq += 1
        session.append(json.dumps({"type": kind, "sid": 1, "seq": seq, "msg": msg}, separators=(",", ":")))

    def record(m):
        yes = sorted(ladders[m]["yes"].items(), key=lambda kv: -kv[0])[:10]
        asks = sorted(((ONE - p, q) for p, q in ladders[m]["no"].items()), key=lambda kv: kv[0])[:10]
        reference.append(json.dumps({"product": m, "sequence_num": seq,
                                     "bids": [[fmt(p), fmt(q)] for p, q in yes],
                                     "asks": [[fmt(p), fmt(q)] for p, q in asks]}, separators=(",", ":")))

    def size():
        return Decimal(rng.randint(1, 500000)) / Decimal(100)

    def price(tick, side):
        # yes bids below 0.5, no bids below 0.5 too: the book is not crossed.
        steps = int(Decimal("0.45") / tick)
        return (tick * rng.randint(1, steps)).quantize(tick)

    for m, tick in markets.items():
        for side in ("yes", "no"):
            for _ in range(15):
                ladders[m][side][price(tick, side)] = size()
        emit("orderbook_snapshot", {"market_ticker": m, "market_id": "id-" + m,
                                    "yes_dollars_fp": [[str(p), str(q)] for p, q in sorted(ladders[m]["yes"].items())],
                                    "no_dollars_fp": [[str(p), str(q)] for p, q in sorted(ladders[m]["no"].items())]})
        record(m)
    while len(session) < a.messages:
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
        new = levels.get(p, Decimal(0)) + d
        if new <= 0:
            levels.pop(p, None)
        else:
            levels[p] = new
        emit("orderbook_delta", {"market_ticker": m, "market_id": "id-" + m, "price_dollars": str(p),
                                 "delta_fp": str(d), "side": side, "ts": "2026-12-04T12:00:00Z"})
        record(m)
    with open(a.session, "w") as f:
        f.write("\n".join(session) + "\n")
    with open(a.reference, "w") as f:
        f.write("\n".join(reference) + "\n")


if __name__ == "__main__":
    main()
