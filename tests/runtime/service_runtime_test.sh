#!/usr/bin/env bash
# One service binary on the common runtime, seen from outside with real
# tools: grpcurl through reflection (field case A1), the health service, a
# real Prometheus scraping its metrics, promtool, and its shutdown paths.
#
# Usage: service_runtime_test.sh BINARY SERVICE_FULL_NAME
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
tl_init

binary=$(tl_bin "$1")
extra=()
service=$2
name=$(basename "$binary")
grpc_port=$(tl_free_port)
metrics_port=$(tl_free_port)
grpc=127.0.0.1:$grpc_port

# tunnel-manager needs an OMA to aim at: a port nobody listens on, so that it
# retries in the background, and a key of its own.
if [[ $name == tunnel-manager ]]; then
  ssh-keygen -q -t ed25519 -N '' -f "$TL_TMP/id_ed25519"
  extra=(--oma_host=127.0.0.1 --oma_port="$(tl_free_port)"
    --identity="$TL_TMP/id_ed25519" --host_key_fingerprint=SHA256:none
    --local_forwards= --remote_forwards=127.0.0.1:9081:127.0.0.1:8081)
fi

# export-manager runs an NBD server: keep it and its files off the defaults.
if [[ $name == export-manager ]]; then
  extra=(--state_dir="$TL_TMP/exports" --nbd_listen="127.0.0.1:$(tl_free_port)")
fi

# vma-api warns on every start without a state directory (jobs in memory
# only); give it one, so that a start's only line is the one under test.
if [[ $name == vma-api ]]; then
  extra=(--state_dir="$TL_TMP/vma-state")
fi
tl_start "$name" "$binary" "${extra[@]}" --grpc_listen="$grpc" \
  --metrics_listen="127.0.0.1:$metrics_port"
tl_wait_port 127.0.0.1 "$grpc_port" || tl_log "$name did not start"

lists_its_service_health_and_reflection() {
  local listed
  listed=$(grpcurl -plaintext "$grpc" list)
  tl_expect_contains "$listed" "$service" "grpcurl list"
  tl_expect_contains "$listed" "grpc.health.v1.Health" "grpcurl list"
  tl_expect_contains "$listed" "grpc.reflection.v1alpha.ServerReflection" \
    "grpcurl list"
}

describes_every_listed_service() {
  local listed one described
  listed=$(grpcurl -plaintext "$grpc" list) || return 1
  [[ -n "$listed" ]] || tl_fail "nothing listed"
  for one in $listed; do
    if ! described=$(grpcurl -plaintext "$grpc" describe "$one" 2>&1); then
      tl_fail "describe $one: $described"
      continue
    fi
    tl_expect_contains "$described" "$one is a service" "describe $one"
  done
}

health_check_is_serving() {
  local answer
  answer=$(grpcurl -plaintext "$grpc" grpc.health.v1.Health/Check)
  tl_expect_contains "$answer" '"SERVING"' "overall health"
  # The service's own status says whether it can do its work; it must be
  # known to the health service either way.
  answer=$(grpcurl -plaintext -d "{\"service\":\"$service\"}" "$grpc" \
    grpc.health.v1.Health/Check 2>&1)
  tl_expect_contains "$answer" "\"status\"" "health of $service"
  answer=$(grpcurl -plaintext -d '{"service":"no.such.Service"}' "$grpc" \
    grpc.health.v1.Health/Check 2>&1)
  tl_expect_contains "$answer" "NotFound" "health of an unknown service"
}

prometheus_scrapes_it() {
  local prom_port config answer
  prom_port=$(tl_free_port)
  config=$TL_TMP/prometheus.yml
  cat >"$config" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: service
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
YAML
  tl_start prometheus prometheus --config.file="$config" \
    --storage.tsdb.path="$TL_TMP/prometheus-data" \
    --web.listen-address="127.0.0.1:$prom_port"
  query_up() {
    curl -fsS "http://127.0.0.1:$prom_port/api/v1/query?query=up" |
      grep -q '"value":\[[0-9.]*,"1"\]'
  }
  tl_wait_until 30 query_up || tl_fail "prometheus never saw up == 1: $(
    curl -sS "http://127.0.0.1:$prom_port/api/v1/query?query=up")"
  # Its exit status on SIGTERM is none of this test's business.
  tl_stop prometheus || true
}

