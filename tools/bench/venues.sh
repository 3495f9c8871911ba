#!/usr/bin/env bash
# Venue WebSocket messages into Events, HotPath against simdjson On-Demand, in one run:
#   tools/bench/venues.sh [ROUNDS] [LOOPS]
# For each venue's fixture session (Tests/Fixtures/venues), runs `hotpath bench venue` and
# tools/bench/venue_simdjson.cpp in alternation ROUNDS times (LOOPS passes over the session
# each) and prints the medians and the median of the per-round ratios; the checksums must
# agree (the same events from the same messages). Then, over TLS on loopback from the
# Python `websockets` peer, HotPath's receive-to-Event percentiles with TLS 1.3 and 1.2.
# Installs libsimdjson-dev and g++ when missing (Debian, root or sudo).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-9}
loops=${2:-100}
need=()
for pkg in libsimdjson-dev g++; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" > /dev/null
fi
swift build -c release --product hotpath 2>&1 | grep -E "error|warning: " || true
bin=.build/release/hotpath
sj=.build/venue_simdjson
g++ -O3 -march=native -std=c++17 -o "$sj" tools/bench/venue_simdjson.cpp -lsimdjson
python=${HOTPATH_LIVE_PYTHON:-.build-venv/live/bin/python}
echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "simdjson: $("$sj" kalshi Tests/Fixtures/venues/kalshi.session.jsonl 1 X | python3 -c 'import json,sys; print(json.load(sys.stdin)["parser"])')"
markets() {
  case $1 in
    coinbase) echo BTC-USD,ETH-USD ;;
    kalshi) echo KXFED-26DEC-T4.00,KXBTC-26DEC31-B99500 ;;
    polygon) echo AAPL,MSFT,SNDL ;;
  esac
}
for venue in coinbase kalshi polygon; do
  session=Tests/Fixtures/venues/$venue.session.jsonl
  m=$(markets $venue)
  pairs=()
  for _ in $(seq "$rounds"); do
    a=$("$bin" bench venue "$session" --venue "$venue" --markets "$m" --loops "$loops" --json)
    b=$("$sj" "$venue" "$session" "$loops" "$m")
    pairs+=("$a|$b")
  done
  python3 - "$venue" "${pairs[@]}" <<'PY'
import json, statistics, sys
venue, rows = sys.argv[1], [tuple(map(json.loads, p.split("|"))) for p in sys.argv[2:]]
if any(a["checksum"] != b["checksum"] for a, b in rows):
    sys.exit(f"{venue}: the checksums differ: the two do not extract the same events")
hp = [a["messages_per_second"] for a, _ in rows]
sj = [b["messages_per_second"] for _, b in rows]
ratio = sorted(a / b for a, b in zip(hp, sj))
print(f"{venue}: hotpath {statistics.median(hp) / 1e6:.2f} M msg/s, simdjson {statistics.median(sj) / 1e6:.2f} M msg/s; "
      f"ratio median {statistics.median(ratio):.2f} (range {ratio[0]:.2f}–{ratio[-1]:.2f}, {len(rows)} alternating rounds); "
      f"checksums equal")
PY
done
if ! "$python" -c 'import websockets, trustme' 2>/dev/null; then
  echo "latency: skipped (no Python with websockets and trustme; scripts/test.sh makes .build-venv/live)"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for venue in coinbase kalshi polygon; do
  python3 tools/live/make_${venue}_session.py --messages 100000 --seed 21 "$dir/session" "$dir/reference"
  for tls in 1.3 1.2; do
    handshake=--wait-subscribe
    [ "$venue" = polygon ] && handshake="--polygon-key pk-bench"
    # shellcheck disable=SC2086
    "$python" tools/live/ws_peer.py --certs "$dir" --session "$dir/session" $handshake --hold --timeout 120 \
      > "$dir/peer.out" 2>&1 &
    peer=$!
    for _ in $(seq 100); do grep -q listening "$dir/peer.out" 2>/dev/null && break; sleep 0.1; done
    port=$(awk '/listening/ {print $2}' "$dir/peer.out")
    POLYGON_API_KEY=pk-bench "$bin" bench venue \
      "wss://127.0.0.1:$port/ws?venue=$venue&markets=$(markets $venue)&ca_file=$dir/ca.pem&tls=$tls" --messages 100000
    kill "$peer" 2>/dev/null || true
    wait "$peer" 2>/dev/null || true
  done
done
