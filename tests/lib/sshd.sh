# A real OpenSSH sshd set up the way the OMA runs it, for integration tests.
# Source it after testlib.sh (it uses tl_free_port, tl_start, tl_stop and
# tl_wait_port):
#
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/sshd.sh"
#   tl_init
#   sshd_setup "$TL_TMP/sshd" "$nbd_port" "$reverse_port"
#   sshd_start
#   tunnel-manager --oma_host=127.0.0.1 --oma_port="$SSHD_PORT" \
#     --user="$SSHD_USER" --identity="$SSHD_IDENTITY" \
#     --known_hosts="$SSHD_KNOWN_HOSTS" ...
#   sshd_stop
#
# The account is the restricted one of DESIGN.md §1: Ed25519 public key
# only, no PTY, no X11 or agent forwarding, no user rc, forced command
# /bin/true, PermitOpen 127.0.0.1:<connect port>, PermitListen
# 127.0.0.1:<listen port>. An unprivileged sshd can only log in the user
# that runs it, so the account is the current user: root in CI (allowed by
# "PermitRootLogin prohibit-password", key only) or whoever runs the tests.
# The account must not be locked: with UsePAM no, sshd refuses even key
# logins to it ("account is locked"). root with "*" in /etc/shadow works
# (checked); system accounts such as nobody are refused; an ordinary login
# account running the tests itself is what an unprivileged run needs.
#
# Functions:
#   sshd_setup DIR [PERMIT_OPEN_PORT] [PERMIT_LISTEN_PORT]
#       Makes DIR with a fresh Ed25519 host key, a client key (0600),
#       authorized_keys, known_hosts and sshd_config, on a free port.
#       Ports default to 10809 and 9081; each may be a space-separated
#       list ("10809 10810") for tests that need several targets. Extra sshd_config lines (for
#       example "ClientAliveInterval 2", "RekeyLimit 64M") can be given in
#       SSHD_EXTRA_CONFIG before calling it; they go before the Match block.
#   sshd_start        Starts sshd (tl_start name "sshd") and waits for it.
#   sshd_stop [SIG]   Stops it (TERM by default): the listener goes away;
#                     sessions already open keep their own sshd children.
#   sshd_kill_sessions  Kills the per-connection sshd processes (children
#                     of the listener, by pid): every session drops at once,
#                     as when the OMA reboots.
#   sshd_restart      sshd_kill_sessions, sshd_stop, sshd_start: same port
#                     and keys, no session survives.
#   sshd_new_host_key Replaces the host key (for "changed key" tests); takes
#                     effect at the next sshd_start. SSHD_KNOWN_HOSTS keeps
#                     the old key.
#   sshd_log          Prints sshd's log so far.
#
# Settings read by sshd_setup (all optional):
#   SSHD_LISTEN_HOST  address to listen on (127.0.0.1)
#   SSHD_LISTEN_PORT  port (a free one)
#   SSHD_NETNS        network namespace to run sshd in (none)
#
# Variables set by sshd_setup:
#   SSHD_DIR, SSHD_PORT, SSHD_USER, SSHD_IDENTITY (client private key),
#   SSHD_KNOWN_HOSTS (one "[127.0.0.1]:PORT ssh-ed25519 ..." line),
#   SSHD_FINGERPRINT ("SHA256:..." of the host key), SSHD_CONFIG,
#   SSHD_PERMIT_OPEN and SSHD_PERMIT_LISTEN ("127.0.0.1:PORT ...").

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}

