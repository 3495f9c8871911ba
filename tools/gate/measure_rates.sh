#!/usr/bin/env bash
# The relative latency gate's false-alarm and miss rates (BENCHMARKS.md "Latency gate"):
# RUNS gate runs of the release build against itself (any failure is a false alarm), then RUNS
# of the build with the injected +25 % inference regression against it (any pass is a miss).
#
#   bash tools/gate/measure_rates.sh [RUNS=20] [OUT=/tmp/gate-rates] [KINDS="same slow"]
#
# Each run's reports are kept under OUT/{same,slow}/N, and each gate's lines in OUT/*.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20} out=${2:-/tmp/gate-rates} kinds=${3:-same slow}
mkdir -p "$out"
swift build -c release > /dev/null || exit 1
swift build -c release --scratch-path .build-slow -Xswiftc -DHOTPATH_INJECT_SLOW_INFERENCE > /dev/null || exit 1
base=.build/release/hotpath
for kind in $kinds; do
  head=$base; [ "$kind" = slow ] && head=.build-slow/release/hotpath
  passed=0
  for i in $(seq 1 "$runs"); do
    bash scripts/gate-ab.sh --head "$head" --base "$base" --keep "$out/$kind/$i" >> "$out/$kind.log" 2>&1
    rc=$?
    case $rc in
      0) passed=$((passed + 1)); echo "$kind run $i: pass" >> "$out/$kind.log" ;;
      1) echo "$kind run $i: FAIL" >> "$out/$kind.log" ;;
      *) echo "measure_rates: gate-ab exited $rc (not a verdict); see $out/$kind.log" >&2; exit 2 ;;
    esac
  done
  echo "$kind: $passed of $runs gate runs passed"
done | tee "$out/summary"