promtool_finds_nothing_to_say() {
  local text lint
  text=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics") ||
    tl_fail "GET /metrics failed"
  tl_expect_contains "$text" "# TYPE" "metrics"
  lint=$(promtool check metrics <<<"$text" 2>&1) ||
    tl_fail "promtool check metrics: $lint"
  tl_expect_eq "" "$lint" "promtool check metrics output"
}

a_taken_port_is_one_line_and_nonzero() {
  local out rc
  out=$(timeout 10 "$binary" "${extra[@]}" --grpc_listen="$grpc" \
    --metrics_listen="127.0.0.1:$(tl_free_port)" 2>&1)
  rc=$?
  [[ $rc != 0 && $rc != 124 ]] || tl_fail "exit code $rc, want non-zero"
  tl_expect_eq 1 "$(grep -c . <<<"$out")" "lines printed"
  tl_expect_contains "$out" "in use" "message"
  tl_expect_contains "$out" "$grpc" "message"
  out=$(timeout 10 "$binary" "${extra[@]}" --grpc_listen="127.0.0.1:$(tl_free_port)" \
    --metrics_listen="127.0.0.1:$metrics_port" 2>&1)
  rc=$?
  [[ $rc != 0 && $rc != 124 ]] || tl_fail "exit code $rc, want non-zero"
  tl_expect_eq 1 "$(grep -c . <<<"$out")" "lines printed"
  tl_expect_contains "$out" "127.0.0.1:$metrics_port" "message"
}

help_lists_flags_with_defaults() {
  local out
  out=$("$binary" "${extra[@]}" --help 2>&1)
  tl_expect_eq 0 "$?" "--help exit code"
  tl_expect_contains "$out" "--grpc_listen" "--help"
  tl_expect_contains "$out" "--metrics_listen" "--help"
  tl_expect_contains "$out" "--config" "--help"
  tl_expect_contains "$out" "default:" "--help"
}

config_file_is_read_and_flags_win() {
  local port other config rc
  port=$(tl_free_port)
  other=$(tl_free_port)
  config=$TL_TMP/$name.textproto
  printf 'grpc_listen: "127.0.0.1:%s"\nmetrics_listen: "127.0.0.1:%s"\n' \
    "$port" "$(tl_free_port)" >"$config"
  tl_start config-run "$binary" "${extra[@]}" --config="$config" \
    --metrics_listen="127.0.0.1:$other"
  tl_wait_port 127.0.0.1 "$port" || tl_fail "not listening on the config's port"
  tl_wait_port 127.0.0.1 "$other" || tl_fail "the command line's metrics port lost"
  tl_stop config-run
  printf 'grpc_listen: 8082\n' >"$config"
  out=$("$binary" "${extra[@]}" --config="$config" 2>&1)
  rc=$?
  [[ $rc != 0 ]] || tl_fail "a bad config file was accepted"
  tl_expect_contains "$out" "line 1" "config error"
}

sigterm_exits_zero_within_five_seconds() {
  local rc answer
  tl_stop "$name" TERM 5
  rc=$?
  tl_expect_eq 0 "$rc" "exit code after SIGTERM"
  tl_expect_contains "$(cat "$TL_TMP/$name.log")" "stopped" "log"
}

tl_case "grpcurl lists its service, health and reflection" \
  lists_its_service_health_and_reflection
tl_case "grpcurl describes every listed service" describes_every_listed_service
tl_case "health check answers SERVING" health_check_is_serving
tl_case "a real prometheus scrapes it" prometheus_scrapes_it
tl_case "promtool check metrics reports nothing" promtool_finds_nothing_to_say
tl_case "a taken port is a one-line error and a non-zero exit" \
  a_taken_port_is_one_line_and_nonzero
tl_case "--help lists every flag with its default and exits 0" help_lists_flags_with_defaults
tl_case "the config file is read and flags win over it" \
  config_file_is_read_and_flags_win
tl_case "SIGTERM exits 0 within 5 s" sigterm_exits_zero_within_five_seconds
tl_finish
