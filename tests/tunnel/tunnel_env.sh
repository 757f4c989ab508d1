# Shared by the tunnel tests: a tunnel-manager started against the sshd of
# tests/lib/sshd.sh, and ways to look at it from outside (grpcurl,
# /metrics, /proc). Source after testlib.sh and sshd.sh.
#
#   tunnel_start NAME [FLAGS...]   starts tunnel-manager as tl_start NAME on
#       free gRPC and metrics ports (TM_GRPC_NAME / TM_METRICS_NAME) aimed
#       at $SSHD_PORT with $SSHD_IDENTITY and $SSHD_KNOWN_HOSTS; FLAGS come
#       last and win. TUNNEL_GRPC_PORT, if set, is the gRPC port to use
#       (for a forward that must point at it); it is unset afterwards.
#   tunnel_status NAME             GetStatus as JSON.
#   tunnel_state NAME              TUNNEL_STATE_UP, ..._DEGRADED, ...
#   tunnel_health NAME             SERVING / NOT_SERVING of TunnelService.
#   tunnel_wait_up NAME [SECONDS]  waits for UP (default 30 s).
#   tunnel_metric NAME TEXT        the value of the first metric line
#                                  starting with TEXT.
#   proc_rss_kib PID, proc_cpu_seconds PID

TM_BIN=$(tl_bin services/tunnel/tunnel-manager)
BYTE_CHECK=$(tl_bin tests/tools/byte_check.py)
TCP_RELAY=$(tl_bin tests/tools/tcp_relay.py)

_tm_var() { echo "TM_${1}_${2//[^A-Za-z0-9_]/_}"; }

tunnel_start() {
  local name=$1 grpc metrics
  shift
  grpc=${TUNNEL_GRPC_PORT:-$(tl_free_port)}
  metrics=$(tl_free_port)
  unset TUNNEL_GRPC_PORT
  printf -v "$(_tm_var GRPC "$name")" %s "127.0.0.1:$grpc"
  printf -v "$(_tm_var METRICS "$name")" %s "127.0.0.1:$metrics"
  tl_start "$name" "$TM_BIN" --oma_host=127.0.0.1 --oma_port="$SSHD_PORT" \
    --user="$SSHD_USER" --identity="$SSHD_IDENTITY" \
    --known_hosts="$SSHD_KNOWN_HOSTS" --grpc_listen="127.0.0.1:$grpc" \
    --metrics_listen="127.0.0.1:$metrics" --backoff_initial_seconds=0.2 \
    --backoff_max_seconds=2 --log_level=debug "$@"
  tl_wait_port 127.0.0.1 "$grpc" 20
}

tunnel_grpc() { local v; v=$(_tm_var GRPC "$1"); echo "${!v}"; }

tunnel_status() {
  grpcurl -plaintext -max-time 5 "$(tunnel_grpc "$1")" \
    migratekit.tunnel.v1.TunnelService/GetStatus
}

tunnel_state() {
  tunnel_status "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("state",""))'
}

tunnel_health() {
  grpcurl -plaintext -max-time 5 \
    -d '{"service":"migratekit.tunnel.v1.TunnelService"}' \
    "$(tunnel_grpc "$1")" grpc.health.v1.Health/Check |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))'
}

_tunnel_is_up() { [[ $(tunnel_state "$1") == TUNNEL_STATE_UP ]]; }

tunnel_wait_up() { tl_wait_until "${2:-30}" _tunnel_is_up "$1"; }

tunnel_metric() {
  local v
  v=$(_tm_var METRICS "$1")
  curl -fsS "http://${!v}/metrics" | grep -F "$2" | grep -v '^#' |
    head -1 | awk '{print $NF}'
}

proc_rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

proc_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / hz}' \
    "/proc/$1/stat"
}
