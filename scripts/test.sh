#!/usr/bin/env bash
# The test command: installs what is missing, builds the release binary (failing on any
# warning from HotPath's own sources), runs the test suite in release mode (allocation-free
# is a property of the optimised build, and the suite counts mallocs), then smoke-tests the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== release build"
log=$(mktemp)
swift build -c release 2>&1 | tee "$log" | grep -E "error|warning|Compiling|Build" || true
if [ "${PIPESTATUS[0]}" -ne 0 ]; then exit 1; fi
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$log"; then
  echo "test: the release build has warnings in HotPath's own code" >&2; exit 1
fi

echo "== tests (release, -enable-testing)"
swift test -c release -Xswiftc -enable-testing --scratch-path .build-tests

echo "== package-benchmark: hot-path malloc counts are zero at every size"
# (package-benchmark's own `thresholds check` reported EQUAL for a benchmark that allocated
# once per sample, so the counts are read from its table instead.)
if ! swift package --package-path Benchmarks benchmark --filter ".*mallocs.*" --no-progress > "$log" 2>&1; then
  # package-benchmark prints which child crashed before its tables; the tail alone hides it.
  grep -E "Failed to run|crashed|Fatal error|error:" "$log" | head -20; tail -30 "$log"
  echo "test: the benchmark suite did not build or run" >&2; exit 1
fi
python3 - "$log" <<'PY'
import re, sys
name, bad, seen = None, [], 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if "mallocs" in line and "│" not in line:
        name = line.strip()
    elif line.startswith("│ Malloc (total)"):
        cells = [c.strip() for c in line.split("│")[2:-2]]
        seen += 1
        if any(c not in ("0", "") for c in cells):
            bad.append(f"{name}: {cells}")
if seen == 0 or bad:
    sys.exit("test: hot-path malloc counts are not zero: " + ("; ".join(bad) or "no malloc rows found"))
print(f"{seen} malloc benchmarks, every percentile 0")
PY

echo "== CLI smoke"
bin=.build/release/hotpath
"$bin" --help >/dev/null
"$bin" tune check --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["knobs"]) >= 17, d; print("tune check --json:", len(d["knobs"]), "knobs")'
"$bin" bench core --items 1000000 --round-trips 10000 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("bench core --json:", d["ring_one_way_items_per_s"], "items/s one way")'

echo "== latency gate: bench e2e against .ci/budgets.toml (the first of up to three runs to pass)"
report=$(mktemp --suffix=.json)
# bench e2e exits 1 when the demo configuration's own (production) budgets fail; the gate
# below decides against the CI budgets. The host is shared: now and then a run reads every
# stage of one thread several times slower (decode p50 50 ns against 10 in a CI run of
# 2026-11-30). A regression fails every run; such a run is seldom followed by two more.
gated=0
for attempt in 1 2 3; do
  "$bin" bench e2e --rate 200000 --seconds 2 --json > "$report" || [ $? -eq 1 ]
  "$bin" report "$report" | head -8
  if "$bin" gate "$report" --budgets .ci/budgets.toml; then gated=1; break; fi
  echo "gate: run $attempt of 3 breached (above)" >&2
  sleep 5
done
[ "$gated" -eq 1 ] || { echo "test: the latency gate failed three runs in a row" >&2; exit 1; }
# The gate's own exit codes: 1 on a breach, 2 on a report it cannot read.
printf '[budgets.tick_to_signal]\np50 = 1\n' > "$report.tight.toml"
set +e
"$bin" gate "$report" --budgets "$report.tight.toml" >/dev/null 2>&1; breach=$?
echo '{"stages":' > "$report.corrupt"
"$bin" gate "$report.corrupt" --budgets .ci/budgets.toml >/dev/null 2>&1; corrupt=$?
set -e
[ "$breach" -eq 1 ] && [ "$corrupt" -eq 2 ] || { echo "test: gate exit codes $breach/$corrupt, expected 1/2" >&2; exit 1; }
echo "gate: exits 1 on a breach and 2 on a corrupt report"
rm -f "$report" "$report.tight.toml" "$report.corrupt"
# A looped session (8 loops of ~48 k messages) books cleanly: no id added twice, none unknown.
looped=$(mktemp --suffix=.json)
"$bin" bench e2e --rate 400000 --seconds 1 --session-messages 50000 --json > "$looped" || [ $? -eq 1 ]
python3 - "$looped" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
bad = {k: v for k, v in c.items() if k.startswith("engine.book.") and k not in ("engine.book.events", "engine.book.published") and v}
if bad or c["engine.book.events"] == 0:
    sys.exit(f"test: bench e2e over a looped session: book errors {bad}")
print("bench e2e, looped session:", c["engine.book.events"], "book events, no book errors")
PY
rm -f "$looped"
"$bin" demo --messages 100000 | tail -3
echo "1 passed, 0 failed: CLI smoke"

echo "== AddressSanitizer sweep of the binary (scripts/asan.sh)"
bash scripts/asan.sh
