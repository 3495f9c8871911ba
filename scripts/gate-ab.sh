#!/usr/bin/env bash
# The relative latency gate: `hotpath bench e2e` run alternately by the build under test (head)
# and a base build, then `hotpath gate --ab` on the pairs (median of the pair ratios per stage).
#
#   scripts/gate-ab.sh [--pairs N] [--head BIN] [--base BIN] [--slow-head] [--keep DIR]
#
# Without --base, the base is the commit named in .ci/baseline (HEAD~1 when the file names
# none), extracted with `git archive` into .build-base/src and built there (git-ignored).
# --slow-head builds the head with HOTPATH_INJECT_SLOW_INFERENCE (every prediction 25 % slower)
# into .build-slow: the injected regression the gate's miss rate is measured with.
# Exit: 0 the gate holds, 1 a regression, 2 an input the gate cannot read, 3 no base could be
# built (the first commit, a shallow clone, a base that does not compile): the caller falls
# back to the instruction budgets.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=40 head=.build/release/hotpath base= slow=0 keep=
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --head) head=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --slow-head) slow=1; shift ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "gate-ab: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$slow" -eq 1 ]; then
  swift build -c release --scratch-path .build-slow -Xswiftc -DHOTPATH_INJECT_SLOW_INFERENCE 2>&1 | grep -E "error|Compiling|Build" || true
  head=.build-slow/release/hotpath
fi
if [ -z "$base" ]; then
  ref=$(grep -v '^\s*#' .ci/baseline 2>/dev/null | grep -m1 . || true)
  ref=${ref:-HEAD~1}
  if ! commit=$(git rev-parse -q --verify "$ref^{commit}"); then
    echo "gate-ab: no base: $ref is not a commit in this clone" >&2; exit 3
  fi
  if [ "$(cat .build-base/commit 2>/dev/null || true)" != "$commit" ]; then
    rm -rf .build-base && mkdir -p .build-base/src
    git archive "$commit" | tar -x -C .build-base/src
  fi
  echo "gate-ab: base $ref = $(git log -1 --format='%h %s' "$commit")"
  if ! swift build -c release --package-path .build-base/src > .build-base/build.log 2>&1; then
    tail -5 .build-base/build.log >&2; echo "gate-ab: the base ($ref) does not build" >&2; exit 3
  fi
  echo "$commit" > .build-base/commit
  base=.build-base/src/.build/release/hotpath
fi

dir=${keep:-$(mktemp -d)}
mkdir -p "$dir"
run() {  # run BIN OUT: one bench e2e; exit 1 means only that the demo's own budgets failed
  "$1" bench e2e --rate 200000 --seconds 0.3 --json > "$2" || [ $? -eq 1 ]
}
heads=() bases=()
for i in $(seq 1 "$pairs"); do
  # Alternate which build runs first in a pair, so an order effect cancels too.
  if [ $((i % 2)) -eq 1 ]; then run "$head" "$dir/h$i.json"; run "$base" "$dir/b$i.json"
  else run "$base" "$dir/b$i.json"; run "$head" "$dir/h$i.json"; fi
  heads+=("$dir/h$i.json") bases+=("$dir/b$i.json")
done
set +e
"$head" gate --ab "${heads[@]}" --base "${bases[@]}" --budgets .ci/budgets.toml
rc=$?
set -e
[ -n "$keep" ] || rm -rf "$dir"
exit $rc
