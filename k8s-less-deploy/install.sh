#!/usr/bin/env bash
# Installs migratekit on a VMA or an OMA: binaries, systemd units, configs,
# the tunnel account and its sshd drop-in (OMA), the tunnel's key pair and
# pinned host key (VMA), and monitoring files. Idempotent: a second run
# changes nothing. Removes nothing. Prints every change.
#
#   install.sh --role oma [--vma-public-key KEYLINE] [--root DIR] [--dry-run]
#   install.sh --role vma --oma-host HOST [--oma-host-key KEYLINE]
#              [--root DIR] [--dry-run]
#
# See k8s-less-deploy/README.md for the whole enrollment.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: install.sh --role vma|oma [options]

  --role vma|oma          which appliance this host is (required)
  --oma-host HOST         the OMA's address as the VMA reaches it (vma)
  --oma-host-key KEYLINE  the OMA's "ssh-ed25519 AAAA..." host key to pin (vma)
  --vma-public-key KEYLINE
                          the VMA tunnel key's "ssh-ed25519 AAAA..." line to
                          authorize for the tunnel account (oma)
  --tunnel-user NAME      the OMA's tunnel account (default vma_tunnel)
  --bin-dir DIR           where the built binaries are (default: this
                          repository's bazel-bin)
  --root DIR              install under DIR instead of / (for tests and
                          images); accounts are made only when DIR/etc/passwd
                          exists
  --dry-run               print what would change, change nothing
  -h, --help              this text
TXT
}

here=$(cd "$(dirname "$0")" && pwd)
role="" oma_host="" oma_host_key="" vma_public_key="" root="/"
tunnel_user=vma_tunnel dry_run=0 bin_dir="$here/../bazel-bin"
while (($#)); do
  case $1 in
    --role) role=${2:-}; shift 2 ;;
    --oma-host) oma_host=${2:-}; shift 2 ;;
    --oma-host-key) oma_host_key=${2:-}; shift 2 ;;
    --vma-public-key) vma_public_key=${2:-}; shift 2 ;;
    --tunnel-user) tunnel_user=${2:-}; shift 2 ;;
    --bin-dir) bin_dir=${2:-}; shift 2 ;;
    --root) root=${2:-}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "install: $*" >&2; exit 1; }
