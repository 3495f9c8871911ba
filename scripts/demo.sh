#!/usr/bin/env bash
# The main job, for now: install what is missing, build the release binary, audit this host
# against the low-latency profile and run the core self-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release 2>&1 | grep -E "error|warning:" || true
bin=.build/release/hotpath
[ -x "$bin" ] || { echo "demo: build failed" >&2; exit 1; }
"$bin" tune check
echo
"$bin" bench core
