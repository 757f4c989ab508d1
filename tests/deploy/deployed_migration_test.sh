#!/usr/bin/env bash
# The system as k8s-less-deploy/install.sh puts it on two hosts, run from
# the installed files and nothing else, and a migration through it.
#
# Each host is a network namespace (only TCP 443 crosses, tests/lib/netns.sh)
# and a root directory: a copy of this machine's /etc with install.sh run
# into it, the OMA enrolled with the VMA's key and the VMA with the OMA's
# host key, as the operator's guide does it. Every program runs in a mount
# namespace where that root's /etc, /usr/local and /var/lib stand in
# for the host's, so that the installed paths, accounts and configs are the
# ones used: sshd with Debian's config and the installed drop-in; each
# service with its unit's ExecStart, as its unit's User, Group and
# supplementary groups, in its StateDirectory. The target volume is a
# loop block device, reached through the `disk` group as on an OMA.
#
# Not exercised: systemd itself (no systemd runs here; the units' sandbox
# options are checked by systemd-analyze in install_test).
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/netns.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/disk_image.sh"
tl_init

if ! tl_is_root; then
  tl_skip "a migration through the installed system" \
    "needs root (network and mount namespaces, loop devices, accounts)"
  tl_finish
fi

loop_device=""
cleanup() {
  tl_cleanup
  netns_down
  if [[ -n $loop_device ]]; then
    losetup -d "$loop_device"
    chown "${loop_mode% *}" "$loop_device" && chmod "${loop_mode#* }" "$loop_device"
  fi
}
trap cleanup EXIT

install=$(tl_bin k8s-less-deploy/install.sh)
bins=$(dirname "$(tl_bin services/tunnel/tunnel-manager)")/../..

# A host's root: this machine's /etc without its host keys (the OMA gets a
# fresh one), and empty /usr/local and /var/lib.
new_root() {
  local root
  root=$(mktemp -d "$TL_TMP/$1.XXXXXX")
  cp -a /etc "$root/etc"
  rm -f "$root"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/ssh_host_ed25519_key"
  mkdir -p "$root/usr/local/bin" "$root/var/lib"
  echo "$root"
}

# install_role ROLE ROOT ARGS...: install.sh, its output kept in the log.
install_role() {
  local role=$1 root=$2 out
  shift 2
  out=$("$install" --role "$role" --root "$root" --bin-dir "$bins" "$@" 2>&1) ||
    { tl_log "install.sh --role $role failed: $out"; return 1; }
  tl_log "install.sh --role $role:"$'\n'"$out"
}

