#!/usr/bin/env bash
# Times HotPath beside LightGBM's C API, lleaves and TL2cgen on the same model and rows, in
# one run (../shared/tools/peers/tree_peers.sh compiles and times the peers; then
# `hotpath bench model` times HotPath, both pinned to the last CPU, batch 1).
# Usage: bash tools/models/bench_vs_peers.sh lgb-nano|lgb-seed|lgb-cat   (from the repo root)
set -euo pipefail
kind="${1:?usage: bench_vs_peers.sh lgb-nano|lgb-seed|lgb-cat}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
cp -r "$root/Tests/Fixtures/models/$kind" "$work/"
swift build -c release --package-path "$root" >/dev/null
bash "$root/../shared/tools/peers/tree_peers.sh" "$work/$kind" 2>/dev/null
echo "{\"engine\":\"hotpath\",$("$root/.build/release/hotpath" bench model --model "$work/$kind/model.txt" \
  --input "$work/$kind/X.f64" --features 32 --ref "$work/$kind/ref.f64" --json | cut -c2-)"
