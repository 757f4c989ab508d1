# Helpers for the integration tests: real programs started on free ports in a
# temporary directory, cases reported one by one in the JUnit XML that Bazel
# reads (and tests/count_results.py counts), and everything started killed at
# exit.
#
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
#   tl_init
#   port=$(tl_free_port)
#   tl_start server "$(tl_bin services/vma-api/vma-api)" --grpc_listen=127.0.0.1:$port
#   tl_wait_port 127.0.0.1 "$port"
#   check_list() { tl_expect_contains "$(grpcurl ...)" "VmaService"; }
#   tl_case "lists its service" check_list
#   tl_finish
#
# A case passes when its function returns 0 and no tl_expect_* or tl_fail
# inside it failed. tl_skip records a case as skipped with its reason; a
# skipped case never counts as passed.

set -u

TL_CASES=()      # "name|result|message" per case; result pass, fail or skip
TL_PIDS=()       # background processes to kill at exit
TL_ADOPTED=()    # "pid|marker" of daemons adopted with tl_adopt
TL_NAMES=()
TL_CASE_FAILED=0
TL_CASE_MESSAGE=""

tl_init() {
  TL_TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tl.XXXXXX")
  TL_SUITE=$(basename "$0" .sh)
  export TL_TMP
  trap tl_cleanup EXIT
  # Bazel ends a test that runs out of time with SIGTERM: clean up then too.
  trap 'exit 143' TERM INT
}

# The absolute path of a file in the test's runfiles, for example
# "services/tunnel/tunnel-manager".
tl_bin() {
  local _tl_path="${TEST_SRCDIR:-$PWD}/${TEST_WORKSPACE:-migratekit}/$1"
  [[ -e "$_tl_path" ]] || _tl_path="$PWD/$1"
  echo "$_tl_path"
}

tl_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# A TCP port nobody listens on now, on 127.0.0.1.
tl_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts "$@" in the background with output to $TL_TMP/NAME.log; the process
# is killed at exit if still running.
tl_start() {
  local _tl_name=$1
  shift
  "$@" >"$TL_TMP/$_tl_name.log" 2>&1 &
  local _tl_pid=$!
  TL_PIDS+=("$_tl_pid")
  TL_NAMES+=("$_tl_name")
  eval "TL_PID_${_tl_name//[^A-Za-z0-9_]/_}=$_tl_pid"
  tl_log "started $_tl_name pid=$_tl_pid: $*"
}

tl_pid() {
  local _tl_var="TL_PID_${1//[^A-Za-z0-9_]/_}"
  echo "${!_tl_var:-}"
}

