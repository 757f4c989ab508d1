#!/usr/bin/env bash
# Benchmark of the whole migration (not a test): `migctl migrate` (export
# created, job started on vma-api through the reverse forward, copy through
# tunnel-manager, export removed) against `nbdcopy` through `ssh -L`, side
# by side in one run, with the same source (nbdkit sparse-random, about
# half data), fresh targets served by the same export-manager's nbd-server,
# the same sshd and algorithms (aes128-ctr, hmac-sha2-256), on two paths:
#   plain  straight to sshd on loopback;
#   20ms   through a user-space relay that adds 20 ms of round-trip time
#          (a WAN; netem is not here), for the tunnel's control calls too.
# migrate runs without --verify (nbdcopy checks nothing either) and nbdcopy
# with --flush (the copy engine flushes before a copy counts). Each path
# runs both twice in alternating order; the faster run of each counts, and
# every target is checked against the source's digest.
#
#   tests/bench/migrate_bench.sh [SIZE]        # default 4G
set -uo pipefail
cd "$(dirname "$0")/../.."
size=${1:-4G}

bazel build //services/... //clients/migctl 2>&1 | grep -E '^ERROR' && exit 1
bin=$(bazel info bazel-bin 2>/dev/null)

source tests/lib/testlib.sh
source tests/lib/sshd.sh
source tests/lib/nbd.sh
tl_init

# No client is cut here: let nbdkit use its threads.
NBDKIT_SAFE_THREADS=
nbdkit_start source sparse-random "$size" seed=42 percent=50
source_uri=$NBD_URI
bytes=$(nbd_size "$source_uri")
want=$(nbd_digest "$source_uri")

paths=(plain 20ms)
nbd=$(tl_free_port)
exports=127.0.0.1:$(tl_free_port)
vma=127.0.0.1:$(tl_free_port)
declare -A reverse forward ssh_forward
for path in "${paths[@]}"; do
  reverse[$path]=$(tl_free_port)
  forward[$path]=$(tl_free_port)
  ssh_forward[$path]=$(tl_free_port)
done

# OMA: sshd (PermitListen for each tunnel's reverse forward), export-manager.
sshd_setup "$TL_TMP/sshd" "$nbd" "${reverse[plain]} ${reverse[20ms]}" \
  >/dev/null || exit 1
sshd_start || exit 1
tl_start export-manager "$bin/services/exports/export-manager" \
  --grpc_listen="$exports" --metrics_listen="127.0.0.1:$(tl_free_port)" \
  --nbd_listen="127.0.0.1:$nbd" --state_dir="$TL_TMP/exports" \
  --allow_regular_files
relay_port=$(tl_free_port)
tl_start relay python3 tests/tools/tcp_relay.py "$relay_port" "$SSHD_PORT" \
  --delay_ms 10

# VMA: vma-api; per path a tunnel-manager and an ssh -L to the same sshd.
tl_start vma-api "$bin/services/vma-api/vma-api" --grpc_listen="$vma" \
  --metrics_listen="127.0.0.1:$(tl_free_port)" --state_dir="$TL_TMP/vma"
for path in "${paths[@]}"; do
  port=$SSHD_PORT known_hosts=$SSHD_KNOWN_HOSTS
  if [[ $path == 20ms ]]; then
    port=$relay_port
    known_hosts=$TL_TMP/known_hosts.relay
    sed "s/\]:$SSHD_PORT /]:$relay_port /" "$SSHD_KNOWN_HOSTS" >"$known_hosts"
  fi
  tl_start "tunnel-$path" "$bin/services/tunnel/tunnel-manager" \
    --grpc_listen="127.0.0.1:$(tl_free_port)" \
    --metrics_listen="127.0.0.1:$(tl_free_port)" --oma_host=127.0.0.1 \
    --oma_port="$port" --user="$SSHD_USER" --identity="$SSHD_IDENTITY" \
    --known_hosts="$known_hosts" \
    --local_forwards="127.0.0.1:${forward[$path]}:127.0.0.1:$nbd" \
    --remote_forwards="127.0.0.1:${reverse[$path]}:$vma"
  tl_start "ssh-$path" ssh -N -p "$port" -i "$SSHD_IDENTITY" \
    -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ExitOnForwardFailure=yes -c aes128-ctr \
    -m hmac-sha2-256 \
    -L "127.0.0.1:${ssh_forward[$path]}:127.0.0.1:$nbd" "$SSHD_USER@127.0.0.1"
done
for path in "${paths[@]}"; do
  for port in "${reverse[$path]}" "${forward[$path]}" "${ssh_forward[$path]}"; do
    tl_wait_port 127.0.0.1 "$port" 30 || { echo "port $port never opened"; exit 1; }
  done
done

migctl() {
  "$bin/clients/migctl/migctl" --exports-address="$exports" "$@"
}

# Runs one copy onto a fresh file; prints its wall-clock seconds, or
# nothing if it failed (its output is in the log).
run_copy() {
  local tool=$1 path=$2 run=$3 id=$1-$2-$3 target out start
  target=$TL_TMP/$id.img
  truncate -s "$bytes" "$target"
  sync
  if [[ $tool == migrate ]]; then
    start=$EPOCHREALTIME
    out=$(migctl --vma-address="127.0.0.1:${reverse[$path]}" migrate \
      --volume-id "$id" --device "$target" --source "$source_uri" \
      --target-address "127.0.0.1:${forward[$path]}" 2>&1) ||
      { tl_log "migrate on $path failed: $out"; return 1; }
  else
    out=$(migctl exports create --volume-id "$id" --device "$target" 2>&1) ||
      { tl_log "exports create failed: $out"; return 1; }
    start=$EPOCHREALTIME
    out=$(nbdcopy --flush "$source_uri" \
      "nbd://127.0.0.1:${ssh_forward[$path]}/migration-vol-$id" 2>&1) ||
      { tl_log "nbdcopy on $path failed: $out"; return 1; }
  fi
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }'
  [[ $tool == migrate ]] || migctl exports delete --volume-id "$id" >/dev/null
}

tl_log "source: $bytes bytes, sha256 $want"
printf '\n| path | nbdcopy via ssh -L, s | migctl migrate, s | migrate/nbdcopy | digests |\n'
printf '|---|---|---|---|---|\n'
for path in "${paths[@]}"; do
  declare -A best=()
  verdict=equal
  run=0
  for tool in nbdcopy migrate migrate nbdcopy; do
    run=$((run + 1))
    seconds=$(run_copy "$tool" "$path" "$run") || { verdict=failed; continue; }
    if [[ -z ${best[$tool]:-} ]] ||
      awk -v a="$seconds" -v b="${best[$tool]}" 'BEGIN { exit !(a < b) }'; then
      best[$tool]=$seconds
    fi
    got=$(sha256sum "$TL_TMP/$tool-$path-$run.img" | cut -d' ' -f1)
    [[ $got == "$want" ]] || verdict="$tool differs"
    rm -f "$TL_TMP/$tool-$path-$run.img"
  done
  awk -v p="$path" -v a="${best[nbdcopy]:-0}" -v b="${best[migrate]:-0}" \
    -v v="$verdict" 'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %s |\n",
      p, a, b, (a > 0 ? b / a : 0), v }'
done
tl_cleanup
