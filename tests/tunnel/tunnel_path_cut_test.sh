#!/usr/bin/env bash
# Field cases T4 and T6 (and ExitOnForwardFailure): the path to the OMA
# goes through a TCP relay the test controls (tests/tools/tcp_relay.py),
# which can freeze every flow (packets dropped: nothing closed, nothing
# reset) or forget idle flows like a NAT. Timings are scaled down:
# keepalive 1 s x 3, sshd ClientAliveInterval 3 s x 3.
#   T6a an idle tunnel behind a path that forgets flows idle for 4 s stays
#       up (keepalives keep it busy).
#   T6b every packet dropped for 8 s: the session is declared dead within
#       about keepalive x count, then comes back with both forwards.
#   T4  after a short cut the old session's sshd child still holds the
#       reverse port: the refusal shows in status, health and metrics, the
#       forward is retried on a new session while a transfer on the old one
#       goes on, and comes back once sshd lets the old child go.
#   stall: the path swallows what the VMA sends while the server's bytes
#       still arrive (so the peer does not look silent): the send that never
#       completes is found by the stall timer and the session rebuilt.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/sshd.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/tunnel/tunnel_env.sh"
tl_init

MiB=1048576
oma_echo=$(tl_free_port)
vma_echo=$(tl_free_port)
reverse=$(tl_free_port)
not_permitted=$(tl_free_port)
local_port=$(tl_free_port)
nat_local=$(tl_free_port)
relay=$(tl_free_port)
nat_relay=$(tl_free_port)

SSHD_EXTRA_CONFIG=$'ClientAliveInterval 3\nClientAliveCountMax 3'
sshd_setup "$TL_TMP/sshd" "$oma_echo" "$reverse" || tl_fail "sshd_setup"
sshd_start || tl_fail "sshd did not start"
tl_start oma_echo python3 "$BYTE_CHECK" echo "$oma_echo"
tl_start vma_echo python3 "$BYTE_CHECK" echo "$vma_echo"
tl_start relay python3 "$TCP_RELAY" "$relay" "$SSHD_PORT"
tl_start nat_relay python3 "$TCP_RELAY" "$nat_relay" "$SSHD_PORT" \
  --idle_drop 4
for port in "$oma_echo" "$vma_echo" "$relay" "$nat_relay"; do
  tl_wait_port 127.0.0.1 "$port"
done

common=(--host_key_fingerprint="$SSHD_FINGERPRINT"
  --keepalive_interval_seconds=1 --keepalive_count=3
  --connect_timeout_seconds=5 --backoff_initial_seconds=0.5
  --backoff_max_seconds=2)
tunnel_start tm --oma_port="$relay" "${common[@]}" \
  --local_forwards="127.0.0.1:$local_port:127.0.0.1:$oma_echo" \
  --remote_forwards="127.0.0.1:$reverse:127.0.0.1:$vma_echo"
tunnel_start nat --oma_port="$nat_relay" "${common[@]}" \
  --local_forwards="127.0.0.1:$nat_local:127.0.0.1:$oma_echo" \
  --remote_forwards=
tunnel_wait_up tm 30 || tl_fail "tm not up: $(tunnel_status tm)"
tunnel_wait_up nat 30 || tl_fail "nat not up: $(tunnel_status nat)"

bytes() { python3 "$BYTE_CHECK" send "$@"; }
connects() { tunnel_metric "$1" migratekit_tunnel_connects_total; }

t6a_idle_behind_a_forgetful_path() {
  tl_expect_eq "connections=1 ok=1" "$(bytes "$nat_local" $MiB)" "before"
  local cpu_before cpu_after
  cpu_before=$(proc_cpu_seconds "$(tl_pid nat)")
  sleep 15
  cpu_after=$(proc_cpu_seconds "$(tl_pid nat)")
  # Idle means asleep in poll(): a session with no reverse forward still
  # reads what the server sends (keepalive replies), or poll would spin.
  python3 -c "import sys; sys.exit(0 if $cpu_after - $cpu_before < 1.5 else 1)" ||
    tl_fail "idle tunnel-manager used $cpu_before -> $cpu_after s CPU in 15 s"
  tl_expect_eq 1 "$(connects nat)" "sessions established"
  tl_expect_eq TUNNEL_STATE_UP "$(tunnel_state nat)" "state after 15 s idle"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$nat_local" $MiB)" "after"
}

_not_up() { [[ $(tunnel_state tm) != TUNNEL_STATE_UP ]]; }

t6b_silence_is_declared_dead_and_the_tunnel_returns() {
  local pid start took before
  pid=$(tl_pid tm)
  before=$(connects tm)
  kill -USR1 "$(tl_pid relay)"
  start=$SECONDS
  tl_wait_until 30 _not_up || tl_fail "still UP 30 s into the cut"
  took=$((SECONDS - start))
  tl_log "T6b: declared dead after ~${took} s (keepalive 1 s x 3)"
  ((took <= 8)) || tl_fail "declared dead after ${took} s, want about 3"
  tl_expect_contains "$(tunnel_status tm)" "silent" "last error"
  sleep $((8 - took > 0 ? 8 - took : 0))
  kill -USR2 "$(tl_pid relay)"
  # Back within the old sshd child's ClientAlive time-out plus backoff.
  tunnel_wait_up tm 60 || tl_fail "not UP again: $(tunnel_status tm)"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$local_port" $MiB)" "forward"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$reverse" $MiB)" "reverse"
  tl_expect_eq "$pid" "$(tl_pid tm)" "same process"
  ((${before:-0} < $(connects tm))) || tl_fail "no new session"
}

