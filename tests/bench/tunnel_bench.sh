#!/usr/bin/env bash
# Benchmark (not a test): tunnel-manager against (a) OpenSSH ssh -L/-R and
# (b) a minimal blocking single-channel libssh2 forwarder, side by side in
# one run, through one real sshd on loopback, all with aes128-ctr and
# hmac-sha2-256. Prints a table and the ratios c/a and c/b.
#
#   tests/bench/tunnel_bench.sh [STREAM_MIB]     # default 2048 (2 GiB)
#   TM_FLAGS="--channel_buffer_kib=1024" tests/bench/tunnel_bench.sh
#
# Measures: MB/s of one stream; aggregate MB/s of 16 parallel streams and
# the max/min ratio of their rates; p50/p99 of a gRPC health call through
# the reverse forward; CPU seconds per GiB of each forwarding process (the
# ssh client, the libssh2 forwarder, tunnel-manager; sshd's side is the same
# for all); tunnel-manager's peak RSS with 64 channels open. Single figures on a shared machine are noisy;
# compare only within one run.
set -uo pipefail
cd "$(dirname "$0")/../.."
stream_mib=${1:-2048}

bazel build //services/tunnel:tunnel-manager //tests/bench:libssh2_forwarder \
  //tests/bench:grpc_health_latency 2>&1 | grep -E '^ERROR' && exit 1
bin=$(bazel info bazel-bin 2>/dev/null)
TM=$bin/services/tunnel/tunnel-manager
FORWARDER=$bin/tests/bench/libssh2_forwarder
LATENCY=$bin/tests/bench/grpc_health_latency
BYTE_CHECK=$PWD/tests/tools/byte_check.py

source tests/lib/testlib.sh
source tests/lib/sshd.sh
tl_init

sink=$(tl_free_port)
la=$(tl_free_port)
lb=$(tl_free_port)
lc=$(tl_free_port)
ra=$(tl_free_port)
rc=$(tl_free_port)
tm_grpc=$(tl_free_port)
sshd_setup "$TL_TMP/sshd" "$sink" "$ra $rc" >/dev/null || exit 1
sshd_start || exit 1
tl_start sink python3 "$BYTE_CHECK" sink "$sink"

# (c) tunnel-manager; its own gRPC port is the VMA-side server that both
# reverse forwards lead to.
tl_start tm "$TM" --oma_host=127.0.0.1 --oma_port="$SSHD_PORT" \
  --user="$SSHD_USER" --identity="$SSHD_IDENTITY" \
  --known_hosts="$SSHD_KNOWN_HOSTS" --grpc_listen="127.0.0.1:$tm_grpc" \
  --metrics_listen="127.0.0.1:$(tl_free_port)" \
  --local_forwards="127.0.0.1:$lc:127.0.0.1:$sink" \
  --remote_forwards="127.0.0.1:$rc:127.0.0.1:$tm_grpc" ${TM_FLAGS:-}
# (a) OpenSSH.
tl_start ssh ssh -N -p "$SSHD_PORT" -i "$SSHD_IDENTITY" \
  -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
  -o BatchMode=yes -o ExitOnForwardFailure=yes -c aes128-ctr \
  -m hmac-sha2-256 -L "127.0.0.1:$la:127.0.0.1:$sink" \
  -R "127.0.0.1:$ra:127.0.0.1:$tm_grpc" "$SSHD_USER@127.0.0.1"
# (b) the minimal libssh2 forwarder.
tl_start forwarder "$FORWARDER" "$SSHD_PORT" "$SSHD_USER" "$SSHD_IDENTITY" \
  "$lb" "$sink"
for port in "$sink" "$la" "$lb" "$lc" "$ra" "$rc"; do
  tl_wait_port 127.0.0.1 "$port" 30 || { echo "port $port never opened"; exit 1; }
done
tm_pid=$(tl_pid tm)

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
stream() { python3 "$BYTE_CHECK" stream "$@"; }
bytes=$((stream_mib * 1048576))

