#!/usr/bin/env python3
"""Checks `hotpath serve databento` against Databento's official Python client (databento 0.88.0).

For each DBN file: start the emulator, read the stream with `databento.Live(key=..., gateway=
"127.0.0.1", port=P)`, read it again with `hotpath decode databento://...`, and compare the
records (rtype, ts_event, instrument_id, in order) with each other and with `hotpath decode FILE`.
Heartbeats are the gateway's, not data: both clients leave them out. Exit 1 on any difference.

Usage: databento_official.py HOTPATH_BINARY FILE.dbn[.zst] ...
"""
import json, os, subprocess, sys, tempfile, time

import databento as db

KEY = "db-hotpathofficialcheck0000KEYAB"


def records_of(lines):
    out = []
    for line in lines:
        hd = json.loads(line)["hd"]
        out.append((int(hd["rtype"]), int(hd["ts_event"]) if str(hd["ts_event"]).isdigit() else hd["ts_event"], int(hd["instrument_id"])))
    return out


def main():
    binary, files = sys.argv[1], sys.argv[2:]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        key_file = os.path.join(tmp, "key")
        with open(key_file, "w") as f:
            f.write(KEY + "\n")
        for path in files:
            store = db.DBNStore.from_file(path)
            schema, dataset = str(store.metadata.schema), store.metadata.dataset
            def serve():
                server = subprocess.Popen([binary, "serve", "databento", path, "--port", "0", "--key-file", key_file,
                                           "--heartbeat", "0.2", "--sessions", "1"], stderr=subprocess.PIPE, text=True)
                return server, int(server.stderr.readline().strip().rsplit(":", 1)[1])

            server, port = serve()
            got = []
            client = db.Live(key=KEY, gateway="127.0.0.1", port=port)
            # Heartbeats are the gateway's, not data: left out here as hotpath decode leaves them out.
            client.add_callback(lambda r: None if isinstance(r, db.SystemMsg) and "Heartbeat" in str(r.msg) else got.append(r))
            client.subscribe(dataset=dataset, schema=schema, symbols="ALL_SYMBOLS", stype_in="raw_symbol")
            client.start()
            deadline = time.time() + 30
            last = -1
            while time.time() < deadline:  # until no new record for half a second
                time.sleep(0.5)
                if len(got) == last:
                    break
                last = len(got)
            client.terminate()
            server.wait(timeout=30)
            official = [(int(r.rtype), int(r.ts_event), int(r.instrument_id)) for r in got]
            server, port = serve()
            env = dict(os.environ, DATABENTO_API_KEY=KEY)
            url = f"databento://127.0.0.1:{port}?dataset={dataset}&schema={schema}&symbols=ALL_SYMBOLS"
            live = subprocess.run([binary, "decode", url, "--raw", "--idle-timeout", "0.5"], env=env,
                                  capture_output=True, text=True, timeout=60)
            server.wait(timeout=30)
            whole = subprocess.run([binary, "decode", path, "--raw"], capture_output=True, text=True, timeout=60)
            ours, want = records_of(live.stdout.splitlines()), records_of(whole.stdout.splitlines())
            ok = official == want and ours == want and want
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(path)}: official client {len(official)} records, "
                  f"hotpath decode databento:// {len(ours)}, hotpath decode FILE {len(want)}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