_refusal_visible() {
  local status
  status=$(tunnel_status tm)
  [[ $status == *TUNNEL_STATE_DEGRADED* && $status == *FORWARD_STATE_FAILED* ]]
}

t4_old_session_still_holds_the_reverse_port() {
  local status transfer
  kill -USR1 "$(tl_pid relay)"
  tl_wait_until 30 _not_up || tl_fail "still UP 30 s into the cut"
  kill -USR2 "$(tl_pid relay)"

  tl_wait_until 20 _refusal_visible ||
    tl_fail "the refused reverse forward never showed: $(tunnel_status tm)"
  status=$(tunnel_status tm)
  tl_expect_contains "$status" '"refused"' "failures_by_reason"
  tl_expect_eq NOT_SERVING "$(tunnel_health tm)" "health while degraded"
  tl_expect_eq 0 "$(tunnel_metric tm "migratekit_tunnel_forward_up{forward=\"reverse[$reverse]\"}")" \
    "forward_up of the reverse forward"
  python3 -c "import sys; sys.exit(0 if float('$(tunnel_metric tm 'migratekit_tunnel_forward_failures_total{forward="reverse['"$reverse"']",reason="refused"}')' or 0) >= 1 else 1)" ||
    tl_fail "forward_failures_total not counted"

  # A transfer on the degraded session lives through the retries.
  bytes "$local_port" $((64 * MiB)) --rate $((8 * MiB)) \
    >"$TL_TMP/t4_transfer.out" &
  transfer=$!
  tunnel_wait_up tm 60 || tl_fail "the reverse forward never came back"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$reverse" $MiB)" \
    "reverse forward after the retry"
  wait "$transfer"
  tl_expect_eq "connections=1 ok=1" "$(cat "$TL_TMP/t4_transfer.out")" \
    "transfer across the retry"
  tl_expect_eq SERVING "$(tunnel_health tm)" "health"
}

_stalled() { [[ $(tunnel_status stall) == *"session stalled"* ]]; }

a_send_that_never_completes_is_a_dead_session() {
  local stall_relay stall_local transfer before
  stall_relay=$(tl_free_port)
  stall_local=$(tl_free_port)
  tl_start stall_relay python3 "$TCP_RELAY" "$stall_relay" "$SSHD_PORT"
  tl_wait_port 127.0.0.1 "$stall_relay"
  tunnel_start stall --oma_port="$stall_relay" \
    --host_key_fingerprint="$SSHD_FINGERPRINT" --stall_timeout_seconds=2 \
    --backoff_initial_seconds=0.5 --backoff_max_seconds=2 \
    --local_forwards="127.0.0.1:$stall_local:127.0.0.1:$oma_echo" \
    --remote_forwards=
  tunnel_wait_up stall 30 || tl_fail "not up: $(tunnel_status stall)"
  before=$(connects stall)

  kill -HUP "$(tl_pid stall_relay)"
  bytes "$stall_local" $((256 * MiB)) >/dev/null 2>&1 &
  transfer=$!
  tl_wait_until 60 _stalled || tl_fail "no stall seen: $(tunnel_status stall)"
  kill "$transfer" 2>/dev/null
  wait "$transfer" 2>/dev/null
  back() { [[ $(connects stall) != "$before" ]] && _tunnel_is_up stall; }
  tl_wait_until 60 back || tl_fail "no new session: $(tunnel_status stall)"
  tl_expect_eq "connections=1 ok=1" "$(bytes "$stall_local" $MiB)" \
    "the forward on the new session"
  tl_stop stall
}

exit_on_forward_failure() {
  local out rc
  out=$(timeout 60 "$TM_BIN" --oma_host=127.0.0.1 --oma_port="$SSHD_PORT" \
    --user="$SSHD_USER" --identity="$SSHD_IDENTITY" \
    --known_hosts="$SSHD_KNOWN_HOSTS" --exit_on_forward_failure \
    --grpc_listen="127.0.0.1:$(tl_free_port)" \
    --metrics_listen="127.0.0.1:$(tl_free_port)" --local_forwards= \
    --remote_forwards="127.0.0.1:$not_permitted:127.0.0.1:$vma_echo" 2>&1)
  rc=$?
  tl_expect_eq 1 "$rc" "exit code"
  tl_expect_contains "$out" "reverse[$not_permitted]: refused" "log"
}

tl_case "T6a: an idle tunnel behind a path that forgets idle flows stays up" \
  t6a_idle_behind_a_forgetful_path
tl_case "T6b: dropped packets: declared dead within keepalive x count, back after" \
  t6b_silence_is_declared_dead_and_the_tunnel_returns
tl_case "T4: the refused reverse forward shows, is retried, comes back" \
  t4_old_session_still_holds_the_reverse_port
tl_case "a send that never completes: the stall timer rebuilds the session" \
  a_send_that_never_completes_is_a_dead_session
tl_case "--exit_on_forward_failure exits 1 when a forward is refused" \
  exit_on_forward_failure
tl_finish
