#!/usr/bin/env bash
# tunnel-manager against a real OpenSSH sshd set up like the OMA's: bytes
# through the forward and the reverse forward (1 byte to 1 GiB, 100
# connections at once), a real gRPC call through the reverse forward,
# status, health and metrics, host key pinning, bad configuration, and
# sshd restarting under it.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/sshd.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/tunnel/tunnel_env.sh"
tl_init

oma_echo=$(tl_free_port)  # behind the forward, on the "OMA"
reverse=$(tl_free_port)   # the OMA listens here (PermitListen)
reverse_grpc=$(tl_free_port)
vma_echo=$(tl_free_port)  # behind the reverse forward, on the "VMA"
local_port=$(tl_free_port)
tm_grpc=$(tl_free_port)

sshd_setup "$TL_TMP/sshd" "$oma_echo" "$reverse $reverse_grpc" ||
  tl_fail "sshd_setup"
sshd_start || tl_fail "sshd did not start"
tl_start oma_echo python3 "$BYTE_CHECK" echo "$oma_echo"
tl_start vma_echo python3 "$BYTE_CHECK" echo "$vma_echo"
tl_wait_port 127.0.0.1 "$oma_echo"
tl_wait_port 127.0.0.1 "$vma_echo"

# The second reverse forward leads to tunnel-manager's own gRPC API: a real
# gRPC server on the VMA that the OMA calls through the tunnel.
TUNNEL_GRPC_PORT=$tm_grpc tunnel_start tm \
  --local_forwards="127.0.0.1:$local_port:127.0.0.1:$oma_echo" \
  --remote_forwards="127.0.0.1:$reverse:127.0.0.1:$vma_echo,127.0.0.1:$reverse_grpc:127.0.0.1:$tm_grpc"

comes_up_with_every_forward() {
  tunnel_wait_up tm 30 || tl_fail "not UP: $(tunnel_status tm)"
  local status
  status=$(tunnel_status tm)
  tl_expect_contains "$status" "\"host_key_fingerprint\": \"$SSHD_FINGERPRINT\"" \
    "status"
  tl_expect_contains "$status" '"cipher": "aes128-ctr"' "status"
  tl_expect_contains "$status" '"mac": "hmac-sha2-256"' "status"
  tl_expect_eq 3 "$(grep -c FORWARD_STATE_ESTABLISHED <<<"$status")" \
    "established forwards"
  tl_expect_eq SERVING "$(tunnel_health tm)" "health"
  tl_expect_eq 1 "$(tunnel_metric tm migratekit_tunnel_up)" "tunnel_up"
  tl_expect_eq 1 "$(tunnel_metric tm "migratekit_tunnel_forward_up{forward=\"reverse[$reverse]\"}")" \
    "forward_up reverse"
}

bytes(){ python3 "$BYTE_CHECK" send "$@"; }

one_byte_both_ways() {
  tl_expect_eq "connections=1 ok=1" "$(bytes "$local_port" 1)" "forward"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$reverse" 1)" "reverse"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$local_port" 0)" "forward, 0 bytes"
}

one_gib_through_the_forward() {
  tl_expect_eq "connections=1 ok=1" "$(bytes "$local_port" 1073741824)" \
    "1 GiB echoed through the forward"
}

one_gib_through_the_reverse_forward() {
  tl_expect_eq "connections=1 ok=1" "$(bytes "$reverse" 1073741824)" \
    "1 GiB echoed through the reverse forward"
}

hundred_connections_at_once() {
  tl_expect_eq "connections=100 ok=100" \
    "$(bytes "$local_port" 1048576 --parallel 100)" "forward"
  tl_expect_eq "connections=100 ok=100" \
    "$(bytes "$reverse" 1048576 --parallel 100)" "reverse"
  # Every channel was closed again.
  tl_wait_until 10 eval '[[ $(tunnel_metric tm migratekit_tunnel_live_channels) == 0 ]]' ||
    tl_fail "channels left open: $(tunnel_metric tm migratekit_tunnel_live_channels)"
}

grpc_health_through_the_reverse_forward() {
  local answer
  answer=$(grpcurl -plaintext -max-time 10 \
    -d '{"service":"migratekit.tunnel.v1.TunnelService"}' \
    "127.0.0.1:$reverse_grpc" grpc.health.v1.Health/Check 2>&1)
  tl_expect_contains "$answer" '"SERVING"' "health through 127.0.0.1:$reverse_grpc"
}

