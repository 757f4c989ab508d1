#!/usr/bin/env bash
# Jobs that are interrupted end byte-identical: field case J3 (holes over
# old data, cancelled at 40% and resumed), the NBD path cut and restored,
# vma-api killed and started again, and source read errors (retried, or
# the job fails naming the offset).
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/nbd.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/vma/vma_lib.sh"
tl_init

MiB=$((1 << 20))
STATE=$TL_TMP/state
vma_start vma --state_dir="$STATE"

# A 704 MiB source, about half holes, each hole longer than 128 MiB:
# data [0, 160M), hole [160M, 352M), data [352M, 512M), hole [512M, 704M).
SOURCE_IMG=$TL_TMP/source.raw
nbd_image source.raw 704M >/dev/null
python3 - "$SOURCE_IMG" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    for start, end in ((0, 160), (352, 512)):
        f.seek(start << 20)
        for _ in range(end - start):
            f.write(os.urandom(1 << 20))
PY
SOURCE_SUM=$(sha256sum <"$SOURCE_IMG" | cut -d' ' -f1)

# Starts job ID from a source throttled to about 50 MB/s (the rate filter
# counts bits) onto EXPORT at ADDRESS; sets ANSWER to StartReplication's.
start_throttled() {
  local id=$1 export=$2 address=$3
  nbdkit_start "src-$id" --filter=rate file "$SOURCE_IMG" rate=400M
  ANSWER=$(vma_call StartReplication "{\"job_id\":\"$id\",
    \"source_uri\":\"$NBD_URI\",\"export_name\":\"$export\",
    \"target_address\":\"$address\"}")
}

j3_cancel_at_40_percent_and_resume() {
  local target answer started
  target=$(nbd_image j3.img 704M 0xAA)
  nbd_server_start srv-j3 j3 "$target"
  start_throttled j3 j3 "127.0.0.1:$NBD_PORT"
  tl_expect_contains "$ANSWER" '"job_id": "j3"' "J3 start"
  job_wait_fraction j3 0.4 120 || tl_fail "J3 never reached 40%"

  started=$(date +%s%N)
  answer=$(vma_call CancelJob '{"job_id":"j3"}')
  local took_ms=$((($(date +%s%N) - started) / 1000000))
  tl_expect_contains "$answer" JOB_PHASE_CANCELLED "J3 cancel answer"
  # Generous: a cancel waits for a checkpoint flush in flight, which a busy
  # machine's disk can hold up for seconds.
  ((took_ms < 6000)) || tl_fail "cancel took $took_ms ms"
  local checkpoint total
  checkpoint=$(job_field j3 "n('checkpoint_bytes')")
  total=$(job_field j3 "n('bytes_total')")
  ((checkpoint > 0 && checkpoint < total)) ||
    tl_fail "J3 checkpoint $checkpoint of $total"

  # The same id and target resume from the checkpoint.
  answer=$(vma_call StartReplication "{\"job_id\":\"j3\",
    \"source_uri\":\"$(job_field j3 'j["source_uri"]')\",\"export_name\":\"j3\",
    \"target_address\":\"127.0.0.1:$NBD_PORT\",\"verify\":true}")
  tl_expect_contains "$answer" '"job_id": "j3"' "J3 resume"
  tl_expect_eq JOB_PHASE_DONE "$(job_wait j3 180)" \
    "J3 phase ($(job_field j3 'j.get("error")'))"
  tl_expect_contains "$(cat "$TL_TMP/vma.log")" "job[j3]: resumed offset=" \
    "J3 resumed rather than restarted"
  tl_expect_eq "$SOURCE_SUM" "$(sha256sum <"$target" | cut -d' ' -f1)" \
    "J3 target digest"
  tl_expect_eq "$SOURCE_SUM" "$(job_field j3 'j["target_digest"]')" \
    "J3 verify digest"
}

