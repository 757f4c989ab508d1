#!/usr/bin/env bash
# vma-api copies disks of every shape onto a real nbd-server: dense, sparse
# over old data, nearly empty, a size that is not a multiple of the request
# size, a VMDK served by qemu-nbd, an incremental pass, and field case J2
# (the end of the disk and long extents). Every case compares digests.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/nbd.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/vma/vma_lib.sh"
tl_init

MiB=$((1 << 20))
vma_start vma --state_dir="$TL_TMP/state"

# Copies SOURCE_URI onto a fresh export on FILE and checks the job ends DONE
# with the target's digest equal to the source's. Extra JSON fields in $4.
copy_and_compare() {
  local name=$1 source=$2 file=$3 extra=${4:-} answer phase want got
  nbd_server_start "srv-$name" "$name" "$file"
  answer=$(vma_call StartReplication "{\"job_id\":\"$name\",
    \"source_uri\":\"$source\",\"export_name\":\"$name\",
    \"target_address\":\"127.0.0.1:$NBD_PORT\" $extra}")
  tl_expect_contains "$answer" '"job_id"' "start $name"
  phase=$(job_wait "$name" 120)
  tl_expect_eq JOB_PHASE_DONE "$phase" "$name phase ($(job_field "$name" 'j.get("error")'))"
  want=$(nbd_digest "$source")
  got=$(nbd_digest "nbd://127.0.0.1:$NBD_PORT/$name")
  tl_expect_eq "$want" "$got" "$name target digest"
  tl_expect_eq "$(job_field "$name" "n('bytes_total')")" \
    "$(job_field "$name" "n('bytes_copied') + n('bytes_zeroed')")" \
    "$name bytes covered"
}

dense_source_with_an_odd_size() {
  # 100 MiB + 4097 bytes with 1 MiB requests: the last request is short.
  local size=$((100 * MiB + 4097))
  nbdkit_start src-dense pattern "$size"
  copy_and_compare dense "$NBD_URI" "$(nbd_image dense.img "$size")" \
    ',"request_size_bytes":1048576,"verify":true'
  tl_expect_eq 0 "$(job_field dense "n('bytes_zeroed')")" "dense zeroed"
  tl_expect_eq "$(job_field dense 'j["source_digest"]')" \
    "$(job_field dense 'j["target_digest"]')" "verify digests"
}

sparse_source_over_old_data() {
  nbdkit_start src-sparse sparse-random 384M seed=11 percent=30
  copy_and_compare sparse "$NBD_URI" "$(nbd_image sparse.img 384M 0xAA)"
  local zeroed
  zeroed=$(job_field sparse "n('bytes_zeroed') > 100 * $MiB")
  tl_expect_eq True "$zeroed" "holes written as zeroes"
}

nearly_empty_source() {
  nbdkit_start src-empty data "1 2 3 @$((5 * MiB)) 4 5 6" size=300M
  copy_and_compare empty "$NBD_URI" "$(nbd_image empty.img 300M)"
  tl_expect_eq True "$(job_field empty "n('bytes_copied') <= 8 * $MiB")" \
    "only the data extents read"
}

vmdk_served_by_qemu_nbd() {
  local raw=$TL_TMP/disk.raw
  nbd_image disk.raw 96M >/dev/null
  python3 - "$raw" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    for offset in (0, 7 << 20, 40 << 20, (96 << 20) - 65536):
        f.seek(offset)
        f.write(os.urandom(65536 * 3)[: (96 << 20) - offset])
PY
  qemu-img convert -f raw -O vmdk "$raw" "$TL_TMP/disk.vmdk"
  qemu_nbd_start src-vmdk "$TL_TMP/disk.vmdk" vmdk
  copy_and_compare vmdk "$NBD_URI" "$(nbd_image vmdk.img 96M 0xAA)"
  tl_expect_eq "$(sha256sum <"$raw" | cut -d' ' -f1)" \
    "$(nbd_digest "$NBD_URI")" "the VMDK holds the raw image"
}

