#!/usr/bin/env python3
"""Expected JSON for the ITCH pcaps in ../shared/data/itch, decoded here independently of
HotPath with Python's struct module from the TotalView-ITCH 5.0 specification's message
formats, and a synthetic Nasdaq binary file plus MoldUDP64 stream with known contents.
Run from the repository root (plain python3, no packages):

    python3 tools/itch/make_fixtures.py

Writes Tests/Fixtures/itch/<name>.jsonl for each pcap, and synthetic.itch / synthetic.mold
with their .jsonl."""
import os, struct, json

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data", "itch")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "itch")

# type: (struct format after the 11-byte header, field names); p4/p8 = prices, s = alpha
SPEC = {
    "S": ("c", ["event_code"]),
    "R": ("8sccIcc2scccccIc", ["stock", "market_category", "financial_status_indicator", "round_lot_size",
          "round_lots_only", "issue_classification", "issue_sub_type", "authenticity",
          "short_sale_threshold_indicator", "ipo_flag", "luld_reference_price_tier", "etp_flag",
          "etp_leverage_factor", "inverse_indicator"]),
    "H": ("8scc4s", ["stock", "trading_state", "reserved", "reason"]),
    "Y": ("8sc", ["stock", "reg_sho_action"]),
    "L": ("4s8sccc", ["mpid", "stock", "primary_market_maker", "market_maker_mode", "market_participant_state"]),
    "V": ("QQQ", ["level_1:p8", "level_2:p8", "level_3:p8"]),
    "W": ("c", ["breached_level"]),
    "K": ("8sIcI", ["stock", "ipo_quotation_release_time", "ipo_quotation_release_qualifier", "ipo_price:p4"]),
    "J": ("8sIIII", ["stock", "auction_collar_reference_price:p4", "upper_auction_collar_price:p4",
          "lower_auction_collar_price:p4", "auction_collar_extension"]),
    "h": ("8scc", ["stock", "market_code", "operational_halt_action"]),
    "A": ("QcI8sI", ["order_reference_number", "buy_sell_indicator", "shares", "stock", "price:p4"]),
    "F": ("QcI8sI4s", ["order_reference_number", "buy_sell_indicator", "shares", "stock", "price:p4", "attribution"]),
    "E": ("QIQ", ["order_reference_number", "executed_shares", "match_number"]),
    "C": ("QIQcI", ["order_reference_number", "executed_shares", "match_number", "printable", "execution_price:p4"]),
    "X": ("QI", ["order_reference_number", "cancelled_shares"]),
    "D": ("Q", ["order_reference_number"]),
    "U": ("QQII", ["original_order_reference_number", "new_order_reference_number", "shares", "price:p4"]),
    "P": ("QcI8sIQ", ["order_reference_number", "buy_sell_indicator", "shares", "stock", "price:p4", "match_number"]),
    "Q": ("Q8sIQc", ["shares", "stock", "cross_price:p4", "match_number", "cross_type"]),
    "B": ("Q", ["match_number"]),
    "I": ("QQc8sIIIcc", ["paired_shares", "imbalance_shares", "imbalance_direction", "stock", "far_price:p4",
          "near_price:p4", "current_reference_price:p4", "cross_type", "price_variation_indicator"]),
    "N": ("8sc", ["stock", "interest_flag"]),
    "O": ("8scIIIQII", ["stock", "open_eligibility_status", "minimum_allowable_price:p4", "maximum_allowable_price:p4",
          "near_execution_price:p4", "near_execution_time", "lower_price_range_collar:p4", "upper_price_range_collar:p4"]),
}

def price(v, places):
    return f"{v // 10**places}.{v % 10**places:0{places}d}"

def decode(msg, seq):
    t = chr(msg[0])
    locate, tracking = struct.unpack(">HH", msg[1:5])
    ts = int.from_bytes(msg[5:11], "big")
    fmt, names = SPEC[t]
    vals = struct.unpack(">" + fmt, msg[11:11 + struct.calcsize(">" + fmt)])
    out = {"message_type": t, "stock_locate": locate, "tracking_number": tracking, "timestamp": ts}
    for name, v in zip(names, vals):
        key, _, kind = name.partition(":")
        if kind == "p4": v = price(v, 4)
        elif kind == "p8": v = price(v, 8)
        elif isinstance(v, bytes): v = v.decode("ascii")
        if isinstance(v, str) and len(v) > 1: v = v.rstrip(" ")
        out[key] = v
    out["sequence"] = seq
    return json.dumps(out, separators=(",", ":"))