sshd_setup() {
  SSHD_DIR=$1
  local _sshd_port _sshd_options=""
  SSHD_PERMIT_OPEN=""
  SSHD_PERMIT_LISTEN=""
  for _sshd_port in ${2:-10809}; do
    SSHD_PERMIT_OPEN+="${SSHD_PERMIT_OPEN:+ }127.0.0.1:$_sshd_port"
    _sshd_options+=",permitopen=\"127.0.0.1:$_sshd_port\""
  done
  for _sshd_port in ${3:-9081}; do
    SSHD_PERMIT_LISTEN+="${SSHD_PERMIT_LISTEN:+ }127.0.0.1:$_sshd_port"
    _sshd_options+=",permitlisten=\"127.0.0.1:$_sshd_port\""
  done
  SSHD_HOST=${SSHD_LISTEN_HOST:-127.0.0.1}
  SSHD_PORT=${SSHD_LISTEN_PORT:-$(tl_free_port)}
  SSHD_RUN=()
  [[ -z ${SSHD_NETNS:-} ]] || SSHD_RUN=(ip netns exec "$SSHD_NETNS")
  SSHD_USER=$(id -un)
  SSHD_IDENTITY=$SSHD_DIR/id_ed25519
  SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
  SSHD_CONFIG=$SSHD_DIR/sshd_config
  mkdir -p "$SSHD_DIR"
  chmod 700 "$SSHD_DIR"
  # sshd (as root) needs its privilege separation directory.
  if [[ $(id -u) == 0 && ! -d /run/sshd ]]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
  fi

  rm -f "$SSHD_DIR"/ssh_host_ed25519_key* "$SSHD_IDENTITY"*
  ssh-keygen -q -t ed25519 -N '' -C sshd-test-host \
    -f "$SSHD_DIR/ssh_host_ed25519_key" || return 1
  ssh-keygen -q -t ed25519 -N '' -C vma-tunnel-test -f "$SSHD_IDENTITY" ||
    return 1
  chmod 600 "$SSHD_IDENTITY"
  _sshd_write_known_hosts
  echo "restrict,port-forwarding,command=\"/bin/true\"$_sshd_options $(cat "$SSHD_IDENTITY.pub")" \
    >"$SSHD_DIR/authorized_keys"
  chmod 600 "$SSHD_DIR/authorized_keys"

  cat >"$SSHD_CONFIG" <<CONF
Port $SSHD_PORT
ListenAddress $SSHD_HOST
HostKey $SSHD_DIR/ssh_host_ed25519_key
HostKeyAlgorithms ssh-ed25519
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
# The test's temporary directories are not owned the way StrictModes wants.
StrictModes no
UsePAM no
PubkeyAuthentication yes
PubkeyAcceptedAlgorithms ssh-ed25519
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $SSHD_USER
LogLevel VERBOSE
Ciphers aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,chacha20-poly1305@openssh.com
MACs hmac-sha2-256,hmac-sha2-512,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com
${SSHD_EXTRA_CONFIG:-}
Match User $SSHD_USER
  AllowTcpForwarding yes
  PermitOpen $SSHD_PERMIT_OPEN
  PermitListen $SSHD_PERMIT_LISTEN
  GatewayPorts no
  PermitTTY no
  X11Forwarding no
  AllowAgentForwarding no
  AllowStreamLocalForwarding no
  PermitTunnel no
  PermitUserRC no
  ForceCommand /bin/true
CONF
  "$SSHD_BIN" -t -f "$SSHD_CONFIG" || return 1
}

_sshd_write_known_hosts() {
  echo "[$SSHD_HOST]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/ssh_host_ed25519_key.pub")" \
    >"$SSHD_KNOWN_HOSTS"
  SSHD_FINGERPRINT=$(ssh-keygen -l -E sha256 \
    -f "$SSHD_DIR/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
}

sshd_start() {
  tl_start sshd "${SSHD_RUN[@]}" "$SSHD_BIN" -D -e -f "$SSHD_CONFIG"
  tl_wait_until 20 "${SSHD_RUN[@]}" bash -c \
    "exec 3<>/dev/tcp/$SSHD_HOST/$SSHD_PORT"
}

sshd_stop() {
  tl_stop sshd "${1:-TERM}" 10
  return 0
}

sshd_kill_sessions() {
  local _sshd_pid
  _sshd_pid=$(tl_pid sshd)
  [[ -n "$_sshd_pid" ]] && pkill -TERM -P "$_sshd_pid"
  return 0
}

sshd_restart() {
  sshd_kill_sessions
  sshd_stop
  cat "$TL_TMP/sshd.log" >>"$TL_TMP/sshd.old.log" 2>/dev/null
  sshd_start
}

sshd_new_host_key() {
  local known=$SSHD_DIR/known_hosts.keep
  cp "$SSHD_KNOWN_HOSTS" "$known"
  rm -f "$SSHD_DIR"/ssh_host_ed25519_key*
  ssh-keygen -q -t ed25519 -N '' -C sshd-test-host-2 \
    -f "$SSHD_DIR/ssh_host_ed25519_key" || return 1
  SSHD_FINGERPRINT=$(ssh-keygen -l -E sha256 \
    -f "$SSHD_DIR/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
  cp "$known" "$SSHD_KNOWN_HOSTS"
}

sshd_log() {
  cat "$TL_TMP/sshd.old.log" "$TL_TMP/sshd.log" 2>/dev/null
}
