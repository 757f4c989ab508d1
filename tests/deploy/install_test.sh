#!/usr/bin/env bash
# k8s-less-deploy/install.sh for both roles into a --root directory, and
# what it installs checked by the tools that will read it: sshd -t and -T,
# systemd-analyze verify, promtool.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
tl_init

install=$(tl_bin k8s-less-deploy/install.sh)
bins=$(dirname "$(tl_bin services/tunnel/tunnel-manager)")/../..
fake_vma_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7okWi0dh2l9GKJl vma@test"

# A root directory with the host's account files, so that install.sh can
# make its accounts inside it, and an OMA host key.
new_root() {
  local root
  root=$(mktemp -d "$TL_TMP/root.XXXXXX")
  mkdir -p "$root/etc/ssh"
  cp /etc/passwd /etc/group /etc/shadow /etc/gshadow "$root/etc/" 2>/dev/null
  ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/ssh_host_ed25519_key"
  printf 'Port 2222\n' >"$root/etc/ssh/sshd_config"
  echo "$root"
}

oma_root=$(new_root)
vma_root=$(new_root)
oma_out=$("$install" --role oma --root "$oma_root" --bin-dir "$bins" \
  --vma-public-key "$fake_vma_key" 2>&1)
oma_rc=$?
oma_host_key=$(cut -d' ' -f1-2 "$oma_root/etc/ssh/ssh_host_ed25519_key.pub")
vma_out=$("$install" --role vma --root "$vma_root" --bin-dir "$bins" \
  --oma-host 198.18.0.2 --oma-host-key "$oma_host_key" 2>&1)
vma_rc=$?

tree_digest() {
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum;
    find . -printf '%p %m\n' | sort) | sha256sum
}

both_roles_install() {
  tl_expect_eq 0 "$oma_rc" "oma install exit code ($oma_out)"
  tl_expect_eq 0 "$vma_rc" "vma install exit code ($vma_out)"
  local file
  for file in usr/local/bin/export-manager usr/local/bin/migctl \
    usr/local/lib/migratekit/libnbd_log_relay.so \
    etc/systemd/system/migratekit-export-manager.service \
    etc/migratekit/export-manager.textproto \
    etc/ssh/sshd_config.d/migratekit-tunnel.conf \
    etc/migratekit/sshd/authorized_keys.vma_tunnel; do
    [[ -f $oma_root/$file ]] || tl_fail "oma: $file missing"
  done
  for file in usr/local/bin/tunnel-manager usr/local/bin/vma-api \
    etc/systemd/system/migratekit-tunnel.service \
    etc/systemd/system/migratekit-vma-api.service \
    etc/migratekit/tunnel-manager.textproto etc/migratekit/vma-api.textproto \
    etc/migratekit/tunnel/id_ed25519 etc/migratekit/tunnel/known_hosts; do
    [[ -f $vma_root/$file ]] || tl_fail "vma: $file missing"
  done
}

sshd_accepts_the_drop_in_and_restricts_the_account() {
  if ! tl_is_root && [[ ! -d /run/sshd ]]; then
    tl_fail "needs /run/sshd (root)"
    return
  fi
  mkdir -p /run/sshd
  local config=$TL_TMP/sshd_config settings
  # The installed drop-in, included as Debian's sshd_config includes it.
  printf 'Include %s/etc/ssh/sshd_config.d/*.conf\nHostKey %s\nUsePAM no\nPort 2222\n' \
    "$oma_root" "$oma_root/etc/ssh/ssh_host_ed25519_key" >"$config"
  /usr/sbin/sshd -t -f "$config" || tl_fail "sshd -t refused the config"
  settings=$(/usr/sbin/sshd -T -f "$config" \
    -C user=vma_tunnel,host=vma,addr=198.18.0.1 2>&1)
  local want
  for want in "port 2222" "port 443" "permitopen 127.0.0.1:10809" \
    "permitlisten 127.0.0.1:9081" "forcecommand /bin/true" "permittty no" \
    "x11forwarding no" "allowagentforwarding no" "permituserrc no" \
    "passwordauthentication no" "clientaliveinterval 10" \
    "clientalivecountmax 3"; do
    grep -qx "$want" <<<"$settings" || tl_fail "sshd -T lacks '$want'"
  done
  # Other accounts keep the defaults.
  settings=$(/usr/sbin/sshd -T -f "$config" -C user=admin,host=x,addr=10.0.0.1)
  grep -qx "forcecommand /bin/true" <<<"$settings" &&
    tl_fail "the forced command leaks to other accounts"
  grep -q "^vma_tunnel:\*:" "$oma_root/etc/shadow" ||
    tl_fail "vma_tunnel's password field is not '*'"
  tl_expect_contains "$(cat "$oma_root/etc/migratekit/sshd/authorized_keys.vma_tunnel")" \
    'restrict,port-forwarding,permitopen="127.0.0.1:10809",permitlisten="127.0.0.1:9081",command="/bin/true" ssh-ed25519' \
    "authorized_keys line"
}

