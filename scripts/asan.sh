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
# Live: a MoldUDP64 receiver and a server fed malformed datagrams (a network peer's bad
# input), then a faulty session (drops, reordering, duplicates) over loopback.
itch=Tests/Fixtures/itch
gen="$work/live.itch"
"$A" gen itch --messages 50000 --out "$gen" > /dev/null
port=$((33000 + RANDOM % 2000))
"$A" decode "moldudp64://127.0.0.1:$port?rerequest=127.0.0.1:$((port + 1))&timeout_ms=20&retries=1" --idle-timeout 3 \
    > /dev/null 2> "$work/live.err" &
receiver=$!
sleep 0.5
python3 - "$port" <<'PY'
import random, socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = random.Random(7)
for i in range(3000):
    kind = i % 4
    if kind == 0:
        b = bytes(r.randrange(256) for _ in range(r.randrange(0, 64)))
    elif kind == 1:   # a header whose count promises more messages than the packet holds
        b = b"GARBAGE   " + struct.pack(">QH", r.randrange(1, 1 << 40), r.randrange(1, 0xFFFE)) + bytes(r.randrange(256) for _ in range(r.randrange(0, 40)))
    elif kind == 2:   # message lengths that run past the end
        b = b"GARBAGE   " + struct.pack(">QH", i, 2) + struct.pack(">H", 0xFFFF) + b"x" * r.randrange(0, 30)
    else:
        b = bytes(r.randrange(256) for _ in range(r.randrange(20, 1500)))
    s.sendto(b, ("127.0.0.1", port))
PY
"$A" serve moldudp64 "$gen" --to "127.0.0.1:$port" --rerequest-port $((port + 1)) --rate 200000 \
    --drop 0.02 --reorder 0.02 --duplicate 0.02 --linger 0.3 > /dev/null 2> "$work/serve.err" &
server=$!
sleep 0.3
python3 - "$((port + 1))" <<'PY'
import random, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = random.Random(8)
for i in range(500):
    s.sendto(bytes(r.randrange(256) for _ in range(r.randrange(0, 64))), ("127.0.0.1", int(sys.argv[1])))
PY
wait $server; wait $receiver
for f in live.err serve.err; do
    if grep -q "AddressSanitizer" "$work/$f"; then echo "asan: live ($f)"; head -20 "$work/$f"; exit 1; fi
    runs=$((runs + 1))
done
grep -q "bad_packets" "$work/live.err" || { echo "asan: live: the receiver did not count the malformed packets:"; cat "$work/live.err"; exit 1; }

echo "asan: no reports in $runs runs"