incremental_pass() {
  local raw=$TL_TMP/incr.raw target
  nbd_image incr.raw 64M 0x11 >/dev/null
  nbdkit_start src-incr file "$raw"
  target=$(nbd_image incr.img 64M)
  copy_and_compare incr "$NBD_URI" "$target"

  # Change three ranges, tell the job about two.
  python3 - "$raw" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    for offset, byte in ((1 << 20, 0x22), (30 << 20, 0x33), (50 << 20, 0x44)):
        f.seek(offset)
        f.write(bytes([byte]) * 4096)
PY
  local answer phase
  answer=$(vma_call StartReplication "{\"job_id\":\"incr2\",
    \"source_uri\":\"$NBD_URI\",\"export_name\":\"incr\",
    \"target_address\":\"127.0.0.1:$NBD_PORT\",
    \"changed_extents\":[{\"offset\":$((30 * MiB)),\"length\":4096},
                         {\"offset\":$MiB,\"length\":4096}]}")
  tl_expect_contains "$answer" '"incremental": true' "incremental job"
  phase=$(job_wait incr2 60)
  tl_expect_eq JOB_PHASE_DONE "$phase" "incremental phase"
  tl_expect_eq 8192 "$(job_field incr2 "n('bytes_total')")" "incremental total"
  local bytes
  bytes=$(python3 - "$target" <<'PY'
import sys
with open(sys.argv[1], "rb") as f:
    out = []
    for offset in (1 << 20, 30 << 20, 50 << 20):
        f.seek(offset)
        out.append("%02x" % f.read(1)[0])
print(" ".join(out))
PY
)
  # The unlisted range keeps the old data: only the listed ranges moved.
  tl_expect_eq "22 33 11" "$bytes" "target bytes after the incremental pass"

  # So a verifying pass over one range finds the other and names it.
  answer=$(vma_call StartReplication "{\"job_id\":\"incr3\",
    \"source_uri\":\"$NBD_URI\",\"export_name\":\"incr\",\"verify\":true,
    \"target_address\":\"127.0.0.1:$NBD_PORT\",
    \"changed_extents\":[{\"offset\":$MiB,\"length\":4096}]}")
  tl_expect_eq JOB_PHASE_FAILED "$(job_wait incr3 60)" "verify mismatch phase"
  tl_expect_contains "$(job_field incr3 'j.get("error")')" \
    "differs from the source in bytes [$((50 * MiB)), $((51 * MiB)))" \
    "verify names the first differing range"
}

j2_end_of_disk_and_long_extents() {
  # 1 GiB + 4 KiB: data in [0, 1 MiB) and [1 MiB, 2 MiB), zeroes to the end.
  local size=$((1024 * MiB + 4096))
  nbdkit_start src-j2 data "(0x5a)*$MiB (0xa5)*$MiB" size="$size"
  copy_and_compare j2 "$NBD_URI" "$(nbd_image j2.img "$size")"
  tl_expect_eq "$((2 * MiB))" "$(job_field j2 "n('bytes_copied')")" \
    "J2 data bytes"

  # A 6 GiB + 4 KiB disk whose holes run past 4 GiB, with data at the very
  # end; a fresh target that reads as zero.
  size=$((6144 * MiB + 4096))
  nbdkit_start src-j2-long data "@$((size - 4096)) (0x77)*4096" size="$size"
  local target answer
  target=$(nbd_image j2long.img "$size")
  nbd_server_start srv-j2long j2long "$target"
  answer=$(vma_call StartReplication "{\"job_id\":\"j2long\",
    \"source_uri\":\"$NBD_URI\",\"export_name\":\"j2long\",
    \"target_address\":\"127.0.0.1:$NBD_PORT\",\"target_reads_as_zero\":true}")
  tl_expect_contains "$answer" '"job_id"' "start j2long"
  tl_expect_eq JOB_PHASE_DONE "$(job_wait j2long 120)" "J2 long phase"
  tl_expect_eq "4096 $((size - 4096))" \
    "$(job_field j2long "'%d %d' % (n('bytes_copied'), n('bytes_zeroed'))")" \
    "J2 long bytes copied and zeroed"
  # Digesting 6 GiB twice would dominate the suite: read the file instead.
  local tail
  tail=$(python3 - "$target" "$size" <<'PY'
import sys
size = int(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    f.seek(size - 8192)
    block = f.read()
print(block[:4096].count(0), block[4096:].count(0x77))
PY
)
  tl_expect_eq "4096 4096" "$tail" "J2 long: zeroes then the last 4 KiB"
}

tl_case "dense source with a size that is not a multiple of the request" \
  dense_source_with_an_odd_size
tl_case "sparse source over old data" sparse_source_over_old_data
tl_case "nearly empty source" nearly_empty_source
tl_case "VMDK served by qemu-nbd" vmdk_served_by_qemu_nbd
tl_case "incremental pass copies only the changed extents" incremental_pass
tl_case "J2: end of the disk and long extents" j2_end_of_disk_and_long_extents
tl_finish