nbd_path_cut_and_restored() {
  local target relay_port answer
  target=$(nbd_image cut.img 704M 0xAA)
  nbd_server_start srv-cut cut "$target"
  relay_port=$(tl_free_port)
  relay_start relay "$relay_port" "127.0.0.1:$NBD_PORT"
  start_throttled cut cut "127.0.0.1:$relay_port"
  tl_expect_contains "$ANSWER" '"job_id": "cut"' "cut start"
  job_wait_fraction cut 0.3 120 || tl_fail "never reached 30%"

  tl_stop relay KILL
  sleep 2
  relay_start relay "$relay_port" "127.0.0.1:$NBD_PORT"
  tl_expect_eq JOB_PHASE_DONE "$(job_wait cut 180)" \
    "cut phase ($(job_field cut 'j.get("error")'))"
  local retries
  retries=$(job_field cut 'j.get("retries", 0)')
  ((retries >= 1)) || tl_fail "no retry counted: $retries"
  tl_expect_eq "$SOURCE_SUM" "$(sha256sum <"$target" | cut -d' ' -f1)" \
    "target digest after the cut"
  grep -q 'migratekit_job_retries_total{reason="target"} [1-9]' \
    <<<"$(curl -fsS "http://$VMA_METRICS/metrics")" ||
    tl_fail "target retries not counted in metrics"
}

vma_api_killed_and_started_again() {
  local target answer
  target=$(nbd_image kill.img 704M 0xAA)
  nbd_server_start srv-kill kill "$target"
  start_throttled kill kill "127.0.0.1:$NBD_PORT"
  tl_expect_contains "$ANSWER" '"job_id": "kill"' "kill start"
  # Killed once a checkpoint is on disk and before the end.
  has_checkpoint() {
    [[ $(job_field kill "n('checkpoint_bytes') > 0") == True ]]
  }
  tl_wait_until 120 has_checkpoint || tl_fail "no checkpoint was made"

  tl_stop vma KILL
  vma_start vma2 --state_dir="$STATE"
  local first
  first=$(job_field kill "'%s %d' % (j['phase'], n('checkpoint_bytes') > 0)")
  tl_expect_eq "JOB_PHASE_COPYING 1" "$first" "after the restart"
  tl_expect_eq JOB_PHASE_DONE "$(job_wait kill 180)" \
    "kill phase ($(job_field kill 'j.get("error")'))"
  tl_expect_contains "$(cat "$TL_TMP/vma2.log")" \
    "job[kill]: continues after a restart" "restart log"
  tl_expect_eq "$SOURCE_SUM" "$(sha256sum <"$target" | cut -d' ' -f1)" \
    "target digest after the restart"
}

source_read_errors() {
  local target answer
  target=$(nbd_image err.img 704M)
  nbd_server_start srv-err err "$target" err2 "$(nbd_image err2.img 64M)"

  # One read in ten fails: each is tried again and the copy is whole.
  nbdkit_start src-flaky --filter=error file "$SOURCE_IMG" \
    error-pread-rate=10% error=EIO
  answer=$(vma_call StartReplication "{\"job_id\":\"flaky\",
    \"source_uri\":\"$NBD_URI\",\"export_name\":\"err\",
    \"target_address\":\"127.0.0.1:$NBD_PORT\"}")
  tl_expect_eq JOB_PHASE_DONE "$(job_wait flaky 180)" \
    "flaky phase ($(job_field flaky 'j.get("error")'))"
  tl_expect_eq "$SOURCE_SUM" "$(sha256sum <"$target" | cut -d' ' -f1)" \
    "target digest with read errors"

  # Every read fails: the job fails naming an offset and reports nothing
  # copied.
  nbdkit_start src-broken --filter=error pattern 64M error-pread-rate=100% \
    error=EIO
  answer=$(vma_call StartReplication "{\"job_id\":\"broken\",
    \"source_uri\":\"$NBD_URI\",\"export_name\":\"err2\",
    \"target_address\":\"127.0.0.1:$NBD_PORT\"}")
  tl_expect_eq JOB_PHASE_FAILED "$(job_wait broken 60)" "broken phase"
  tl_expect_contains "$(job_field broken 'j.get("error")')" \
    "source read failed at offset " "broken error"
  tl_expect_eq 0 "$(job_field broken "n('bytes_copied')")" "broken copied"
}

tl_case "J3: holes over old data, cancelled at 40% and resumed" \
  j3_cancel_at_40_percent_and_resume
tl_case "NBD path cut mid-copy and restored" nbd_path_cut_and_restored
tl_case "vma-api killed mid-copy and started again" \
  vma_api_killed_and_started_again
tl_case "source read errors" source_read_errors
tl_finish
