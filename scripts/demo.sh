#!/usr/bin/env bash
# The main job: install what is missing, build the release binary, then `hotpath demo`:
# a deterministic synthetic ITCH session through the full pipeline (feed → book → features →
# LightGBM + MLP ensemble → signals → risk gates) with the bundled models, printing signals
# and the per-stage latency table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release 2>&1 | grep -E "error|warning:" || true
bin=.build/release/hotpath
[ -x "$bin" ] || { echo "demo: build failed" >&2; exit 1; }
"$bin" demo
