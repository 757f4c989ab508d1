#!/usr/bin/env bash
# vma-api's job API from outside: clear errors for bad input with nothing
# written (malformed URIs, unknown exports, an unreachable target, a
# zero-length source, duplicate ids, absurd parallelism), field case J1 (a
# target smaller than the source), one live job per export, WatchJob, and
# the metrics.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/nbd.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/vma/vma_lib.sh"
tl_init

MiB=$((1 << 20))
J1_SIZE=31457280000

# One nbd-server with a marked small export and the two J1 exports.
guard=$(nbd_image guard.img 64M 0xAA)
guard_sum=$(sha256sum <"$guard")
j1_small=$(nbd_image j1-small.img $((J1_SIZE - MiB)))
printf '\xaa%.0s' $(seq 4096) | dd of="$j1_small" conv=notrunc status=none
j1_small_sum=$(head -c 4096 "$j1_small" | sha256sum)
j1_fit=$(nbd_image j1-fit.img "$J1_SIZE")
nbd_server_start srv guard "$guard" j1-small "$j1_small" j1-fit "$j1_fit"
TARGET=127.0.0.1:$NBD_PORT
vma_start vma --state_dir="$TL_TMP/state" --default_target_address="$TARGET"

nbdkit_start src pattern 64M
SOURCE=$NBD_URI
# A slow source keeps a job live for the duplicate and WatchJob cases.
nbdkit_start slow --filter=rate pattern 32M rate=80M
SLOW=$NBD_URI

start() { vma_call StartReplication "$1"; }

bad_input_is_refused_and_nothing_written() {
  local answer
  answer=$(start '{"source_uri":"http://example.net/disk","export_name":"guard"}')
  tl_expect_contains "$answer" "InvalidArgument" "http source"
  tl_expect_contains "$answer" "not an NBD URI" "http source"

  answer=$(start "{\"source_uri\":\"nbd://127.0.0.1:notaport/x\",\"export_name\":\"guard\"}")
  tl_expect_contains "$answer" "InvalidArgument" "malformed nbd URI"

  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"bad name\"}")
  tl_expect_contains "$answer" "InvalidArgument" "export name with a space"

  answer=$(start "{\"job_id\":\"a/b\",\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\"}")
  tl_expect_contains "$answer" "InvalidArgument" "job id with a slash"

  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\",\"connections\":1000}")
  tl_expect_contains "$answer" "connections must be 1 to 16" "1000 connections"
  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\",\"request_size_bytes\":3000}")
  tl_expect_contains "$answer" "InvalidArgument" "3000-byte requests"
  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\",\"requests_per_connection\":100000}")
  tl_expect_contains "$answer" "InvalidArgument" "100000 requests"

  nbdkit_start empty memory 0
  answer=$(start "{\"source_uri\":\"$NBD_URI\",\"export_name\":\"guard\"}")
  tl_expect_contains "$answer" "InvalidArgument" "zero-length source"
  tl_expect_contains "$answer" "empty (0 bytes)" "zero-length source"

  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\",
    \"changed_extents\":[{\"offset\":$((63 * MiB)),\"length\":$((2 * MiB))}]}")
  tl_expect_contains "$answer" "past the end of the source" "extent past the end"

  tl_expect_eq "$guard_sum" "$(sha256sum <"$guard")" "guard export untouched"
  tl_expect_eq "" "$(vma_call ListJobs '{}' | grep job_id)" "no job recorded"
}

unknown_export_and_unreachable_target_fail_fast() {
  local answer started
  started=$SECONDS
  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"migration-vol-404\"}")
  tl_expect_contains "$answer" "NotFound" "unknown export"
  tl_expect_contains "$answer" "export migration-vol-404 is not served" \
    "unknown export message"

  answer=$(start "{\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\",
    \"target_address\":\"127.0.0.1:$(tl_free_port)\"}")
  tl_expect_contains "$answer" "Unavailable" "unreachable target"
  tl_expect_contains "$answer" "is the tunnel up" "unreachable target message"
  ((SECONDS - started < 10)) || tl_fail "refusals took $((SECONDS - started)) s"
}