counters_add_up() {
  local sent
  sent=$(tunnel_metric tm "migratekit_tunnel_forward_bytes_total{direction=\"sent\",forward=\"forward[$local_port]\"}")
  # 1 GiB, 100 MiB and 1 byte went out through the forward, at least.
  python3 -c "import sys; sys.exit(0 if float('$sent') >= 1073741824 + 104857600 else 1)" ||
    tl_fail "bytes sent through forward[$local_port]: $sent"
  tl_expect_contains "$(tunnel_status tm)" '"connects_total": "1"' "status"
}

changed_unknown_and_pinned_host_keys() {
  local other=$TL_TMP/other_known_hosts log
  # Unknown: a known_hosts with no line for this server.
  echo "[127.0.0.1]:1 $(cut -d' ' -f1,2 "$SSHD_DIR/ssh_host_ed25519_key.pub")" \
    >"$other"
  tunnel_start unknown --known_hosts="$other" --backoff_max_seconds=60 \
    --local_forwards= \
    --remote_forwards=127.0.0.1:$reverse:127.0.0.1:$vma_echo
  # Changed: the line names this server with another key.
  ssh-keygen -q -t ed25519 -N '' -f "$TL_TMP/other_key"
  echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$TL_TMP/other_key.pub")" \
    >"$TL_TMP/changed_known_hosts"
  tunnel_start changed --known_hosts="$TL_TMP/changed_known_hosts" \
    --backoff_max_seconds=60 \
    --local_forwards= --remote_forwards=127.0.0.1:$reverse:127.0.0.1:$vma_echo
  # Pinned by fingerprint, with a known_hosts that would not match.
  tunnel_start pinned --known_hosts="$other" \
    --host_key_fingerprint="$SSHD_FINGERPRINT" \
    --local_forwards="127.0.0.1:$(tl_free_port):127.0.0.1:$oma_echo" \
    --remote_forwards=

  tunnel_wait_up pinned 30 || tl_fail "pinned: not UP: $(tunnel_status pinned)"
  tl_wait_until 20 grep -q "host key" "$TL_TMP/unknown.log"
  tl_wait_until 20 grep -q "host key" "$TL_TMP/changed.log"
  log=$(cat "$TL_TMP/unknown.log")
  tl_expect_contains "$log" "is unknown" "unknown key log"
  tl_expect_contains "$log" "$SSHD_FINGERPRINT" "unknown key log"
  log=$(cat "$TL_TMP/changed.log")
  tl_expect_contains "$log" "changed" "changed key log"
  tl_expect_contains "$log" "$SSHD_FINGERPRINT" "changed key log"
  tl_expect_contains "$(tunnel_status changed)" "$SSHD_FINGERPRINT" "status"
  tl_expect_eq 1 "$(tunnel_metric changed 'migratekit_tunnel_connect_failures_total{reason="host_key"}')" \
    "host_key failures (retried only at the slowest pace)"
  tl_expect_eq NOT_SERVING "$(tunnel_health changed)" "health"
  [[ $(tunnel_state unknown) != TUNNEL_STATE_UP ]] || tl_fail "unknown key: UP"
  # Nothing was added to the known_hosts files.
  tl_expect_eq 1 "$(wc -l <"$other")" "lines in known_hosts"
  tl_stop unknown
  tl_stop changed
  tl_stop pinned
}

# One line naming the setting, and a non-zero exit, before anything starts.
bad() {
  local want=$1 out rc
  shift
  out=$(timeout 20 "$TM_BIN" --oma_host=127.0.0.1 --oma_port="$SSHD_PORT" \
    --identity="$SSHD_IDENTITY" --known_hosts="$SSHD_KNOWN_HOSTS" \
    --grpc_listen="127.0.0.1:$(tl_free_port)" \
    --metrics_listen="127.0.0.1:$(tl_free_port)" \
    --local_forwards="127.0.0.1:$(tl_free_port):127.0.0.1:1" "$@" 2>&1)
  rc=$?
  [[ $rc != 0 && $rc != 124 ]] || tl_fail "$*: exit code $rc"
  tl_expect_eq 1 "$(grep -c . <<<"$out")" "lines printed for $*"
  tl_expect_contains "$out" "$want" "message for $*"
}

