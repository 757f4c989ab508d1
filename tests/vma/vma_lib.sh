# Helpers for the vma-api integration tests; source after testlib.sh and
# nbd.sh.
#
# vma_start NAME [FLAGS...]   starts vma-api as tl process NAME on free
#                             ports; sets VMA (grpc host:port) and
#                             VMA_METRICS (host:port)
# vma_call METHOD JSON        calls VmaService/METHOD; prints the answer or
#                             grpcurl's error (Code: ... Message: ...)
# job_field ID EXPR           a field of GetJob's answer by a Python
#                             expression over `j` (missing numbers are 0)
# job_wait ID SECONDS         waits until the job has ended; prints phase
# job_wait_fraction ID F S    waits until (copied+zeroed)/total >= F
# relay_start NAME PORT TARGET [DELAY_MS]  tests/tools/tcp_relay.py on
#                             127.0.0.1:PORT

VMA_SERVICE=migratekit.vma.v1.VmaService

vma_start() {
  local _name=$1
  shift
  local _port _metrics
  _port=${VMA_PORT:-$(tl_free_port)}
  _metrics=${VMA_METRICS_PORT:-$(tl_free_port)}
  VMA_PORT=$_port
  VMA_METRICS_PORT=$_metrics
  tl_start "$_name" "$(tl_bin services/vma-api/vma-api)" \
    --grpc_listen="127.0.0.1:$_port" --metrics_listen="127.0.0.1:$_metrics" \
    --checkpoint_interval_ms=300 --job_retry_initial_ms=200 \
    --job_retry_max_ms=1000 "$@"
  tl_wait_port 127.0.0.1 "$_port" 30 || tl_log "vma-api $_name did not start"
  VMA=127.0.0.1:$_port
  VMA_METRICS=127.0.0.1:$_metrics
}

vma_call() {
  grpcurl -plaintext -max-time 60 -d "$2" "$VMA" "$VMA_SERVICE/$1" 2>&1
}

job_field() {
  vma_call GetJob "{\"job_id\":\"$1\"}" | python3 -c '
import json, sys
j = json.load(sys.stdin)
p = j.get("progress", {})
n = lambda k: int(p.get(k, 0))
print(eval(sys.argv[1]))' "$2"
}

job_ended() {
  local _phase
  _phase=$(job_field "$1" 'j.get("phase")' 2>/dev/null)
  [[ $_phase == JOB_PHASE_DONE || $_phase == JOB_PHASE_FAILED ||
    $_phase == JOB_PHASE_CANCELLED ]]
}

job_wait() {
  tl_wait_until "$2" job_ended "$1"
  job_field "$1" 'j.get("phase")'
}

job_reached() {
  local _ok
  _ok=$(job_field "$1" \
    "(n('bytes_copied') + n('bytes_zeroed')) >= $2 * n('bytes_total')")
  [[ $_ok == True ]]
}

job_wait_fraction() {
  tl_wait_until "$3" job_reached "$1" "$2"
}

relay_start() {
  tl_start "$1" python3 "$(tl_bin tests/tools/tcp_relay.py)" "$2" "$3" \
    --delay_ms "${4:-0}"
  tl_wait_port 127.0.0.1 "$2" 20 || tl_log "relay $1 did not start"
}
