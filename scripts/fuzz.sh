#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the parsers, through the entry
# points the product uses (ParserExercise.swift lists the targets). Builds the harness into
# .build-fuzz, then runs each target for SECONDS from a copy of its seed corpus
# (Tests/Fixtures/fuzz/<target>; the committed seeds stay as they are) and prints the
# executions, the corpus and the coverage. Fails on a crash, an ASan report or a leak-free
# timeout, keeping the input in .build-fuzz/findings/<target>/ (each one becomes a test).
# Usage: bash scripts/fuzz.sh [TARGET|all] [SECONDS (30)] [MAX_RUNS (0: no limit)]
# With MAX_RUNS the run is also seeded (-seed=1), yet not identical run to run: the coverage
# that steers it varies a little, so one pass can find what another missed (see BENCHMARKS).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
all_targets="feed lightgbm xgboost onnx config budgets mold coinbase kalshi polygon websocket databento"
targets=$all_targets
which="${1:-all}"
seconds="${2:-30}"
runs="${3:-0}"
[ "$which" = all ] || targets="$which"
# SwiftPM hands swiftc one -sanitize= flag per sanitizer, and the driver keeps the last: the
# combined flag after them instruments the Swift code for both. FUZZ_NO_BUILD=1 runs the
# harness already built (for runs side by side: two builds into one scratch path collide).
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    swift build -c release --sanitize=fuzzer --sanitize=address --product hotpath-fuzz --scratch-path .build-fuzz \
        -Xswiftc -DHOTPATH_FUZZ -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -E "error|Compiling HotPathFuzz|Build" \
        | grep -v "ld.gold: warning"
fi
bin=.build-fuzz/release/hotpath-fuzz
[ -x "$bin" ] || { echo "fuzz: the harness did not build" >&2; exit 1; }
# Swift's own backtracer reads memory ASan calls out of bounds: libFuzzer reports instead.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 SWIFT_BACKTRACE=enable=no
status=0
for t in $targets; do
    seeds="Tests/Fixtures/fuzz/$t"
    [ -d "$seeds" ] || { echo "fuzz: no target $t (targets: $all_targets)" >&2; exit 2; }
    corpus=".build-fuzz/corpus/$t" findings=".build-fuzz/findings/$t"
    mkdir -p "$corpus" "$findings"
    cp -n "$seeds"/* "$corpus"/ 2>/dev/null
    log=".build-fuzz/$t.log"
    started=$(date +%s)
    seed=()
    [ "$runs" -gt 0 ] && seed=(-seed=1)
    HOTPATH_FUZZ_TARGET=$t "$bin" "$corpus" "${seed[@]}" -max_total_time="$seconds" -runs="${runs/#0/-1}" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" > "$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - started ))
    execs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $NF}' "$log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
    if [ $rc -ne 0 ]; then
        echo "fuzz $t: FAILED after ${execs:-?} executions (exit $rc); input kept in $findings/"
        grep -E "ERROR|SUMMARY|==[0-9]+==|Fatal error|deadly signal" "$log" | head -8
        status=1
    else
        echo "fuzz $t: ${execs} executions in ${took} s (${rate}/s), 0 crashes; ${cov}; corpus $(ls "$corpus" | wc -l) files"
    fi
done
exit $status