bad_configuration_is_one_line_and_nonzero() {
  cp "$SSHD_IDENTITY" "$TL_TMP/open_key"
  chmod 644 "$TL_TMP/open_key"
  bad "--local_forwards" --local_forwards=10808:127.0.0.1
  bad "--remote_forwards" --remote_forwards=127.0.0.1:x:127.0.0.1:1
  bad "two forwards listen" \
    --local_forwards="127.0.0.1:$local_port:a:1,127.0.0.1:$local_port:b:2"
  bad "127.0.0.1:$local_port" --local_forwards="127.0.0.1:$local_port:a:1"
  bad "too open" --identity="$TL_TMP/open_key"
  bad "--identity" --identity="$TL_TMP/no_such_key"
  bad "does not resolve" --oma_host=no-such-host.invalid
  bad "--known_hosts" --known_hosts="$TL_TMP/no_such_file"
}

watch_and_reconnect() {
  local before watch
  before=$(tunnel_metric tm migratekit_tunnel_connects_total)
  grpcurl -plaintext -max-time 15 "$(tunnel_grpc tm)" \
    migratekit.tunnel.v1.TunnelService/WatchStatus >"$TL_TMP/watch.out" 2>&1 &
  watch=$!
  sleep 1
  grpcurl -plaintext -max-time 5 -d '{"reason":"test asks"}' \
    "$(tunnel_grpc tm)" migratekit.tunnel.v1.TunnelService/Reconnect ||
    tl_fail "Reconnect failed"
  again() {
    [[ $(tunnel_metric tm migratekit_tunnel_connects_total) != "$before" ]] &&
      _tunnel_is_up tm
  }
  tl_wait_until 30 again || tl_fail "no new session: $(tunnel_status tm)"
  sleep 1
  kill "$watch" 2>/dev/null
  wait "$watch" 2>/dev/null
  # The stream saw the tunnel leave UP and come back.
  local states
  states=$(grep -o '"state": "TUNNEL_STATE_[A-Z]*"' "$TL_TMP/watch.out" |
    tr '\n' ' ')
  tl_log "watched: $states"
  tl_expect_contains "$states" "TUNNEL_STATE_CONNECTING" "watched states"
  tl_expect_contains "$(cat "$TL_TMP/tm.log")" 'reason="test asks"' "log"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$local_port" 1048576)" "after"
}

sshd_restarted_and_the_tunnel_returns() {
  local pid before
  pid=$(tl_pid tm)
  before=$(tunnel_metric tm migratekit_tunnel_connects_total)
  sshd_restart || tl_fail "sshd did not restart"
  wait_reconnected() {
    [[ $(tunnel_metric tm migratekit_tunnel_connects_total) != "$before" ]] &&
      _tunnel_is_up tm
  }
  tl_wait_until 60 wait_reconnected ||
    tl_fail "no new session: $(tunnel_status tm)"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$local_port" 10485760)" \
    "forward after restart"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$reverse" 10485760)" \
    "reverse after restart"
  tl_expect_eq "$pid" "$(tl_pid tm)" "same tunnel-manager process"
  kill -0 "$pid" || tl_fail "tunnel-manager died"
}

tl_case "comes up with every forward: status, health, metrics" \
  comes_up_with_every_forward
tl_case "1 byte (and 0) through forward and reverse, exact" one_byte_both_ways
tl_case "1 GiB through the forward, exact" one_gib_through_the_forward
tl_case "1 GiB through the reverse forward, exact" \
  one_gib_through_the_reverse_forward
tl_case "100 connections at once each way, exact, all closed after" \
  hundred_connections_at_once
tl_case "a gRPC health call through the reverse forward" \
  grpc_health_through_the_reverse_forward
tl_case "byte counters and connects add up" counters_add_up
tl_case "host key unknown and changed are refused, pinned connects" \
  changed_unknown_and_pinned_host_keys
tl_case "bad configuration is one line and a non-zero exit" \
  bad_configuration_is_one_line_and_nonzero
tl_case "WatchStatus streams changes; Reconnect builds a new session" \
  watch_and_reconnect
tl_case "sshd restarted: the tunnel comes back by itself" \
  sshd_restarted_and_the_tunnel_returns
tl_finish
