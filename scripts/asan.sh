#!/usr/bin/env bash
# AddressSanitizer sweep of the hotpath binary (the XCTest binary cannot run under ASan: its
# malloc counter interposes malloc). Builds with --sanitize=address into .build-asan, then
# runs every model fixture, decode and book over every feed fixture (and ../shared/data when
# present), features, the demo, a short bench e2e, and truncated or mutated DBN and model
# files; fails on the first AddressSanitizer report. About three minutes.
# Usage: bash scripts/asan.sh   (from the repository root)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
swift build -c release --sanitize=address --scratch-path .build-asan 2>&1 | tail -1
A=".build-asan/release/hotpath"
export ASAN_OPTIONS=detect_leaks=0 HOTPATH_DEMO="$root/demo"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
runs=0
check() {  # check LABEL COMMAND...: run it, fail on an ASan report (exit codes 1-2 are fine)
    "${@:2}" > /dev/null 2> "$work/err"
    if grep -q "AddressSanitizer" "$work/err"; then echo "asan: $1"; head -20 "$work/err"; exit 1; fi
    runs=$((runs + 1))
}
M=Tests/Fixtures/models
for d in "$M"/*/; do
    k=$(basename "$d")
    model=$(ls "$d" | grep -E '^model\.(txt|json|onnx)$')
    x=$(ls "$d" | grep -E '^X\.f(64|32)$')
    check "bench model $k" "$A" bench model --model "$d$model" --input "$d$x" --json
done
for f in Tests/Fixtures/dbn/* Tests/Fixtures/itch/* ../shared/data/dbn/* ../shared/data/itch/*; do
    [ -f "$f" ] || continue
    check "decode $f" "$A" decode "$f" --limit 5000
    check "book $f" "$A" book "$f" --depth 5
done
esh4=../shared/data/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst
if [ -f "$esh4" ]; then
    check "features" "$A" bench features "$esh4" --loops 1 --json
    check "bench feed" "$A" bench feed "$esh4" --loops 2 --book --json
    zstd -dcq "$esh4" | head -c 300000 > "$work/esh4.dbn"
    python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]; r = random.Random(5)
b = open(f"{work}/esh4.dbn", "rb").read()
for k in range(20):
    c = bytearray(b[:r.randrange(100, len(b))])
    for _ in range(20): c[r.randrange(len(c))] = r.randrange(256)
    open(f"{work}/fz{k}.dbn", "wb").write(c)
PY
    for f in "$work"/fz*.dbn; do check "mutated $f" "$A" decode "$f"; check "mutated book $f" "$A" book "$f"; done
fi
python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]; r = random.Random(7)
for ext, p in (("txt", "Tests/Fixtures/models/lgb-63/model.txt"), ("json", "Tests/Fixtures/models/xgb-reg/model.json"),
               ("onnx", "Tests/Fixtures/models/mlp-relu-64-64/model.onnx")):
    b = open(p, "rb").read()
    for k in range(20):
        c = bytearray(b)
        if k % 3 == 0:
            for _ in range(5): c[r.randrange(len(c))] = r.choice(b"0123456789-.e naif")
        elif k % 3 == 1:
            c = c[:r.randrange(len(c))]
        else:
            i = r.randrange(len(c)); c[i:i] = bytes(r.randrange(256) for _ in range(8))
        open(f"{work}/mz{k}.{ext}", "wb").write(c)
PY
for f in "$work"/mz*.txt "$work"/mz*.json; do check "model $f" "$A" predict --model "$f" --input "$M/lgb-63/X.f64" --features 12; done
for f in "$work"/mz*.onnx; do check "model $f" "$A" predict --model "$f" --input "$M/mlp-relu-64-64/X.f32" --features 32; done
check "demo" "$A" demo
check "bench e2e" "$A" bench e2e --rate 200000 --seconds 1 --json
check "bench e2e, looped" "$A" bench e2e --rate 200000 --seconds 1 --session-messages 20000 --json
echo "asan: no reports in $runs runs"
