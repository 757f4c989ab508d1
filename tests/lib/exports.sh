# The OMA side for a test in one call: export-manager with its own NBD
# server (nbd-server by default, or nbdkit) on free ports, state in a temp
# dir, killed at exit. Source after testlib.sh and tl_init; the test target
# needs "//services/exports:export-manager" in its data and
# "//tests/lib:exports" in its deps.
#
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/exports.sh"
#   tl_init
#   em_start oma                       # or: em_start oma --backend=nbdkit
#   em_create 42 "$TL_TMP/disk.img"    # prints the Export as JSON
#   nbdinfo --size "nbd://$EM_NBD/migration-vol-42"
#   em_delete 42
#
# em_start NAME [FLAG...]  starts export-manager NAME (--allow_regular_files
#     is on) and waits until its NBD server is up. Sets EM_GRPC and EM_NBD
#     (host:port), EM_METRICS (host:port of /metrics), EM_STATE (its state
#     dir), EM_NAME. Flags are passed on (they win over the defaults).
# em_restart [FLAG...]   starts the same manager again on the same ports
#     and state dir (after em_stop or a kill).
# em_call METHOD JSON    calls ExportService/METHOD with grpcurl; prints the
#     answer (errors too); returns grpcurl's status.
# em_create VOLUME_ID DEVICE [READ_ONLY]   CreateExport; prints the Export.
# em_delete VOLUME_ID    DeleteExport.
# em_server_pid          the pid of the NBD server's main process.
# em_metric NAME         the value of one metric line (NAME with labels).
# em_stop [SIGNAL]       stops the manager (TERM: it stops its server too).

EM_BIN=$(tl_bin services/exports/export-manager)

em_start() {
  EM_NAME=$1
  shift
  EM_STATE="$TL_TMP/$EM_NAME"
  EM_GRPC=127.0.0.1:$(tl_free_port)
  EM_METRICS=127.0.0.1:$(tl_free_port)
  EM_NBD=127.0.0.1:$(tl_free_port)
  EM_FLAGS=("$@")
  mkdir -p "$EM_STATE"
  EM_ALL_STATES+=("$EM_STATE")
  trap 'em_kill_servers; tl_cleanup' EXIT
  em_restart
}

em_restart() {
  # Keep the log of an earlier run of the same manager.
  [[ -f "$TL_TMP/$EM_NAME.log" ]] &&
    cat "$TL_TMP/$EM_NAME.log" >>"$TL_TMP/$EM_NAME.earlier.log"
  tl_start "$EM_NAME" "$EM_BIN" --grpc_listen="$EM_GRPC" \
    --metrics_listen="$EM_METRICS" --nbd_listen="$EM_NBD" \
    --state_dir="$EM_STATE" --allow_regular_files "${EM_FLAGS[@]}" "$@"
  tl_wait_port "${EM_GRPC%:*}" "${EM_GRPC##*:}" 30 &&
    tl_wait_until 30 em_serving || {
    tl_log "export-manager $EM_NAME did not become SERVING"
    return 1
  }
}

em_serving() {
  grpcurl -plaintext -d '{"service":"migratekit.exports.v1.ExportService"}' \
    "$EM_GRPC" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'
}

em_call() {
  grpcurl -plaintext -emit-defaults -max-time 120 -d "$2" "$EM_GRPC" \
    "migratekit.exports.v1.ExportService/$1" 2>&1
}

# JSON of a request; any id or path, escaped.
em_json() {
  python3 -c 'import json, sys
keys = sys.argv[1::2]; values = sys.argv[2::2]
print(json.dumps({k: (v == "true" if k == "read_only" else v)
                  for k, v in zip(keys, values)}))' "$@"
}

em_create() {
  em_call CreateExport "$(em_json volume_id "$1" device_path "$2" \
    read_only "${3:-false}")"
}

em_delete() { em_call DeleteExport "$(em_json volume_id "$1")"; }

em_server_pid() {
  local file
  for file in "${1:-$EM_STATE}"/nbd-server.pid "${1:-$EM_STATE}"/nbdkit.pid; do
    [[ -s $file ]] && { tr -d ' \n' <"$file"; return 0; }
  done
  return 1
}

em_metric() {
  curl -fsS "http://$EM_METRICS/metrics" | grep -F "$1 " | grep -v '^#' |
    awk '{print $2}' | head -n 1
}

em_stop() { tl_stop "$EM_NAME" "${1:-TERM}" 15; }

EM_ALL_STATES=()

em_kill_servers() {
  local pid state
  for state in "${EM_ALL_STATES[@]}"; do
    pid=$(em_server_pid "$state" 2>/dev/null) || continue
    # Only a server of ours: its command line names our state dir.
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$state"; then
      kill -TERM "$pid" 2>/dev/null
    fi
  done
}
