#!/usr/bin/env python3
"""A seeded Coinbase Advanced Trade session, shaped as Coinbase documents its WebSocket
channels, and the reference L2 book after every message, computed here with Decimal.

Session (JSON lines, one message each): a `subscriptions` confirmation, then `l2_data`
messages (a `snapshot` event per product, then `update` events whose `new_quantity` is the
level's absolute size, "0" removing it), `market_trades` messages and `heartbeats`;
`sequence_num` rises by one per message on the connection.

Reference (JSON lines, one per l2_data message): the book of the product it touched, best
10 levels a side, `{"product":…,"sequence_num":…,"bids":[["price","size"],…],"asks":[…]}`,
prices and sizes as decimal strings with 9 places, as `hotpath book` prints venue books.

--drops N,M puts a `{"hotpath_peer":"drop"}` line after N and after M messages: ws_peer.py
ends the connection there without a close frame, and what follows is what Coinbase sends a
new connection: `sequence_num` from 0, the subscriptions, then a snapshot of each product's
whole book (recorded in the reference like any other).

Usage: make_coinbase_session.py --messages N --seed S [--drops N,M] SESSION.jsonl REFERENCE.jsonl
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
    products = {"BTC-USD": (Decimal("21921.73"), Decimal("0.01")), "ETH-USD": (Decimal("1612.40"), Decimal("0.01"))}
    books = {p: {"bid": {}, "offer": {}} for p in products}
    seq = 0
    ts = "2023-02-09T20:32:50.714964855Z"
    session, reference = [], []

    def emit(obj):
        nonlocal seq
        # Coinbase's order: channel, client_id, timestamp, sequence_num, events.
        events = obj.pop("events")
        obj["sequence_num"] = seq
        obj["events"] = events
        seq += 1
        session.append(json.dumps(obj, separators=(",", ":")))

    def record(product):
        b = books[product]
        bids = sorted(b["bid"].items(), key=lambda kv: -kv[0])[:10]
        asks = sorted(b["offer"].items(), key=lambda kv: kv[0])[:10]
        reference.append(json.dumps({"product": product, "sequence_num": seq - 1,
                                     "bids": [[fmt(p), fmt(q)] for p, q in bids],
                                     "asks": [[fmt(p), fmt(q)] for p, q in asks]}, separators=(",", ":")))

    def qty():
        return Decimal(rng.randint(1, 5_000_000)) / Decimal(10 ** rng.choice([4, 6, 8]))

    def reconnect():
        nonlocal seq
        session.append('{"hotpath_peer":"drop"}')
        seq = 0
        subscribed()
        for product in products:
            updates = [{"side": side, "event_time": ts, "price_level": str(p), "new_quantity": str(q)}
                       for side in ("bid", "offer") for p, q in sorted(books[product][side].items())]
            emit({"channel": "l2_data", "client_id": "", "timestamp": ts,
                  "events": [{"type": "snapshot", "product_id": product, "updates": updates}]})
            record(product)

    def subscribed():
        emit({"channel": "subscriptions", "client_id": "", "timestamp": ts,
              "events": [{"subscriptions": {"level2": list(products), "market_trades": list(products)}}]})

    drops = [int(x) for x in a.drops.split(",") if x]
    subscribed()
    for product, (mid, tick) in products.items():
        updates = []
        for side, sign in (("bid", -1), ("offer", 1)):
            for k in range(1, 31):
                price = mid + sign * tick * k * rng.randint(1, 3)
                q = qty()
                books[product][side][price] = q
                updates.append({"side": side, "event_time": ts, "price_level": str(price), "new_quantity": str(q)})
        emit({"channel": "l2_data", "client_id": "", "timestamp": ts,
              "events": [{"type": "snapshot", "product_id": product, "updates": updates}]})
        record(product)
    while len(session) < a.messages:
        if drops and len(session) >= drops[0]:
            drops.pop(0)
            reconnect()
        product = rng.choice(list(products))
        mid, tick = products[product]
        r = rng.random()
        if r < 0.1:
            emit({"channel": "market_trades", "client_id": "", "timestamp": ts, "events": [{"type": "update", "trades": [
                {"trade_id": str(seq), "product_id": product, "price": str(mid), "size": str(qty()),
                 "side": rng.choice(["BUY", "SELL"]), "time": ts}]}]})
            continue
        if r < 0.13:
            emit({"channel": "heartbeats", "client_id": "", "timestamp": ts,
                  "events": [{"current_time": ts, "heartbeat_counter": seq}]})
            continue
        updates = []
        for _ in range(rng.randint(1, 4)):
            side = rng.choice(["bid", "offer"])
            levels = books[product][side]
            if levels and rng.random() < 0.35:
                price = rng.choice(list(levels))
                q = Decimal(0)
            else:
                sign = -1 if side == "bid" else 1
                price = mid + sign * tick * rng.randint(1, 60)
                q = qty()
            if q == 0:
                levels.pop(price, None)
            else:
                levels[price] = q
            updates.append({"side": side, "event_time": ts, "price_level": str(price), "new_quantity": str(q)})
        emit({"channel": "l2_data", "client_id": "", "timestamp": ts,
              "events": [{"type": "update", "product_id": product, "updates": updates}]})
        record(product)
    with open(a.session, "w") as f:
        f.write("\n".join(session) + "\n")
    with open(a.reference, "w") as f:
        f.write("\n".join(reference) + "\n")


if __name__ == "__main__":
    main()