units_pass_systemd_analyze_verify() {
  local unit root copy out
  for unit in "$oma_root"/etc/systemd/system/*.service \
    "$vma_root"/etc/systemd/system/*.service; do
    root=${unit%/etc/systemd/system/*}
    copy=$TL_TMP/units/$(basename "$unit")
    mkdir -p "$TL_TMP/units"
    # The binaries are where the root has them, not on this host.
    sed "s|/usr/local/bin/|$root/usr/local/bin/|" "$unit" >"$copy"
    out=$(systemd-analyze verify --man=no "$copy" 2>&1) ||
      tl_fail "systemd-analyze verify $(basename "$unit"): $out"
    grep -q '^Type=notify' "$copy" || tl_fail "$(basename "$unit") not Type=notify"
    grep -q '^WatchdogSec=' "$copy" || tl_fail "$(basename "$unit") no watchdog"
    grep -q '^Restart=always' "$copy" || tl_fail "$(basename "$unit") no Restart=always"
    grep -q '^CapabilityBoundingSet=$' "$copy" || tl_fail "$(basename "$unit") has capabilities"
  done
}

services_accept_their_installed_configs() {
  local name config root out
  for pair in "export-manager:$oma_root" "tunnel-manager:$vma_root" \
    "vma-api:$vma_root"; do
    name=${pair%%:*}
    root=${pair#*:}
    config=$root/etc/migratekit/$name.textproto
    # --help exits before serving, after the config has been read.
    out=$("$root/usr/local/bin/$name" --config="$config" --help 2>&1) ||
      tl_fail "$name refuses its installed config: $(head -3 <<<"$out")"
  done
}

promtool_accepts_the_monitoring_files() {
  local out
  out=$(promtool check config "$oma_root/etc/migratekit/monitoring/prometheus.yml" 2>&1) ||
    tl_fail "promtool check config: $out"
  out=$(promtool check rules "$oma_root/etc/migratekit/monitoring/migratekit-alerts.yml" 2>&1) ||
    tl_fail "promtool check rules: $out"
  python3 -m json.tool "$oma_root/etc/migratekit/monitoring/dashboard.json" \
    >/dev/null || tl_fail "dashboard.json is not JSON"
}

vma_key_is_private_and_host_key_pinned() {
  tl_expect_eq 600 "$(stat -c %a "$vma_root/etc/migratekit/tunnel/id_ed25519")" \
    "private key mode"
  tl_expect_eq "[198.18.0.2]:443 $oma_host_key" \
    "$(cat "$vma_root/etc/migratekit/tunnel/known_hosts")" "known_hosts"
  tl_expect_contains "$vma_out" "$(cut -d' ' -f2 \
    "$vma_root/etc/migratekit/tunnel/id_ed25519.pub")" "public key printed"
}

second_install_changes_nothing() {
  local before after out
  for pair in "oma:$oma_root" "vma:$vma_root"; do
    before=$(tree_digest "${pair#*:}")
    if [[ ${pair%%:*} == oma ]]; then
      out=$("$install" --role oma --root "$oma_root" --bin-dir "$bins" \
        --vma-public-key "$fake_vma_key" 2>&1)
    else
      out=$("$install" --role vma --root "$vma_root" --bin-dir "$bins" \
        --oma-host 198.18.0.2 --oma-host-key "$oma_host_key" 2>&1)
    fi
    after=$(tree_digest "${pair#*:}")
    tl_expect_eq "$before" "$after" "${pair%%:*} tree after a second install"
    tl_expect_contains "$out" "nothing to change" "${pair%%:*} second run"
  done
}

dry_run_changes_nothing() {
  local root before out
  root=$(new_root)
  before=$(tree_digest "$root")
  out=$("$install" --role vma --root "$root" --bin-dir "$bins" \
    --oma-host oma.example --dry-run 2>&1)
  tl_expect_eq "$before" "$(tree_digest "$root")" "tree after --dry-run"
  tl_expect_contains "$out" "would install /usr/local/bin/tunnel-manager" \
    "dry-run output"
}

refuses_clearly() {
  local out rc root
  root=$(new_root)
  out=$("$install" --role vma --root "$root" --bin-dir "$TL_TMP/empty" \
    --oma-host h 2>&1)
  rc=$?
  tl_expect_eq 1 "$rc" "exit code without binaries"
  tl_expect_contains "$out" "is not built: run" "message"
  out=$("$install" --role vma --root "$root" --bin-dir "$bins" 2>&1)
  tl_expect_eq 1 $? "exit code without --oma-host"
  tl_expect_contains "$out" "needs --oma-host" "message"
  out=$("$install" --role vma --root "$root" --bin-dir "$bins" \
    --oma-host 'h;rm -rf /' 2>&1)
  tl_expect_eq 1 $? "exit code with a hostile host"
  out=$("$install" --role oma --root "$root" --bin-dir "$bins" \
    --vma-public-key $'ssh-ed25519 AAAA x\ncommand="/bin/sh" ssh-ed25519 BBBB' 2>&1)
  tl_expect_eq 1 $? "exit code with two key lines"
  [[ ! -e $root/etc/migratekit/sshd ]] || tl_fail "wrote after refusing"
  "$install" --role web >/dev/null 2>&1
  tl_expect_eq 1 $? "exit code with a bad role"
}

tl_case "both roles install into --root" both_roles_install
if tl_is_root || [[ -d /run/sshd ]]; then
  tl_case "sshd accepts the drop-in and restricts the tunnel account" \
    sshd_accepts_the_drop_in_and_restricts_the_account
else
  tl_skip "sshd accepts the drop-in and restricts the tunnel account" \
    "sshd -t needs /run/sshd, which only root can make"
fi
tl_case "units pass systemd-analyze verify" units_pass_systemd_analyze_verify
tl_case "services accept their installed configs" \
  services_accept_their_installed_configs
tl_case "promtool accepts the monitoring files" \
  promtool_accepts_the_monitoring_files
tl_case "the VMA key is private and the OMA host key pinned" \
  vma_key_is_private_and_host_key_pinned
tl_case "a second install changes nothing" second_install_changes_nothing
tl_case "--dry-run changes nothing" dry_run_changes_nothing
tl_case "refuses clearly and writes nothing on bad input" refuses_clearly
tl_finish