# unit_value UNIT KEY: the value of KEY= in the unit file.
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# root_run ROOT NS: sets RUN to the command prefix that runs a program in
# network namespace NS with ROOT's /etc, /usr/local and /var/lib
# mounted over the host's. Each step execs the next, so that the pid
# tl_start keeps is the program's own.
root_run() {
  RUN=(ip netns exec "$2" unshare --mount --propagation private bash -c '
    root=$1; shift
    mount --bind "$root/etc" /etc &&
      mount --bind "$root/usr/local" /usr/local &&
      mount --bind "$root/var/lib" /var/lib && exec "$@"' _ "$1")
}

# uid_in ROOT USER / gid_in ROOT GROUP: ids from ROOT's account files.
uid_in() { awk -F: -v n="$2" '$1 == n { print $3 }' "$1/etc/passwd"; }
gid_in() { awk -F: -v n="$2" '$1 == n { print $3 }' "$1/etc/group"; }

# start_unit NAME ROOT NS UNIT: runs the installed unit's ExecStart as its
# User and Group (with the account's groups) in its StateDirectory.
start_unit() {
  local name=$1 root=$2 ns=$3 unit=$2/etc/systemd/system/$4.service
  local exec user group state
  [[ -f $unit ]] || { tl_log "$unit is not installed"; return 1; }
  exec=$(unit_value "$unit" ExecStart)
  user=$(unit_value "$unit" User)
  group=$(unit_value "$unit" Group)
  state=$(unit_value "$unit" StateDirectory)
  if [[ -n $state ]]; then
    mkdir -p -m 0700 "$root/var/lib/$state"
    chown "$(uid_in "$root" "$user"):$(gid_in "$root" "$group")" \
      "$root/var/lib/$state"
  fi
  root_run "$root" "$ns"
  # shellcheck disable=SC2086  # ExecStart is words, as systemd splits it
  tl_start "$name" "${RUN[@]}" setpriv --reuid="$user" --regid="$group" \
    --init-groups --no-new-privs $exec
}

grpc_serving() {  # grpc_serving HOSTSIDE ADDRESS SERVICE
  "in_$1" grpcurl -plaintext -d "{\"service\":\"$3\"}" "$2" \
    grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'
}

# --- the two hosts, installed and enrolled ----------------------------------

oma_root=$(new_root oma)
vma_root=$(new_root vma)
oma_host_key=$(cut -d' ' -f1-2 "$oma_root/etc/ssh/ssh_host_ed25519_key.pub")
netns_up || tl_fail "no network namespaces"
install_role oma "$oma_root" &&
  install_role vma "$vma_root" --oma-host "$OMA_ADDR" \
    --oma-host-key "$oma_host_key" &&
  install_role oma "$oma_root" --vma-public-key \
    "$(cat "$vma_root/etc/migratekit/tunnel/id_ed25519.pub")" ||
  tl_fail "install.sh failed"

# --- OMA: sshd as Debian runs it, with the drop-in; export-manager ----------

mkdir -p /run/sshd
root_run "$oma_root" "$NS_OMA"
tl_start sshd "${RUN[@]}" /usr/sbin/sshd -D -e
tl_wait_until 20 in_oma bash -c "exec 3<>/dev/tcp/$OMA_ADDR/443" ||
  tl_fail "sshd does not listen on 443"
start_unit export-manager "$oma_root" "$NS_OMA" migratekit-export-manager

# --- VMA: tunnel-manager, vma-api, a source disk ----------------------------

start_unit vma-api "$vma_root" "$NS_VMA" migratekit-vma-api
start_unit tunnel-manager "$vma_root" "$NS_VMA" migratekit-tunnel

disk_dir=$TL_TMP/disk
mkdir -p "$disk_dir"
disk_make_real "$disk_dir" 128
tl_start qemu-nbd ip netns exec "$NS_VMA" qemu-nbd --read-only --persistent \
  --shared=8 --format=vmdk --bind=127.0.0.1 --port=10900 --export-name=disk \
  "$disk_dir/disk.vmdk"

target=$TL_TMP/volume.img
truncate -s 128M "$target"
loop_device=$(losetup --find --show "$target") || tl_fail "no loop device"
# What udev does for a volume on a real OMA (no udev runs here); undone in
# cleanup.
loop_mode=$(stat -c '%U:%G %a' "$loop_device")
chgrp disk "$loop_device" && chmod 0660 "$loop_device"

# --- the cases ---------------------------------------------------------------

services_come_up_as_their_accounts() {
  tl_wait_until 30 grpc_serving oma 127.0.0.1:8083 \
    migratekit.exports.v1.ExportService || tl_fail "export-manager not serving"
  tl_wait_until 30 grpc_serving vma 127.0.0.1:8081 \
    migratekit.vma.v1.VmaService || tl_fail "vma-api not serving"
  tl_wait_until 60 grpc_serving vma 127.0.0.1:8082 \
    migratekit.tunnel.v1.TunnelService ||
    tl_fail "the tunnel is not up with both forwards"
  local pair name root unit uid
  for pair in "export-manager:$oma_root:migratekit-export-manager" \
    "vma-api:$vma_root:migratekit-vma-api" \
    "tunnel-manager:$vma_root:migratekit-tunnel"; do
    IFS=: read -r name root unit <<<"$pair"
    uid=$(ps -o uid= -p "$(tl_pid "$name")" 2>/dev/null | tr -d ' ')
    tl_expect_eq "$(uid_in "$root" "$(unit_value \
      "$root/etc/systemd/system/$unit.service" User)")" "$uid" "$name's uid"
  done
}

the_tunnel_account_is_restricted() {
  # The tunnel's own key, from the VMA, for something other than its two
  # forwards: a command is not run, a forward elsewhere is refused.
  local key=$vma_root/etc/migratekit/tunnel/id_ed25519 out
  local ssh=(ssh -p 443 -i "$key" -o BatchMode=yes
    -o UserKnownHostsFile="$vma_root/etc/migratekit/tunnel/known_hosts"
    -o StrictHostKeyChecking=yes -o ConnectTimeout=10 "vma_tunnel@$OMA_ADDR")
  out=$(in_vma "${ssh[@]}" echo reached 2>&1)
  tl_expect_not_contains "$out" "reached" "a command over the tunnel account"
  out=$(in_vma timeout 10 "${ssh[@]}" -N -o ExitOnForwardFailure=yes \
    -R 127.0.0.1:2222:127.0.0.1:22 2>&1)
  tl_expect_contains "$out" "forwarding failed" "a reverse forward elsewhere"
}

a_migration_through_the_installed_system() {
  local out rc problems
  out=$(in_oma "$oma_root/usr/local/bin/migctl" migrate --volume-id deploy-1 \
    --device "$loop_device" --source nbd://127.0.0.1:10900/disk --verify 2>&1)
  rc=$?
  tl_log "migctl migrate said:"$'\n'"$out"
  tl_expect_eq 0 "$rc" "migctl migrate exit code"
  tl_expect_contains "$out" "verified" "migctl output"
  problems=$(disk_check_copy "$disk_dir/disk.raw" "$loop_device") ||
    tl_fail "the migrated volume is not whole: $problems"
}

tl_case "the services come up from their units, as their accounts" \
  services_come_up_as_their_accounts
tl_case "the installed sshd restricts the tunnel account" \
  the_tunnel_account_is_restricted
tl_case "a migration through the installed system" \
  a_migration_through_the_installed_system
tl_finish