j1_target_smaller_than_source() {
  nbdkit_start j1src data "(0x11)*4096 @$((J1_SIZE - 4096)) (0x22)*4096" \
    size=$J1_SIZE
  local answer
  answer=$(start "{\"job_id\":\"j1-small\",\"source_uri\":\"$NBD_URI\",\"export_name\":\"j1-small\"}")
  tl_expect_contains "$answer" "FailedPrecondition" "J1 smaller target"
  tl_expect_contains "$answer" "$((J1_SIZE - MiB)) bytes < $J1_SIZE bytes" \
    "J1 names both sizes"
  tl_expect_eq "$j1_small_sum" "$(head -c 4096 "$j1_small" | sha256sum)" \
    "J1 smaller target untouched"

  # A large-enough fresh export: the job completes; zero runs are not
  # written (the caller vouches the volume is fresh).
  answer=$(start "{\"job_id\":\"j1\",\"source_uri\":\"$NBD_URI\",
    \"export_name\":\"j1-fit\",\"target_reads_as_zero\":true}")
  tl_expect_contains "$answer" '"job_id": "j1"' "J1 start"
  tl_expect_eq JOB_PHASE_DONE "$(job_wait j1 120)" "J1 phase"
  tl_expect_eq "$J1_SIZE" \
    "$(job_field j1 "n('bytes_copied') + n('bytes_zeroed')")" "J1 covered"
  local ends
  ends=$(python3 - "$j1_fit" $J1_SIZE <<'PY'
import sys
with open(sys.argv[1], "rb") as f:
    head = f.read(4096)
    f.seek(int(sys.argv[2]) - 4096)
    tail = f.read()
print(head.count(0x11), tail.count(0x22))
PY
)
  tl_expect_eq "4096 4096" "$ends" "J1 data at both ends of the target"
}

one_live_job_per_export_and_unique_ids() {
  local answer
  answer=$(start "{\"job_id\":\"live\",\"source_uri\":\"$SLOW\",\"export_name\":\"guard\"}")
  tl_expect_contains "$answer" '"job_id": "live"' "first job"
  answer=$(start "{\"job_id\":\"live2\",\"source_uri\":\"$SOURCE\",\"export_name\":\"guard\"}")
  tl_expect_contains "$answer" "FailedPrecondition" "second job on the export"
  tl_expect_contains "$answer" "job live is already writing export guard" \
    "second job message"
  answer=$(start "{\"job_id\":\"live\",\"source_uri\":\"$SOURCE\",\"export_name\":\"j1-fit\"}")
  tl_expect_contains "$answer" "AlreadyExists" "duplicate job id"

  # WatchJob: updates while it runs, ending with DONE.
  local stream updates last
  stream=$(timeout 120 grpcurl -plaintext -d '{"job_id":"live"}' "$VMA" \
    "$VMA_SERVICE/WatchJob")
  updates=$(grep -c '"phase"' <<<"$stream")
  last=$(grep '"phase"' <<<"$stream" | tail -n1)
  ((updates >= 3)) || tl_fail "WatchJob sent $updates updates"
  tl_expect_contains "$last" JOB_PHASE_DONE "WatchJob's last update"
  tl_expect_contains "$stream" '"rate_bytes_per_second"' "WatchJob rate"

  answer=$(vma_call CancelJob '{"job_id":"live"}')
  tl_expect_contains "$answer" "FailedPrecondition" "cancel an ended job"
  answer=$(vma_call GetJob '{"job_id":"nope"}')
  tl_expect_contains "$answer" "NotFound" "unknown job"
  tl_expect_contains "$(vma_call ListJobs '{}')" '"job_id": "live"' "ListJobs"
}

metrics_count_jobs_bytes_and_latency() {
  local metrics
  metrics=$(curl -fsS "http://$VMA_METRICS/metrics")
  tl_expect_contains "$metrics" 'migratekit_jobs{phase="done"} 2' "jobs done"
  tl_expect_contains "$metrics" 'migratekit_job_retries_total{reason="target"} 0' \
    "no retries"
  grep -q 'migratekit_job_bytes_total{kind="data"} [1-9]' <<<"$metrics" ||
    tl_fail "no data bytes counted"
  grep -q 'migratekit_nbd_request_duration_seconds_count{op="write"} [1-9]' \
    <<<"$metrics" || tl_fail "no write latency observed"
}

tl_case "bad input is refused and nothing is written" \
  bad_input_is_refused_and_nothing_written
tl_case "unknown export and unreachable target fail fast" \
  unknown_export_and_unreachable_target_fail_fast
tl_case "J1: target smaller than the source" j1_target_smaller_than_source
tl_case "one live job per export, unique ids, WatchJob" \
  one_live_job_per_export_and_unique_ids
tl_case "metrics count jobs, bytes and latency" \
  metrics_count_jobs_bytes_and_latency
tl_finish
