#!/usr/bin/env bash
# Installs what HotPath needs on a fresh Debian machine (as root), only when it is missing:
# the C libraries the CSupport target links (liburing, libnuma, OpenSSL, zstd, zlib, libnats),
# nats-server (the fleet tests start one on loopback), the zstd CLI,
# valgrind with binutils (the latency gate's instruction counts), python3-venv (the venv in
# which the test command installs Databento's official client), and tzdata (the session clock's
# time zones).
# The Swift 6.3 toolchain must already be on PATH.
set -euo pipefail
need=()
for pkg in liburing-dev libnuma-dev libssl-dev libzstd-dev zlib1g-dev libnats-dev nats-server zstd gzip valgrind binutils python3-venv tzdata; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift (6.1 or later) is not on PATH" >&2; exit 1; }
