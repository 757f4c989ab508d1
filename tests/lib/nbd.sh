# NBD helpers for integration tests and benchmarks; source after testlib.sh
# (they use tl_start, tl_free_port, tl_wait_port and $TL_TMP).
#
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/nbd.sh"
#   tl_init
#   img=$(nbd_image target.img 1G 0xAA)     # a 1 GiB file, every byte 0xAA
#   nbd_server_start srv vol-1 "$img"       # sets NBD_PORT
#   target="nbd://127.0.0.1:$NBD_PORT/vol-1"
#   nbdkit_start src sparse-random 1G seed=7 percent=50   # sets NBD_URI
#   nbd_digest "$NBD_URI"                   # sha256 hex of the disk
#
# The *_start functions start a background process, so they must run in
# the test's own shell, never inside $(...): they hand back what they made
# in a variable.
#
# nbd_image FILE SIZE [BYTE]
#   Makes $TL_TMP/FILE (or FILE if absolute) of SIZE (as truncate takes
#   it): sparse zeroes, or every byte BYTE (for example 0xAA; written for
#   real, so keep it small). Prints the path.
# nbd_server_start NAME EXPORT FILE [EXPORT FILE]...
#   Starts nbd-server (a daemon adopted as tl process NAME) on a free
#   port with a static config in $TL_TMP/NAME/config serving each FILE as
#   EXPORT (read-write, flush and FUA, multi-conn) and waits until it
#   accepts connections. Sets NBD_PORT. nbd-server logs to syslog only:
#   when it fails to start, the config is what there is to look at.
# nbdkit_start NAME [--filter=F]... PLUGIN [ARGS...]
#   Starts nbdkit as tl process NAME on a free port (filters first:
#   nbdkit_start src --filter=delay memory 64M rdelay=10ms). Sets NBD_URI
#   (nbd://127.0.0.1:PORT); leaves NBD_PORT (the nbd-server's) alone.
#   One thread per connection (NBDKIT_SAFE_THREADS): nbdkit 1.32 aborts
#   (connections.c: "Assertion `sock >= 0' failed") when a client vanishes
#   while another thread of its connection still owes a reply: seen with
#   the rate and delay filters, whose sleeps hold that window open, each
#   time a copy through them was cancelled, cut or killed.
# qemu_nbd_start NAME IMAGE FORMAT
#   Serves IMAGE (for example a VMDK made by qemu-img convert -O vmdk) with
#   qemu-nbd as tl process NAME, read-only and shared by up to 16 clients
#   (qemu-nbd takes one client unless told). Sets NBD_URI.
# nbd_digest URI
#   SHA-256 (hex) of the whole disk at URI, read with nbdcopy.
# nbd_size URI
#   The disk's size in bytes.

NBDKIT_SAFE_THREADS=--threads=1

# Makes a disk image file.
nbd_image() {
  local _nbd_path=$1 _nbd_size=$2 _nbd_byte=${3:-}
  [[ $_nbd_path == /* ]] || _nbd_path=$TL_TMP/$_nbd_path
  rm -f "$_nbd_path"
  truncate -s "$_nbd_size" "$_nbd_path"
  if [[ -n $_nbd_byte ]]; then
    local _nbd_bytes
    _nbd_bytes=$(stat -c %s "$_nbd_path")
    python3 - "$_nbd_path" "$_nbd_bytes" "$_nbd_byte" <<'PY'
import sys
path, size, byte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0)
chunk = bytes([byte]) * (1 << 20)
with open(path, "r+b") as f:
    left = size
    while left:
        n = min(left, len(chunk))
        f.write(chunk[:n])
        left -= n
PY
  fi
  echo "$_nbd_path"
}

nbd_server_start() {
  local _nbd_name=$1
  shift
  local _nbd_dir=$TL_TMP/$_nbd_name _nbd_port
  _nbd_port=$(tl_free_port)
  mkdir -p "$_nbd_dir"
  {
    echo "[generic]"
    echo "  port = $_nbd_port"
    echo "  listenaddr = 127.0.0.1"
    echo "  allowlist = true"
    while (($# >= 2)); do
      echo "[$1]"
      echo "  exportname = $2"
      echo "  flush = true"
      echo "  fua = true"
      echo "  trim = true"
      echo "  multifile = false"
      shift 2
    done
  } >"$_nbd_dir/config"
  # nbd-server's -d (no fork) serves one client and spins: let it daemonize
  # and adopt the daemon through its pid file.
  nbd-server -C "$_nbd_dir/config" -p "$_nbd_dir/pid" \
    >"$TL_TMP/$_nbd_name.log" 2>&1 ||
    tl_log "nbd-server $_nbd_name exited $?; config $_nbd_dir/config"
  tl_wait_port 127.0.0.1 "$_nbd_port" 20 ||
    tl_log "nbd-server $_nbd_name did not start; config $_nbd_dir/config"
  tl_wait_until 10 test -s "$_nbd_dir/pid"
  local _nbd_pid
  _nbd_pid=$(cat "$_nbd_dir/pid")
  tl_adopt "$_nbd_name" "$_nbd_pid" "$_nbd_dir/config"
  tl_log "started $_nbd_name pid=$_nbd_pid: nbd-server port=$_nbd_port"
  NBD_PORT=$_nbd_port
}

nbdkit_start() {
  local _nbd_name=$1
  shift
  local _nbd_port
  _nbd_port=$(tl_free_port)
  tl_start "$_nbd_name" nbdkit --foreground --exit-with-parent \
    $NBDKIT_SAFE_THREADS --ipaddr 127.0.0.1 --port "$_nbd_port" "$@"
  tl_wait_port 127.0.0.1 "$_nbd_port" 20 ||
    tl_log "nbdkit $_nbd_name did not start"
  NBD_URI=nbd://127.0.0.1:$_nbd_port
}

qemu_nbd_start() {
  local _nbd_name=$1 _nbd_image=$2 _nbd_format=$3 _nbd_port
  _nbd_port=$(tl_free_port)
  tl_start "$_nbd_name" qemu-nbd --read-only --shared=16 --persistent \
    --bind 127.0.0.1 --port "$_nbd_port" --format "$_nbd_format" \
    "$_nbd_image"
  tl_wait_port 127.0.0.1 "$_nbd_port" 20 ||
    tl_log "qemu-nbd $_nbd_name did not start"
  NBD_URI=nbd://127.0.0.1:$_nbd_port
}

nbd_digest() {
  nbdcopy "$1" - | sha256sum | cut -d' ' -f1
}

nbd_size() {
  nbdinfo --size "$1"
}
