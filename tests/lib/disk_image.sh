# A real disk to migrate, and the checks that a migrated copy is whole.
# Sourced after testlib.sh (or on its own by scripts/demo.sh).
#
#   disk_make_real DIR SIZE_MIB
#       DIR/disk.raw: an MBR partition table with one Linux partition from
#       1 MiB to the end, holding an ext4 file system filled with a copy of
#       /usr/share/doc (as much as fits); DIR/disk.vmdk: the same disk as a
#       VMware disk (qemu-img convert -O vmdk). Sets DISK_SAMPLE_FILE to a
#       file inside the file system (its path there) and DISK_SAMPLE_COPY to
#       the original on this host.
#   disk_check_copy SOURCE_RAW TARGET_IMAGE
#       Prints one line per problem and returns non-zero if the target's
#       partition table differs, e2fsck -fn finds errors in its file system,
#       DISK_SAMPLE_FILE read back with debugfs differs from the original, or
#       the images' digests differ over the source's length.

DISK_PART_OFFSET=$((1 << 20))

disk_make_real() {
  local dir=$1 size_mib=$2 tree budget
  tree=$dir/tree
  mkdir -p "$tree"
  # A real directory tree, cut to about 60% of the file system.
  budget=$((size_mib * 1024 * 1024 * 6 / 10))
  find /usr/share/doc -type f -size -512k -printf '%s %P\n' | sort -k2 |
    awk -v budget="$budget" '{ total += $1; if (total > budget) exit;
      print substr($0, index($0, " ") + 1) }' >"$dir/files"
  tar -C /usr/share/doc -cf - -T "$dir/files" 2>/dev/null | tar -C "$tree" -xf -
  DISK_SAMPLE_FILE=$(cd "$tree" && find . -type f -size +4k | sort | head -n 1)
  DISK_SAMPLE_FILE=${DISK_SAMPLE_FILE#.}
  DISK_SAMPLE_COPY=$tree$DISK_SAMPLE_FILE

  truncate -s "${size_mib}M" "$dir/disk.raw"
  echo 'start=2048, type=83' | sfdisk -q "$dir/disk.raw" >/dev/null
  local part_kib=$(((size_mib - 1) * 1024))
  mkfs.ext4 -q -F -L migratekit-src -d "$tree" -E offset=$DISK_PART_OFFSET \
    "$dir/disk.raw" "${part_kib}k" >/dev/null
  qemu-img convert -f raw -O vmdk "$dir/disk.raw" "$dir/disk.vmdk"
}

# The partition table without the image's own file name.
disk_partition_table() {
  sfdisk -d "$1" 2>/dev/null | grep -v -E '^(label-id|device):' |
    sed -E 's|^[^ ]+ : |part : |'
}

disk_check_copy() {
  local source=$1 target=$2 problems=0 part sample
  if [[ "$(disk_partition_table "$source")" != "$(disk_partition_table "$target")" ]]; then
    echo "partition tables differ"
    problems=1
  fi
  part=$(mktemp)
  dd if="$target" of="$part" bs=1M skip=1 status=none
  if ! e2fsck -fn "$part" >/dev/null 2>&1; then
    echo "e2fsck -fn found errors in the target's file system"
    problems=1
  fi
  sample=$(mktemp)
  debugfs -R "cat $DISK_SAMPLE_FILE" "$part" >"$sample" 2>/dev/null
  if ! cmp -s "$sample" "$DISK_SAMPLE_COPY"; then
    echo "$DISK_SAMPLE_FILE read back from the target differs from the original"
    problems=1
  fi
  rm -f "$part" "$sample"
  local size
  size=$(stat -c %s "$source")
  if [[ "$(head -c "$size" "$target" | sha256sum)" != "$(sha256sum <"$source")" ]]; then
    echo "digests of source and target differ"
    problems=1
  fi
  return $problems
}
