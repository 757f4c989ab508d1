#!/usr/bin/env bash
# migctl as a command line: help at every level, exit codes for a bad
# command line, an unreachable service and a service that refuses.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
tl_init

migctl=$(tl_bin clients/migctl/migctl)

help_at_every_level() {
  local command out
  for command in "" tunnel "tunnel status" "tunnel watch" "tunnel reconnect" \
    exports "exports create" "exports get" "exports list" "exports delete" \
    jobs "jobs start" "jobs get" "jobs list" "jobs watch" "jobs cancel" \
    migrate; do
    # shellcheck disable=SC2086
    out=$("$migctl" $command --help 2>&1) || tl_fail "'$command --help' exit $?"
    tl_expect_contains "$out" "Usage: migctl" "'$command --help'"
    tl_expect_contains "$out" "Exit codes:" "'$command --help'"
  done
}

bad_command_line_exits_2() {
  local rc
  "$migctl" >/dev/null 2>&1
  tl_expect_eq 2 $? "no subcommand"
  "$migctl" exports create --volume-id 1 >/dev/null 2>&1
  tl_expect_eq 2 $? "missing --device"
  "$migctl" --output yaml exports list >/dev/null 2>&1
  tl_expect_eq 2 $? "--output yaml"
  "$migctl" frobnicate >/dev/null 2>&1
  tl_expect_eq 2 $? "unknown subcommand"
}

unreachable_service_exits_3_naming_it() {
  local port out rc
  port=$(tl_free_port)
  out=$("$migctl" --exports-address "127.0.0.1:$port" --timeout 1 \
    exports list 2>&1)
  rc=$?
  tl_expect_eq 3 "$rc" "exit code"
  tl_expect_contains "$out" "export-manager 127.0.0.1:$port" "message"
  out=$("$migctl" --vma-address "127.0.0.1:$port" --timeout 1 jobs list 2>&1)
  tl_expect_eq 3 $? "exit code"
  tl_expect_contains "$out" "vma-api 127.0.0.1:$port: ListJobs" "message"
}

tl_case "--help works at every level" help_at_every_level
tl_case "a bad command line exits 2" bad_command_line_exits_2
tl_case "an unreachable service exits 3 and is named" \
  unreachable_service_exits_3_naming_it
tl_finish
