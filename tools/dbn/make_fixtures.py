#!/usr/bin/env python3
"""Makes the DBN and book test fixtures from Databento's official codec (databento-dbn).
Run from the repository root with the peers venv, ../shared beside the checkout:

    $(bash ../shared/tools/peers/setup.sh | tail -1)/bin/python tools/dbn/make_fixtures.py

Writes under Tests/Fixtures/dbn/:
  reference.tsv       for every ../shared/data/dbn file and mode (pretty, raw): the official
                      Transcoder's JSON line count and SHA-256 (the files are too large to
                      commit their JSON; `hotpath decode` must reproduce it byte for byte)
  synthetic/*.dbn     small files for record types and versions the real data lacks, made
                      with the official encoder, each with *.json / *.raw.json from the
                      Transcoder
  books.tsv           for the MBO and MBP-1 files: line count and SHA-256 of the top-10 book
                      JSON lines after every F_LAST record, from the reference book below
  books/*.head.jsonl  the first 50 of those lines, to show a difference readably
The reference book is written here independently of HotPath's Swift book, over the records
the official decoder yields."""
import hashlib, io, os, sys, zstandard
import databento_dbn as d

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data", "dbn")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "dbn")
UNDEF_PRICE = (1 << 63) - 1

def load(path):
    data = open(path, "rb").read()
    if path.endswith(".zst"):
        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
    return data

def transcode(data, raw):
    out = io.BytesIO()
    tc = d.Transcoder(out, encoding=d.Encoding.JSON, compression=d.Compression.NONE, pretty_px=not raw,
                      pretty_ts=not raw, map_symbols=not raw, has_metadata=True)
    tc.write(data); tc.flush()
    return out.getvalue()

def decimal(v):
    sign = "-" if v < 0 else ""
    m = abs(v)
    return f"{sign}{m // 10**9}.{m % 10**9:09d}"

class ReferenceBook:
    """Databento's MBO book rules, aggregated by price level."""
    def __init__(self):
        self.orders = {}  # id -> (iid, side, price, size)
        self.levels = {}  # iid -> {"B": {price: [size, count]}, "A": {...}}

    def side(self, iid, s):
        return self.levels.setdefault(iid, {"B": {}, "A": {}})[s]

    def level_add(self, iid, s, price, size, count):
        lv = self.side(iid, s).setdefault(price, [0, 0])
        lv[0] += size; lv[1] += count

    def level_remove(self, iid, s, price, size, count):
        book = self.side(iid, s)
        lv = book.get(price)
        if lv is None:
            return
        if lv[0] < size or lv[1] < count:
            lv[0] = lv[1] = 0
        else:
            lv[0] -= size; lv[1] -= count
        if lv[1] == 0:
            del book[price]

    def apply(self, r):
        iid, action, s = r.instrument_id, str(r.action), str(r.side)
        self.side(iid, "B")
        if action == "R":
            self.levels[iid] = {"B": {}, "A": {}}
            self.orders = {k: v for k, v in self.orders.items() if v[0] != iid}
        elif action == "A":
            self.add(r, iid, s)
        elif action == "C":
            o = self.orders.get(r.order_id)
            if o is None:
                return
            take = min(r.size, o[3])
            gone = take == o[3]
            self.level_remove(iid, o[1], o[2], take, 1 if gone else 0)
            if gone:
                del self.orders[r.order_id]
            else:
                self.orders[r.order_id] = (o[0], o[1], o[2], o[3] - take)
        elif action == "M":
            o = self.orders.get(r.order_id)
            if o is None:
                self.add(r, iid, s)
                return
            if o[2] == r.price:
                if r.size >= o[3]:
                    self.level_add(iid, o[1], o[2], r.size - o[3], 0)
                else:
                    self.level_remove(iid, o[1], o[2], o[3] - r.size, 0)
            else:
                self.level_remove(iid, o[1], o[2], o[3], 1)
                self.level_add(iid, o[1], r.price, r.size, 1)
            self.orders[r.order_id] = (o[0], o[1], r.price, r.size)

    def add(self, r, iid, s):
        if s not in ("B", "A"):
            return
        if r.flags & 0x40:  # F_TOB: the side is this one level
            self.levels[iid][s] = {}
            if r.price != UNDEF_PRICE:
                self.level_add(iid, s, r.price, r.size, 1)
            return
        if r.order_id in self.orders:
            return
        self.orders[r.order_id] = (iid, s, r.price, r.size)
        self.level_add(iid, s, r.price, r.size, 1)

    def top(self, iid, depth):
        b = self.levels[iid]["B"]; a = self.levels[iid]["A"]
        bids = [(p, b[p][0], b[p][1]) for p in sorted(b, reverse=True)[:depth]]
        asks = [(p, a[p][0], a[p][1]) for p in sorted(a)[:depth]]
        return bids, asks

def book_line(ts_recv, iid, bids, asks):
    fmt = lambda lv: "[" + ",".join(f'["{decimal(p)}",{s},{c}]' for p, s, c in lv) + "]"
    return f'{{"ts_recv":{ts_recv},"instrument_id":{iid},"bids":{fmt(bids)},"asks":{fmt(asks)}}}'

