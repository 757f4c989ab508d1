#!/usr/bin/env bash
# Benchmark of the copy engine (not a test): migratekit-copy against
# nbdcopy, side by side in one run, from the same source (nbdkit
# sparse-random, about half data) onto fresh targets of the same
# nbd-server, on three paths:
#   loopback  straight to nbd-server;
#   ssh -L    through OpenSSH's ssh -L to a real sshd (aes128-ctr,
#             hmac-sha2-256), as the tunnel carries NBD;
#   ssh+20ms  the same, with a user-space relay between ssh and sshd that
#             adds 20 ms of round-trip time (a WAN; netem is not here).
# Both tools run with their defaults (4 connections, zero runs written as
# NBD zeroes) and flush the target at the end (the engine always does: a
# copy counts only once it is durable; nbdcopy with --flush), twice each in alternating order; every target is checked
# against the source's digest. Prints the better wall-clock seconds of
# each, the engine/nbdcopy ratio, and that run's CPU seconds and peak RSS.
#
#   tests/bench/copy_bench.sh [SIZE]        # default 4G
#   ENGINE_FLAGS="--requests=32" PATHS="ssh" tests/bench/copy_bench.sh 2G
set -uo pipefail
cd "$(dirname "$0")/../.."
size=${1:-4G}

bazel build //services/vma-api:migratekit-copy 2>&1 | grep -E '^ERROR' && exit 1
COPY=$(bazel info bazel-bin 2>/dev/null)/services/vma-api/migratekit-copy

source tests/lib/testlib.sh
source tests/lib/sshd.sh
source tests/lib/nbd.sh
tl_init

# No client is cut here: let nbdkit use its threads.
NBDKIT_SAFE_THREADS=
nbdkit_start source sparse-random "$size" seed=42 percent=50
source_uri=$NBD_URI
read -r -a paths <<<"${PATHS:-loopback ssh ssh+20ms}"
exports=()
for path in "${paths[@]}"; do
  for tool in nbdcopy engine; do
    exports+=("$tool-$path" "$TL_TMP/$tool-$path.img")
  done
done
for ((i = 1; i < ${#exports[@]}; i += 2)); do
  truncate -s "$size" "${exports[i]}"
done
nbd_server_start target "${exports[@]}"
nbd_port=$NBD_PORT

# ssh -L straight to sshd, and a second ssh -L through the delaying relay.
sshd_setup "$TL_TMP/sshd" "$nbd_port" >/dev/null || exit 1
sshd_start || exit 1
relay_port=$(tl_free_port)
tl_start relay python3 tests/tools/tcp_relay.py "$relay_port" "$SSHD_PORT" \
  --delay_ms 10
tl_wait_port 127.0.0.1 "$relay_port" || exit 1
declare -A forward
for path in ssh ssh+20ms; do
  port=$SSHD_PORT
  known_hosts=$SSHD_KNOWN_HOSTS
  if [[ $path == ssh+20ms ]]; then
    port=$relay_port
    known_hosts=$TL_TMP/known_hosts.relay
    sed "s/\]:$SSHD_PORT /]:$relay_port /" "$SSHD_KNOWN_HOSTS" >"$known_hosts"
  fi
  forward[$path]=$(tl_free_port)
  tl_start "ssh-$path" ssh -N -p "$port" -i "$SSHD_IDENTITY" \
    -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ExitOnForwardFailure=yes -c aes128-ctr \
    -m hmac-sha2-256 -L "127.0.0.1:${forward[$path]}:127.0.0.1:$nbd_port" \
    "$SSHD_USER@127.0.0.1"
  tl_wait_port 127.0.0.1 "${forward[$path]}" 20 || exit 1
done
forward[loopback]=$nbd_port

bytes=$(nbd_size "$source_uri")
data=$(nbdinfo --map "$source_uri" |
  awk '$3 == 0 { n += $2 } END { printf "%.0f", n / 1048576 }')
want=$(nbd_digest "$source_uri")
tl_log "source: $bytes bytes, $data MiB of data, sha256 $want"

# Runs one copy; prints "SECONDS CPU_SECONDS PEAK_RSS_MIB" of the whole
# process, measured the same way for both tools.
run_copy() {
  local tool=$1 path=$2 target out
  target=nbd://127.0.0.1:${forward[$path]}/$tool-$path
  local command=(nbdcopy --flush "$source_uri" "$target")
  [[ $tool == engine ]] &&
    command=("$COPY" --source="$source_uri" --target="$target" ${ENGINE_FLAGS:-})
  out=$(/usr/bin/time -f 'time: %e %U %S %M' "${command[@]}" 2>&1) ||
    { tl_log "$tool on $path failed: $out"; return 1; }
  awk '$1 == "time:" { printf "%.2f %.2f %.0f\n", $2, $3 + $4, $5 / 1024 }' \
    <<<"$out"
}

printf '\n| path | nbdcopy s | engine s | engine/nbdcopy | CPU s nbdcopy / engine | RSS MiB nbdcopy / engine | digests |\n'
printf '|---|---|---|---|---|---|---|\n'
for path in "${paths[@]}"; do
  declare -A seconds=() cpu=() rss=()
  verdict=equal
  # Two rounds in opposite order; the faster run of each tool counts.
  for tool in nbdcopy engine engine nbdcopy; do
    result=$(run_copy "$tool" "$path") || { verdict=failed; continue; }
    read -r s c r <<<"$result"
    if [[ -z ${seconds[$tool]:-} ]] ||
      awk -v a="$s" -v b="${seconds[$tool]}" 'BEGIN { exit !(a < b) }'; then
      seconds[$tool]=$s cpu[$tool]=$c rss[$tool]=$r
    fi
    got=$(sha256sum "$TL_TMP/$tool-$path.img" | cut -d' ' -f1)
    [[ $got == "$want" ]] || verdict="$tool differs"
    rm -f "$TL_TMP/$tool-$path.img" && truncate -s "$bytes" "$TL_TMP/$tool-$path.img"
    # The next copy must not pay for this one's writeback.
    sync
  done
  awk -v p="$path" -v a="${seconds[nbdcopy]:-0}" -v b="${seconds[engine]:-0}" \
    -v ca="${cpu[nbdcopy]:-0}" -v cb="${cpu[engine]:-0}" \
    -v ra="${rss[nbdcopy]:-0}" -v rb="${rss[engine]:-0}" -v v="$verdict" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %.2f / %.2f | %d / %d | %s |\n",
             p, a, b, (a > 0 ? b / a : 0), ca, cb, ra, rb, v }'
done
tl_cleanup