# True while PID is still ours: a child of this shell, or a daemon adopted
# with tl_adopt whose command line still holds its marker. A child that has
# exited and been reaped leaves its pid free, and with pid_max at 32768 a
# busy machine hands it to someone else (another test's server) within
# minutes: never signal a pid that fails this.
tl_owns() {
  local _tl_stat _tl_ppid _tl_entry
  _tl_stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  _tl_stat=${_tl_stat##*) }  # past "pid (comm) ", comm may hold anything
  read -r _ _tl_ppid _ <<<"$_tl_stat"
  [[ $_tl_ppid == "$BASHPID" ]] && return 0
  for _tl_entry in "${TL_ADOPTED[@]}"; do
    [[ ${_tl_entry%%|*} == "$1" ]] || continue
    tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "${_tl_entry#*|}"
    return
  done
  return 1
}

# Makes a daemon that forked away from this shell (PID) one of the
# processes NAME names and cleanup stops; MARKER is a string of its command
# line that tells it from whatever gets the pid once it is gone.
tl_adopt() {
  TL_PIDS+=("$2")
  TL_NAMES+=("$1")
  TL_ADOPTED+=("$2|$3")
  eval "TL_PID_${1//[^A-Za-z0-9_]/_}=$2"
}

# Sends SIGNAL (TERM by default) to NAME and waits up to SECONDS (10) for it
# to exit. Prints nothing; returns the process's exit status, or 124 if it
# did not exit in time (it is then killed).
tl_stop() {
  local _tl_name=$1 _tl_signal=${2:-TERM} _tl_seconds=${3:-10}
  local _tl_pid
  _tl_pid=$(tl_pid "$_tl_name")
  [[ -n "$_tl_pid" ]] || return 127
  # Gone already: reap it (its status, if bash still has it) and signal no one.
  tl_owns "$_tl_pid" || { wait "$_tl_pid" 2>/dev/null; return; }
  kill "-$_tl_signal" "$_tl_pid" 2>/dev/null
  local _tl_deadline=$((SECONDS + _tl_seconds))
  while kill -0 "$_tl_pid" 2>/dev/null && ((SECONDS < _tl_deadline)); do
    # A zombie child counts as exited: wait reaps it below.
    [[ "$(ps -o stat= -p "$_tl_pid" 2>/dev/null)" == Z* ]] && break
    sleep 0.1
  done
  if kill -0 "$_tl_pid" 2>/dev/null && [[ "$(ps -o stat= -p "$_tl_pid")" != Z* ]]; then
    kill -KILL "$_tl_pid" 2>/dev/null
    wait "$_tl_pid" 2>/dev/null
    return 124
  fi
  wait "$_tl_pid" 2>/dev/null  # the status is returned; bash's notice is not
}

# Polls until "$@" succeeds, for at most SECONDS. Returns 1 on time-out.
tl_wait_until() {
  local _tl_seconds=$1
  shift
  local _tl_deadline=$((SECONDS + _tl_seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < _tl_deadline)) || return 1
    sleep 0.2
  done
}

tl_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Waits until something accepts TCP connections on HOST PORT.
tl_wait_port() {
  tl_wait_until "${3:-20}" tl_port_open "$1" "$2"
}

tl_fail() {
  TL_CASE_FAILED=1
  TL_CASE_MESSAGE+="$*; "
  tl_log "FAIL: $*"
}

tl_expect_eq() {
  local _tl_want=$1 _tl_got=$2 _tl_what=${3:-value}
  [[ "$_tl_want" == "$_tl_got" ]] || tl_fail "$_tl_what: want '$_tl_want', got '${_tl_got:0:300}'"
}

tl_expect_contains() {
  local _tl_haystack=$1 _tl_needle=$2 _tl_what=${3:-output}
  [[ "$_tl_haystack" == *"$_tl_needle"* ]] ||
    tl_fail "$_tl_what: '${_tl_haystack:0:300}' does not contain '$_tl_needle'"
}

tl_expect_not_contains() {
  local _tl_haystack=$1 _tl_needle=$2 _tl_what=${3:-output}
  [[ "$_tl_haystack" != *"$_tl_needle"* ]] ||
    tl_fail "$_tl_what: '${_tl_haystack:0:300}' contains '$_tl_needle'"
}

# Runs FUNCTION as the case NAME and records its result.
tl_case() {
  local _tl_name=$1
  shift
  TL_CASE_FAILED=0
  TL_CASE_MESSAGE=""
  tl_log "CASE $_tl_name"
  if ! "$@"; then
    [[ $TL_CASE_FAILED == 1 ]] || tl_fail "returned non-zero"
  fi
  if [[ $TL_CASE_FAILED == 1 ]]; then
    TL_CASES+=("$_tl_name|fail|$TL_CASE_MESSAGE")
    tl_log "FAILED $_tl_name"
  else
    TL_CASES+=("$_tl_name|pass|")
    tl_log "PASSED $_tl_name"
  fi
}

tl_skip() {
  TL_CASES+=("$1|skip|$2")
  tl_log "SKIPPED $1: $2"
}

tl_is_root() { [[ $(id -u) == 0 ]]; }

tl_xml_escape() {
  # bash 5.2 reads an unquoted & in a replacement as the matched text.
  local _tl_s=${1//&/'&amp;'}
  _tl_s=${_tl_s//</'&lt;'}
  _tl_s=${_tl_s//>/'&gt;'}
  _tl_s=${_tl_s//\"/'&quot;'}
  echo "$_tl_s"
}

tl_write_report() {
  local _tl_out=${XML_OUTPUT_FILE:-$TL_TMP/report.xml}
  local _tl_failures=0 _tl_skipped=0 _tl_entry _tl_name _tl_result _tl_message
  for _tl_entry in "${TL_CASES[@]}"; do
    [[ $_tl_entry == *"|fail|"* ]] && _tl_failures=$((_tl_failures + 1))
    [[ $_tl_entry == *"|skip|"* ]] && _tl_skipped=$((_tl_skipped + 1))
  done
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuites><testsuite name=\"$TL_SUITE\" tests=\"${#TL_CASES[@]}\" failures=\"$_tl_failures\" skipped=\"$_tl_skipped\">"
    for _tl_entry in "${TL_CASES[@]}"; do
      IFS='|' read -r _tl_name _tl_result _tl_message <<<"$_tl_entry"
      _tl_name=$(tl_xml_escape "$_tl_name")
      _tl_message=$(tl_xml_escape "$_tl_message")
      case $_tl_result in
        pass) echo "<testcase name=\"$_tl_name\" classname=\"$TL_SUITE\"/>" ;;
        fail) echo "<testcase name=\"$_tl_name\" classname=\"$TL_SUITE\"><failure message=\"$_tl_message\"/></testcase>" ;;
        skip) echo "<testcase name=\"$_tl_name\" classname=\"$TL_SUITE\"><skipped message=\"$_tl_message\"/></testcase>" ;;
      esac
    done
    echo "</testsuite></testsuites>"
  } >"$_tl_out"
}

tl_cleanup() {
  local _tl_pid _tl_live=()
  for _tl_pid in "${TL_PIDS[@]}"; do
    tl_owns "$_tl_pid" && _tl_live+=("$_tl_pid")
  done
  for _tl_pid in "${_tl_live[@]}"; do
    kill -TERM "$_tl_pid" 2>/dev/null
  done
  sleep 0.3
  for _tl_pid in "${_tl_live[@]}"; do
    tl_owns "$_tl_pid" || continue
    kill -KILL "$_tl_pid" 2>/dev/null
    # Reaped here, bash's "Killed" notice goes nowhere.
    wait "$_tl_pid" 2>/dev/null
  done
  # Logs of what ran, for a failed test's output.
  if [[ ${TL_ANY_FAILED:-0} == 1 ]]; then
    local _tl_log
    for _tl_log in "$TL_TMP"/*.log; do
      [[ -f "$_tl_log" ]] || continue
      echo "----- $(basename "$_tl_log") (last 40 lines)" >&2
      tail -n 40 "$_tl_log" >&2
    done
  fi
}

# Writes the report and exits: 1 if any case failed, else 0.
tl_finish() {
  tl_write_report
  local _tl_entry
  for _tl_entry in "${TL_CASES[@]}"; do
    if [[ $_tl_entry == *"|fail|"* ]]; then
      TL_ANY_FAILED=1
      exit 1
    fi
  done
  exit 0
}