def book_lines(data, depth=10):
    book = ReferenceBook()
    for r in decode_records(data):
        if isinstance(r, d.MBOMsg):
            book.apply(r)
            if r.flags & 0x80:
                bids, asks = book.top(r.instrument_id, depth)
                yield book_line(r.ts_recv, r.instrument_id, bids, asks)
        elif isinstance(r, (d.MBP1Msg, d.MBP10Msg)) and r.flags & 0x80:
            bids = [(lv.bid_px, lv.bid_sz, lv.bid_ct) for lv in r.levels if lv.bid_px != UNDEF_PRICE][:depth]
            asks = [(lv.ask_px, lv.ask_sz, lv.ask_ct) for lv in r.levels if lv.ask_px != UNDEF_PRICE][:depth]
            yield book_line(r.ts_recv, r.instrument_id, bids, asks)

def decode_records(data):
    dec = d.DBNDecoder(has_metadata=True)
    dec.write(data)
    for r in dec.decode():
        if not isinstance(r, d.Metadata):
            yield r

def synthetic():
    """Record types and versions the real data lacks."""
    files = {}
    def md(version, ts_out=False, schema=None):
        return bytes(d.Metadata(dataset="GLBX.MDP3", start=1_700_000_000_000_000_000, stype_in=d.SType.RAW_SYMBOL,
                                stype_out=d.SType.INSTRUMENT_ID, schema=schema, symbols=["ESH4"], ts_out=ts_out,
                                version=version).encode())
    t0 = 1_703_462_400_000_000_000
    sys_msgs = ["Heartbeat", "Subscription request 0 for mbo data succeeded", "Finished mbo replay",
                "End of interval for ohlcv-1s", "something else"]
    for v in (1, 2):
        recs = [d.StatMsgV1(1, 5, t0, t0 + 1, t0 - 5, 4_750_250_000_000, 12, d.StatType.SETTLEMENT_PRICE),
                d.StatMsgV1(1, 5, t0, t0 + 2, t0, UNDEF_PRICE, 2**31 - 1, d.StatType.CLEARED_VOLUME)]
        if v == 1:
            recs += [d.ErrorMsgV1(t0, "auth failed"), d.SymbolMappingMsgV1(1, 5, t0, "ESH4", "ESH4", t0, t0 + 86_400 * 10**9)]
            recs += [d.SystemMsgV1(t0, m) for m in sys_msgs]
        files[f"stat-error-system.v{v}"] = md(v) + b"".join(bytes(r) for r in recs)
    recs = [d.StatMsg(1, 5, t0, t0 + 1, t0 - 5, -1_250_000_000, 2**40, d.StatType.OPEN_INTEREST),
            d.ErrorMsg(t0, "subscription limit", is_last=False), d.SystemMsg(t0, "Heartbeat"),
            d.SymbolMappingMsg(1, 5, t0, d.SType.RAW_SYMBOL, "ESH4", d.SType.INSTRUMENT_ID, "5", t0, t0 + 1),
            d.StatusMsg(1, 5, t0, t0 + 3), d.ImbalanceMsg(2, 9, t0, t0 + 4, 101_250_000_000, t0 + 60, 101_000_000_000,
                                                          UNDEF_PRICE, 300, 120, "O", d.Side.BID, "Y"),
            d.OHLCVMsg(0x21, 1, 5, t0, 4_700_000_000_000, 4_710_000_000_000, 4_690_000_000_000, 4_705_000_000_000, 1234)]
    files["misc.v3"] = md(3) + b"".join(bytes(r) for r in recs)
    mbo = [d.MBOMsg(1, 5, t0, 11, 4_700_250_000_000, 3, d.Action.ADD, d.Side.BID, t0 + 10, flags=0x80, ts_out=t0 + 99),
           d.MBOMsg(1, 5, t0, 12, -2_500_000_000, 1, d.Action.ADD, d.Side.ASK, UNDEF_PRICE - 2**62, flags=0x80, ts_out=t0 + 100)]
    files["mbo-ts-out.v3"] = md(3, ts_out=True, schema=d.Schema.MBO) + b"".join(bytes(r) for r in mbo)
    return files

def main():
    os.makedirs(os.path.join(OUT, "synthetic"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "books"), exist_ok=True)
    rows = ["file\tmode\tlines\tsha256"]
    books = ["file\tlines\tsha256"]
    for name in sorted(os.listdir(DATA)):
        data = load(os.path.join(DATA, name))
        for mode in ("pretty", "raw"):
            js = transcode(data, mode == "raw")
            n = js.count(b"\n")
            rows.append(f"{name}\t{mode}\t{n}\t{hashlib.sha256(js).hexdigest()}")
        if ".mbo." in name or "mbo_" in name or "mbp-1" in name:  # mbp-1 and mbp-10
            lines = list(book_lines(data))
            text = "".join(l + "\n" for l in lines).encode()
            books.append(f"{name}\t{len(lines)}\t{hashlib.sha256(text).hexdigest()}")
            with open(os.path.join(OUT, "books", name + ".head.jsonl"), "w") as f:
                f.write("".join(l + "\n" for l in lines[:50]))
    open(os.path.join(OUT, "reference.tsv"), "w").write("\n".join(rows) + "\n")
    open(os.path.join(OUT, "books.tsv"), "w").write("\n".join(books) + "\n")
    for name, data in synthetic().items():
        base = os.path.join(OUT, "synthetic", name)
        open(base + ".dbn", "wb").write(data)
        open(base + ".json", "wb").write(transcode(data, False))
        open(base + ".raw.json", "wb").write(transcode(data, True))

if __name__ == "__main__":
    main()
