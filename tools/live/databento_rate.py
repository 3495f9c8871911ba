#!/usr/bin/env python3
"""Records/s of HotPath's Databento Live client beside Databento's official Python client
(databento 0.88.0), reading the same emulator stream over loopback, in alternating rounds.

Each round runs `hotpath bench databento FILE --loops L --json` (emulator and client in one
process, each on its own CPU), then `hotpath serve databento FILE --loops l` read by
`databento.Live(key=..., gateway="127.0.0.1", port=P)` with a callback that counts records
(heartbeats aside). Rates are first record to last. The official client gets fewer loops
(the rate is per record; its stream is the same file, sent fewer times over).

Usage: databento_rate.py HOTPATH_BINARY FILE.dbn[.zst] [--rounds 3] [--loops 150] [--official-loops 10]
Prints one line per run, then the medians and their ratio; --json prints one object.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, threading, time

import databento as db

KEY = "db-hotpathratecheck000000000KEYAB"


def official_rate(binary, path, loops, key_file):
    store = db.DBNStore.from_file(path)
    per_loop = sum(1 for _ in store)
    expected = per_loop * loops
    server = subprocess.Popen([binary, "serve", "databento", path, "--port", "0", "--key-file", key_file,
                               "--heartbeat", "1", "--sessions", "1", "--loops", str(loops)],
                              stderr=subprocess.PIPE, text=True)
    port = int(server.stderr.readline().strip().rsplit(":", 1)[1])
    state = {"n": 0, "first": 0.0, "last": 0.0}
    done = threading.Event()

    def on_record(r):
        if isinstance(r, db.SystemMsg):
            return
        now = time.perf_counter()
        if state["n"] == 0:
            state["first"] = now
        state["n"] += 1
        state["last"] = now
        if state["n"] >= expected:
            done.set()

    client = db.Live(key=KEY, gateway="127.0.0.1", port=port)
    client.add_callback(on_record)
    client.subscribe(dataset=store.metadata.dataset, schema=str(store.metadata.schema), symbols="ALL_SYMBOLS",
                     stype_in="raw_symbol")
    client.start()
    done.wait(timeout=300)
    client.terminate()
    server.wait(timeout=30)
    seconds = state["last"] - state["first"]
    return {"records": state["n"], "expected": expected, "seconds": seconds,
            "records_per_s": state["n"] / seconds if seconds > 0 else 0.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loops", type=int, default=150)
    ap.add_argument("--official-loops", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        key_file = os.path.join(tmp, "key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        for i in range(a.rounds):
            run = subprocess.run([a.binary, "bench", "databento", a.file, "--loops", str(a.loops), "--json"],
                                 capture_output=True, text=True, timeout=300, check=True)
            h = json.loads(run.stdout)
            o = official_rate(a.binary, a.file, a.official_loops, key_file)
            if o["records"] != o["expected"]:
                sys.exit(f"databento_rate: the official client read {o['records']} of {o['expected']} records")
            ours.append(h)
            theirs.append(o)
            if not a.json:
                print(f"round {i + 1}: hotpath {h['records_per_s']:,.0f} records/s "
                      f"(receive-to-Event p50 {h['receive_to_event']['p50_ns']} ns, "
                      f"p99 {h['receive_to_event']['p99_ns']} ns); official client {o['records_per_s']:,.0f} records/s")
    h_med = statistics.median(r["records_per_s"] for r in ours)
    o_med = statistics.median(r["records_per_s"] for r in theirs)
    summary = {"hotpath_records_per_s": h_med, "official_records_per_s": o_med, "ratio": h_med / o_med,
               "receive_to_event_p50_ns": statistics.median(r["receive_to_event"]["p50_ns"] for r in ours),
               "receive_to_event_p99_ns": statistics.median(r["receive_to_event"]["p99_ns"] for r in ours),
               "rounds": a.rounds}
    if a.json:
        print(json.dumps(summary))
    else:
        print(f"median: hotpath {h_med:,.0f} records/s, official client {o_med:,.0f} records/s: "
              f"{h_med / o_med:.1f}x; receive-to-Event p50 {summary['receive_to_event_p50_ns']:.0f} ns, "
              f"p99 {summary['receive_to_event_p99_ns']:.0f} ns")


if __name__ == "__main__":
    main()