# Three rounds of a, b, c in turn; each keeps its best round, so that a
# burst of load from elsewhere on a shared machine does not decide.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
best() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }
# CPU seconds per GiB of the forwarding process, over all rounds.
declare -A cpu_total=([a]=0 [b]=0 [c]=0)
declare -A pid=([a]=$(tl_pid ssh) [b]=$(tl_pid forwarder) [c]=$tm_pid)
declare -A port=([a]=$la [b]=$lb [c]=$lc)
declare -A one=([a]=0 [b]=0 [c]=0)
for round in 1 2 3; do
  echo "one stream of $stream_mib MiB, round $round ..." >&2
  for x in a b c; do
    cpu0=$(cpu "${pid[$x]}")
    one[$x]=$(best "${one[$x]}" "$(stream "${port[$x]}" "$bytes" | field aggregate_mbps)")
    cpu_total[$x]=$(python3 -c "print(${cpu_total[$x]} + $(cpu "${pid[$x]}") - $cpu0)")
  done
done
one_a=${one[a]} one_b=${one[b]} one_c=${one[c]}
per_gib() { python3 -c "print('%.2f' % (${cpu_total[$1]} / (3 * $stream_mib / 1024)))"; }

echo "16 streams ..." >&2
per16=$((bytes / 16))
out_a=$(stream "$la" "$per16" --parallel 16)
out_c=$(stream "$lc" "$per16" --parallel 16)
agg_a=$(field aggregate_mbps <<<"$out_a")
agg_c=$(field aggregate_mbps <<<"$out_c")
spread() { python3 -c "print('%.2f' % ($(field max_mbps <<<"$1") / max(0.001, $(field min_mbps <<<"$1"))))"; }
spread_a=$(spread "$out_a")
spread_c=$(spread "$out_c")

echo "gRPC health through the reverse forwards ..." >&2
latency=$("$LATENCY" 3000 "127.0.0.1:$ra" "127.0.0.1:$rc")
lat_a=$(grep "^127.0.0.1:$ra " <<<"$latency")
lat_c=$(grep "^127.0.0.1:$rc " <<<"$latency")

echo "64 channels ..." >&2
stream "$lc" $((32 * 1048576)) --parallel 64 >/dev/null &
streams=$!
rss_max=0
while kill -0 "$streams" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$tm_pid/status")
  ((rss > rss_max)) && rss_max=$rss
  sleep 0.1
done

ratio() { python3 -c "print('%.2f' % ($1 / max(0.001, $2)))"; }
printf '\n%-44s %12s %12s %12s\n' "" "(a) ssh" "(b) libssh2" "(c) tunnel"
printf '%-44s %12s %12s %12s\n' "one ${stream_mib} MiB stream, MB/s" "$one_a" "$one_b" "$one_c"
printf '%-44s %12s %12s %12s\n' "16 streams aggregate, MB/s" "$agg_a" "-" "$agg_c"
printf '%-44s %12s %12s %12s\n' "16 streams max/min rate" "$spread_a" "-" "$spread_c"
printf '%-44s %12s %12s %12s\n' "reverse gRPC health p50, ms" \
  "$(field p50_ms <<<"$lat_a")" "-" "$(field p50_ms <<<"$lat_c")"
printf '%-44s %12s %12s %12s\n' "reverse gRPC health p99, ms" \
  "$(field p99_ms <<<"$lat_a")" "-" "$(field p99_ms <<<"$lat_c")"
printf '%-44s %12s %12s %12s\n' "forwarder CPU s per GiB (one stream)" \
  "$(per_gib a)" "$(per_gib b)" "$(per_gib c)"
printf '%-44s %12s %12s %12s\n' "tunnel-manager peak RSS, 64 channels, MiB" "-" "-" "$((rss_max / 1024))"
echo
echo "c/a one stream:     $(ratio "$one_c" "$one_a")"
echo "c/b one stream:     $(ratio "$one_c" "$one_b")   (want >= 0.9)"
echo "c/a 16 streams:     $(ratio "$agg_c" "$agg_a")"
echo "c/a reverse p99:    $(ratio "$(field p99_ms <<<"$lat_c")" "$(field p99_ms <<<"$lat_a")")   (want <= 1.5)"
echo "c 16-stream max/min: $spread_c   (want <= 1.5); c RSS 64 channels: $((rss_max / 1024)) MiB (want <= 64)"
