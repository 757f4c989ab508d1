#!/usr/bin/env bash
# Benchmark of export-manager (not a test): create latency, from the call
# to served (as export-manager measures it: validated, written, server
# reloaded, a libnbd connection sees the size), p50 and p99, one create at
# a time and 50 at once, and reloads (SIGHUPs plus process replacements)
# per create, for each backend.
#
#   bazel build //services/exports:export-manager && tests/bench/exports_bench.sh [N]
#
# N: creates one at a time (default 50).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tests/lib/testlib.sh"
source "$repo/tests/lib/exports.sh"
EM_BIN=$repo/bazel-bin/services/exports/export-manager
tl_init
count=${1:-50}

reloads() {
  echo $(( $(em_metric migratekit_nbd_reloads_total) + $(em_metric migratekit_nbd_restarts_total) ))
}

# p50 and p99 of the seconds= fields of the "created" lines since line $1.
percentiles() {
  tail -n +"$1" "$TL_TMP/$EM_NAME.log" | grep -o 'created .*seconds=[0-9.]*' |
    sed 's/.*seconds=//' | sort -n | awk '{v[NR]=$1} END {
      p50=v[int((NR-1)*0.50)+1]; p99=v[int((NR-1)*0.99)+1];
      printf "%d creates: p50 %.1f ms, p99 %.1f ms", NR, p50*1000, p99*1000}'
}

printf '| backend | mode | creates | p50 | p99 | reloads per create |\n'
printf '|---|---|---|---|---|---|\n'
for backend in nbd-server nbdkit; do
  em_start "bench-$backend" --backend="$backend" >/dev/null 2>&1
  mkdir -p "$TL_TMP/disks-$backend"

  line=$(($(wc -l <"$TL_TMP/$EM_NAME.log") + 1))
  before=$(reloads)
  for i in $(seq 1 "$count"); do
    truncate -s 1M "$TL_TMP/disks-$backend/s$i.img"
    em_create "s$i" "$TL_TMP/disks-$backend/s$i.img" >/dev/null
  done
  after=$(reloads)
  result=$(percentiles "$line")
  awk -v b="$backend" -v r="$result" -v n="$count" -v d="$((after - before))" \
    'BEGIN { split(r, f, /[ ,]+/); printf "| %s | one at a time | %d | %s ms | %s ms | %.2f |\n", b, n, f[4], f[7], d / n }'

  line=$(($(wc -l <"$TL_TMP/$EM_NAME.log") + 1))
  before=$(reloads)
  pids=()
  for i in $(seq 1 50); do
    truncate -s 1M "$TL_TMP/disks-$backend/p$i.img"
  done
  for i in $(seq 1 50); do
    em_create "p$i" "$TL_TMP/disks-$backend/p$i.img" >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  after=$(reloads)
  result=$(percentiles "$line")
  awk -v b="$backend" -v r="$result" -v d="$((after - before))" \
    'BEGIN { split(r, f, /[ ,]+/); printf "| %s | 50 at once | 50 | %s ms | %s ms | %.2f |\n", b, f[4], f[7], d / 50 }'
  em_stop >/dev/null 2>&1
done
