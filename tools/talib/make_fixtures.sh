#!/usr/bin/env bash
# TA-Lib's indicator columns over the daily OHLCV files in ../shared/data/ohlcv, from
# ../shared/tools/peers/talib_reference.py (ta-lib 0.8.2), zstd-compressed.
# Run from the repository root: bash tools/talib/make_fixtures.sh
set -euo pipefail
peers="$(cd "$(dirname "$0")/../../../shared/tools/peers" && pwd)"
PY="$("$peers/setup.sh" | tail -1)/bin/python"
for f in orcl-1995-2014 nvda-1999-2014 yhoo-1996-2015; do
  "$PY" "$peers/talib_reference.py" "$peers/../../data/ohlcv/$f.txt" | zstd -q -19 -f -o "Tests/Fixtures/talib/$f.talib.csv.zst"
done
