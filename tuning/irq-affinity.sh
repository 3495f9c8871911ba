#!/usr/bin/env bash
# Moves every movable IRQ, the default IRQ affinity and the unbound-workqueue mask off the hot
# cores given as a kernel CPU list (e.g. 2-3). Run as root. IRQs the kernel refuses to move
# (per-CPU timers, managed IRQs) are listed, not treated as errors.
set -euo pipefail
hot="${1:?usage: irq-affinity.sh HOT_CORES (e.g. 2-3)}"
online=$(cat /sys/devices/system/cpu/online)
expand() { local out=() p; IFS=, read -ra parts <<<"$1"; for p in "${parts[@]}"; do
  if [[ $p == *-* ]]; then out+=($(seq "${p%-*}" "${p#*-}")); else out+=("$p"); fi; done; echo "${out[@]}"; }
house=()
for c in $(expand "$online"); do [[ " $(expand "$hot") " == *" $c "* ]] || house+=("$c"); done
[ ${#house[@]} -gt 0 ] || { echo "irq-affinity: no housekeeping core left outside $hot" >&2; exit 2; }
list=$(IFS=,; echo "${house[*]}")
mask=0; for c in "${house[@]}"; do mask=$((mask | (1 << c))); done
printf '%x\n' "$mask" > /proc/irq/default_smp_affinity
for d in /proc/irq/[0-9]*; do
  echo "$list" > "$d/smp_affinity_list" 2>/dev/null || echo "irq ${d##*/}: not movable"
done
printf '%x\n' "$mask" > /sys/devices/virtual/workqueue/cpumask 2>/dev/null || echo "workqueue cpumask: not writable"
echo "IRQs and workqueues now on CPUs $list"
