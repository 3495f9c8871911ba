#!/usr/bin/env bash
# wire_to_signal over loopback: `serve` offers a demo session at each rate to `hotpath run`
# (the demo configuration made deterministic, signals out by UDP to a `listen`), and the
# run's report gives wire, tick_to_signal, egress and wire_to_signal beside the host-hiccup
# figures. Usage: tools/live/wire_to_signal.sh [MESSAGES] [RATES...]
# Prints one JSON line per rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.build/release/hotpath
messages=${1:-1000000}; shift || true
rates=("${@:-100000 1000000}")
[ $# -eq 0 ] && rates=(100000 1000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" gen itch --demo --messages "$messages" --out "$work/demo.itch" >/dev/null
port=$((31000 + RANDOM % 2000))
sed -e "s|path = \"model-|path = \"$(pwd)/demo/model-|" -e 's|^conflate = true.*|conflate = false|' \
    -e 's|^max_age_ms = .*|max_age_ms = 0|' -e 's|^kill_switch.*||' -e 's|^tick = 0.01|tick = 0.01\nclock = "exchange"|' \
    -e "s|^signals = \"\" .*|signals = \"\"\nurl = \"udp://127.0.0.1:$((port + 2))\"|" demo/config.toml > "$work/live.toml"
cat >> "$work/live.toml" <<TOML
[[feeds]]
url = "moldudp64://127.0.0.1:$port?rerequest=127.0.0.1:$((port + 1))"
TOML
for rate in "${rates[@]}"; do
  "$bin" listen "udp://127.0.0.1:$((port + 2))" --idle-timeout 5 > /dev/null 2> "$work/listen.err" &
  listener=$!
  "$bin" run --config "$work/live.toml" --idle-timeout 5 --report "$work/r.json" > /dev/null 2> "$work/run.err" &
  runner=$!
  sleep 1
  "$bin" serve moldudp64 "$work/demo.itch" --to "127.0.0.1:$port" --rerequest-port $((port + 1)) --rate "$rate" --linger 0.5 2> "$work/serve.err"
  wait $runner || true
  wait $listener || true
  python3 - "$work/r.json" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["stages"]
def pick(name):
    v = s.get(name, {})
    return {k: v.get(k) for k in ("count", "p50_ns", "p99_ns", "p999_ns")}
out = {"offered_msgs_per_s": int(sys.argv[2])}
for name in ("wire", "tick_to_signal", "egress", "wire_to_signal", "host_hiccup.feed", "host_hiccup.engine"):
    out[name] = pick(name)
c = r["counters"]
out["messages_lost"] = c.get("feed.moldudp64.messages_lost", c.get("moldudp64.messages_lost", 0))
out["signals_sent"] = c.get("egress.sent", 0)
print(json.dumps(out))
PY
done