def mold_messages(payload):
    seq, count = struct.unpack(">QH", payload[10:20])
    if count in (0, 0xFFFF): return
    at = 20
    for i in range(count):
        n, = struct.unpack(">H", payload[at:at + 2])
        yield payload[at + 2:at + 2 + n], seq + i
        at += 2 + n

def pcap_payloads(data):
    at = 24
    while at < len(data):
        incl, = struct.unpack("<I", data[at + 8:at + 12])
        frame = data[at + 16:at + 16 + incl]
        at += 16 + incl
        p = 12
        et, = struct.unpack(">H", frame[p:p + 2]); p += 2
        while et == 0x8100:
            et, = struct.unpack(">H", frame[p + 2:p + 4]); p += 4
        ihl = (frame[p] & 15) * 4
        udp = p + ihl
        ulen, = struct.unpack(">H", frame[udp + 4:udp + 6])
        yield frame[udp + 8:udp + ulen]

def header(t, locate, ts):
    return t.encode() + struct.pack(">HH", locate, 0) + ts.to_bytes(6, "big")

def synthetic_messages():
    ts = 34_200_000_000_000
    return [
        header("S", 0, ts) + b"Q",
        header("R", 7, ts) + b"HPTH    " + b"Q" + b"N" + struct.pack(">I", 100) + b"N" + b"C" + b"Z " + b"P" + b"N" + b"N" + b"1" + b"N" + struct.pack(">I", 0) + b"N",
        header("A", 7, ts + 1) + struct.pack(">Q", 1) + b"B" + struct.pack(">I", 300) + b"HPTH    " + struct.pack(">I", 1_000_100),
        header("F", 7, ts + 2) + struct.pack(">Q", 2) + b"S" + struct.pack(">I", 200) + b"HPTH    " + struct.pack(">I", 1_000_300) + b"NSDQ",
        header("E", 7, ts + 3) + struct.pack(">QIQ", 1, 100, 9001),
        header("C", 7, ts + 4) + struct.pack(">QIQ", 2, 50, 9002) + b"Y" + struct.pack(">I", 1_000_300),
        header("X", 7, ts + 5) + struct.pack(">QI", 1, 50),
        header("U", 7, ts + 6) + struct.pack(">QQII", 2, 3, 400, 1_000_200),
        header("P", 7, ts + 7) + struct.pack(">Q", 0) + b"B" + struct.pack(">I", 10) + b"HPTH    " + struct.pack(">IQ", 1_000_000, 9003),
        header("D", 7, ts + 8) + struct.pack(">Q", 1),
        header("V", 0, ts + 9) + struct.pack(">QQQ", 3_800_000_000_00, 3_500_000_000_00, 3_200_000_000_00),
        header("I", 7, ts + 10) + struct.pack(">QQ", 500, 20) + b"B" + b"HPTH    " + struct.pack(">III", 1_000_000, 1_000_100, 1_000_050) + b"O" + b"L",
    ]

def main():
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(os.listdir(DATA)):
        data = open(os.path.join(DATA, name), "rb").read()
        lines = [decode(m, s) for p in pcap_payloads(data) for m, s in mold_messages(p)]
        open(os.path.join(OUT, name + ".jsonl"), "w").write("".join(l + "\n" for l in lines))
    msgs = synthetic_messages()
    open(os.path.join(OUT, "synthetic.itch"), "wb").write(b"".join(struct.pack(">H", len(m)) + m for m in msgs))
    open(os.path.join(OUT, "synthetic.itch.jsonl"), "w").write("".join(decode(m, i + 1) + "\n" for i, m in enumerate(msgs)))
    # MoldUDP64: two packets, a heartbeat, a duplicate of the first packet, a gap, end of session.
    session = b"HOTPATH001"
    def packet(seq, ms): return session + struct.pack(">QH", seq, len(ms)) + b"".join(struct.pack(">H", len(m)) + m for m in ms)
    stream = (packet(1, msgs[:5]) + packet(6, msgs[5:8]) + session + struct.pack(">QH", 9, 0) + packet(1, msgs[:5])
              + packet(12, msgs[8:]) + session + struct.pack(">QH", 16, 0xFFFF))
    open(os.path.join(OUT, "synthetic.mold"), "wb").write(stream)
    expected = [decode(m, i + 1) for i, m in enumerate(msgs[:8])] + [decode(m, 12 + i) for i, m in enumerate(msgs[8:])]
    open(os.path.join(OUT, "synthetic.mold.jsonl"), "w").write("".join(l + "\n" for l in expected))

if __name__ == "__main__":
    main()
