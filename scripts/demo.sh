#!/usr/bin/env bash
# The main job on one machine: a whole migration through port 443 alone.
#
# Builds everything, then brings up an OMA (sshd with the restricted tunnel
# account, export-manager and nbd-server) and a VMA (tunnel-manager,
# vma-api, qemu-nbd serving a VMDK made from a real ext4 disk), joined only
# by the SSH session: as root in two network namespaces with nftables
# letting only TCP 443 across; otherwise on loopback, with sshd as the
# current user on a free port. Then, on the OMA, `migctl migrate` moves the
# disk with a progress bar and verification, and the copy is checked
# (partition table, e2fsck, a file read back, digests). Leaves nothing
# running.
#
# Usage: scripts/demo.sh [DISK_SIZE_MIB]   (default 512)
set -uo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-512}

scripts/setup.sh || exit 1
PATH=$PATH:/usr/local/go/bin:$HOME/go/bin

step() { printf '\n== %s\n' "$*"; }

step "building"
bazel build //services/... //clients/... 2>&1 | grep -E '^(ERROR|INFO: Build)' ||
  true
[[ -x bazel-bin/clients/migctl/migctl ]] || { echo "build failed" >&2; exit 1; }

source tests/lib/testlib.sh
source tests/lib/sshd.sh
source tests/lib/netns.sh
source tests/lib/disk_image.sh
source tests/lib/plane.sh
TEST_TMPDIR=$(mktemp -d)
tl_init
trap 'tl_cleanup; netns_down; rm -rf "$TEST_TMPDIR"' EXIT
tl_log() { :; }  # the demo prints its own steps
PLANE_BIN=$PWD/bazel-bin

layout=loopback
[[ $(id -u) == 0 ]] && layout=netns

step "making the source disk: ${size_mib} MiB, MBR, ext4 with a copy of /usr/share/doc, as a VMDK"
mkdir -p "$TL_TMP/disk"
disk_make_real "$TL_TMP/disk" "$size_mib"
ls -lh "$TL_TMP/disk/disk.raw" "$TL_TMP/disk/disk.vmdk" | awk '{print "  " $5 "  " $9}'

if [[ $layout == netns ]]; then
  step "two hosts: network namespaces, only TCP 443 from the VMA to the OMA"
else
  step "one host (not root): everything on loopback, sshd as $(id -un)"
fi
SSHD_EXTRA_CONFIG=$'ClientAliveInterval 10\nClientAliveCountMax 3'
if ! plane_up "$layout"; then
  echo "the plane did not come up; logs:" >&2
  tail -n 5 "$TL_TMP"/*.log >&2
  exit 1
fi
plane_serve_source "$TL_TMP/disk/disk.vmdk" vmdk || exit 1
echo "  OMA: sshd ${SSHD_HOST}:${SSHD_PORT}, export-manager $PLANE_EXPORTS, nbd-server $PLANE_NBD"
echo "  VMA: tunnel-manager $PLANE_TUNNEL_GRPC, vma-api $PLANE_VMA_GRPC, source $PLANE_SOURCE_URI"

step "the tunnel, as the VMA sees it (migctl tunnel status)"
on_vma "$PLANE_BIN/clients/migctl/migctl" --tunnel-address="$PLANE_TUNNEL_GRPC" \
  tunnel status | sed 's/^/  /'

step "vma-api from the OMA, through the reverse forward (grpcurl $PLANE_REVERSE list)"
on_oma grpcurl -plaintext "$PLANE_REVERSE" list | sed 's/^/  /'

target=$TL_TMP/volume.img
truncate -s "${size_mib}M" "$target"
step "migrating, from the OMA: migctl migrate --volume-id demo --device $target --verify"
migctl_oma migrate --volume-id demo --device "$target" \
  --source "$PLANE_SOURCE_URI" --verify
rc=$?
[[ $rc == 0 ]] || { echo "migctl migrate failed (exit $rc)"; exit "$rc"; }

step "checking the copy: partition table, e2fsck -fn, $DISK_SAMPLE_FILE read back, sha256"
if problems=$(disk_check_copy "$TL_TMP/disk/disk.raw" "$target"); then
  echo "  partition table: same"
  echo "  file system: clean (e2fsck -fn)"
  echo "  $DISK_SAMPLE_FILE: same bytes as the original"
  echo "  sha256: $(sha256sum <"$target" | cut -c1-64) (source and target)"
else
  echo "$problems" | sed 's/^/  PROBLEM: /'
  exit 1
fi

step "done; stopping everything"