[[ $role == vma || $role == oma ]] || die "--role must be vma or oma (see --help)"
[[ $role == oma || -n $oma_host ]] || die "--role vma needs --oma-host"
[[ $oma_host =~ ^[A-Za-z0-9.:_-]*$ ]] || die "--oma-host '$oma_host' is not a host name or address"
[[ $tunnel_user =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "--tunnel-user '$tunnel_user' is not a valid account name"
key_pattern='^ssh-ed25519 [A-Za-z0-9+/=]+( [^[:cntrl:]]*)?$'
[[ -z $oma_host_key || $oma_host_key =~ $key_pattern ]] ||
  die "--oma-host-key must be one 'ssh-ed25519 AAAA...' line"
[[ -z $vma_public_key || $vma_public_key =~ $key_pattern ]] ||
  die "--vma-public-key must be one 'ssh-ed25519 AAAA...' line"
[[ -d $root ]] || die "--root $root is not a directory"
root=$(cd "$root" && pwd)
prefix=${root%/}

# --- prerequisites ----------------------------------------------------------

binaries=(migctl)
if [[ $role == vma ]]; then
  binaries+=(tunnel-manager vma-api)
else
  binaries+=(export-manager)
fi
declare -A built=(
  [tunnel-manager]=services/tunnel/tunnel-manager
  [vma-api]=services/vma-api/vma-api
  [export-manager]=services/exports/export-manager
  [migctl]=clients/migctl/migctl
)
for name in "${binaries[@]}"; do
  [[ -x "$bin_dir/${built[$name]}" || -x "$bin_dir/$name" ]] ||
    die "$name is not built: run 'bazel build //...' or pass --bin-dir"
done
relay_library=$bin_dir/services/exports/libnbd_log_relay.so
[[ -f $relay_library ]] || relay_library=$bin_dir/libnbd_log_relay.so
if [[ $role == oma && ! -f $relay_library ]]; then
  die "libnbd_log_relay.so is not built: run 'bazel build //...' or pass --bin-dir"
fi
if [[ $role == oma ]]; then
  command -v sshd >/dev/null || [[ -x /usr/sbin/sshd ]] ||
    die "OpenSSH's sshd is missing: apt-get install openssh-server"
  command -v nbd-server >/dev/null || [[ -x /usr/bin/nbd-server ]] ||
    die "nbd-server is missing: apt-get install nbd-server"
else
  command -v ssh-keygen >/dev/null ||
    die "ssh-keygen is missing: apt-get install openssh-client"
fi

# --- helpers ----------------------------------------------------------------

changed=0
say() { echo "install: $*"; }

# install_content DEST MODE OWNER: standard input becomes DEST unless DEST
# already has exactly that content and mode.
install_content() {
  local dest=$prefix$1 mode=$2 owner=${3:-root:root} tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest" &&
    [[ $(stat -c %a "$dest") == "${mode#0}" ]]; then
    rm -f "$tmp"
    return
  fi
  changed=1
  if ((dry_run)); then
    say "would install $1 (mode $mode)"
    rm -f "$tmp"
    return
  fi
  mkdir -p "$(dirname "$dest")"
  install -m "$mode" "$tmp" "$dest"
  rm -f "$tmp"
  chown_in_root "$owner" "$dest"
  say "installed $1"
}

install_file() { install_content "$2" "$3" "${4:-root:root}" <"$1"; }

ensure_dir() {
  local dir=$prefix$1 mode=$2
  [[ -d $dir ]] && return
  changed=1
  if ((dry_run)); then say "would create $1/"; return; fi
  mkdir -p -m "$mode" "$dir"
  say "created $1/"
}

can_make_accounts() { [[ -f $prefix/etc/passwd ]]; }

# chown_in_root USER:GROUP FILE: by the ids that USER and GROUP have in the
# target's own account files, so that a --root install (an image, a test)
# is owned as a real one is; nothing where the target has no such account.
chown_in_root() {
  local user=${1%%:*} group=${1#*:} uid gid
  uid=$(awk -F: -v n="$user" '$1 == n { print $3 }' "$prefix/etc/passwd" 2>/dev/null)
  gid=$(awk -F: -v n="$group" '$1 == n { print $3 }' "$prefix/etc/group" 2>/dev/null)
  [[ -n $uid && -n $gid ]] || return 0
  chown "$uid:$gid" "$2" 2>/dev/null || true
}

# ensure_account NAME [GROUPS]: a system account with no login and no
# password; '*' rather than useradd's '!' so that sshd still accepts keys
# with UsePAM no.
ensure_account() {
  local name=$1 groups=${2:-}
  if ! can_make_accounts; then
    say "skipped account $name: no $root/etc/passwd"
    return
  fi
  if grep -q "^$name:" "$prefix/etc/passwd"; then return; fi
  changed=1
  if ((dry_run)); then say "would create account $name"; return; fi
  useradd --root "$root" --system --user-group --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin \
    ${groups:+--groups "$groups"} "$name"
  usermod --root "$root" --password '*' "$name"
  say "created account $name"
}

render() {
  sed -e "s|@OMA_HOST@|$oma_host|g" -e "s|@TUNNEL_USER@|$tunnel_user|g" "$1"
}

# --- both roles -------------------------------------------------------------

for name in "${binaries[@]}"; do
  source=$bin_dir/${built[$name]}
  [[ -x $source ]] || source=$bin_dir/$name
  install_file "$source" "/usr/local/bin/$name" 0755
done
install_file "$here/README.md" /usr/local/share/doc/migratekit/README.md 0644
ensure_dir /etc/migratekit 0755
install_file "$here/monitoring/prometheus.yml" \
  /etc/migratekit/monitoring/prometheus.yml 0644
install_file "$here/monitoring/alerts.yml" \
  /etc/migratekit/monitoring/migratekit-alerts.yml 0644
install_file "$here/monitoring/dashboard.json" \
  /etc/migratekit/monitoring/dashboard.json 0644

# --- VMA --------------------------------------------------------------------

if [[ $role == vma ]]; then
  ensure_account migratekit-tunnel
  ensure_account migratekit-vma
  install_file "$here/systemd/migratekit-tunnel.service" \
    /etc/systemd/system/migratekit-tunnel.service 0644
  install_file "$here/systemd/migratekit-vma-api.service" \
    /etc/systemd/system/migratekit-vma-api.service 0644
  render "$here/config/tunnel-manager.textproto.in" |
    install_content /etc/migratekit/tunnel-manager.textproto 0644
  install_file "$here/config/vma-api.textproto" \
    /etc/migratekit/vma-api.textproto 0644

  # The tunnel's key pair: made once, never replaced.
  ensure_dir /etc/migratekit/tunnel 0755
  key=$prefix/etc/migratekit/tunnel/id_ed25519
  if [[ ! -f $key ]]; then
    changed=1
    if ((dry_run)); then
      say "would generate /etc/migratekit/tunnel/id_ed25519"
    else
      ssh-keygen -q -t ed25519 -N '' -C "migratekit-vma@$(hostname)" -f "$key"
      chmod 0600 "$key"
      chown_in_root migratekit-tunnel:migratekit-tunnel "$key"
      say "generated /etc/migratekit/tunnel/id_ed25519"
    fi
  fi
  if [[ -n $oma_host_key ]]; then
    printf '[%s]:443 %s\n' "$oma_host" "$(cut -d' ' -f1-2 <<<"$oma_host_key")" |
      install_content /etc/migratekit/tunnel/known_hosts 0644
  elif [[ ! -f $prefix/etc/migratekit/tunnel/known_hosts ]]; then
    say "NOTE: no --oma-host-key: tunnel-manager refuses the OMA until its host key is pinned in /etc/migratekit/tunnel/known_hosts"
  fi
  if [[ -f $key.pub ]]; then
    say "the tunnel's public key, for the OMA's install.sh --vma-public-key:"
    echo "  $(cat "$key.pub")"
  fi
fi

# --- OMA --------------------------------------------------------------------

if [[ $role == oma ]]; then
  ensure_account migratekit-exports disk
  ensure_account "$tunnel_user"
  install_file "$here/systemd/migratekit-export-manager.service" \
    /etc/systemd/system/migratekit-export-manager.service 0644
  # Preloaded into the nbd-server that export-manager starts (see
  # services/exports/nbd_log_relay.c); the config names this path.
  install_file "$relay_library" \
    /usr/local/lib/migratekit/libnbd_log_relay.so 0644
  install_file "$here/config/export-manager.textproto" \
    /etc/migratekit/export-manager.textproto 0644

  # The ports sshd listens on now stay: a drop-in's Port lines replace the
  # default 22 rather than adding to it.
  ports=$(cat "$prefix/etc/ssh/sshd_config" \
    "$prefix"/etc/ssh/sshd_config.d/*.conf 2>/dev/null |
    grep -v '^#' | grep -i -E '^[[:space:]]*Port[[:space:]]+[0-9]+' |
    awk '{print $2}' | grep -v '^443$' | sort -un || true)
  [[ -n $ports ]] || ports=22
  port_lines=$(sed 's/^/Port /' <<<"$ports")
  render "$here/sshd/migratekit-tunnel.conf.in" |
    awk -v ports="$port_lines" '{ if ($0 == "@PORTS@") print ports; else print }' |
    install_content /etc/ssh/sshd_config.d/migratekit-tunnel.conf 0644

  ensure_dir /etc/migratekit/sshd 0755
  if [[ -n $vma_public_key ]]; then
    printf 'restrict,port-forwarding,permitopen="127.0.0.1:10809",permitlisten="127.0.0.1:9081",command="/bin/true" %s\n' \
      "$vma_public_key" |
      install_content "/etc/migratekit/sshd/authorized_keys.$tunnel_user" 0644
  elif [[ ! -f $prefix/etc/migratekit/sshd/authorized_keys.$tunnel_user ]]; then
    say "NOTE: no --vma-public-key: the tunnel account accepts no key yet"
  fi
  host_key=$prefix/etc/ssh/ssh_host_ed25519_key.pub
  if [[ -f $host_key ]]; then
    say "this OMA's host key, for the VMA's install.sh --oma-host-key:"
    echo "  $(cut -d' ' -f1-2 "$host_key")"
  fi
fi

if ((changed == 0)); then
  say "nothing to change"
elif ((dry_run == 0)) && [[ $prefix == "" ]]; then
  say "next: systemctl daemon-reload && systemctl enable --now $(
    [[ $role == vma ]] && echo migratekit-tunnel migratekit-vma-api ||
      echo migratekit-export-manager) && systemctl reload ssh"
fi
