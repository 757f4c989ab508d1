#!/usr/bin/env bash
# Makes a Debian 12 machine ready to build, test and demo migratekit: the
# Debian packages and the pinned grpcurl. Installs what is missing when run
# as root; otherwise prints the exact command to run and exits 1. Does
# nothing when everything is there already.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap g++ pkg-config clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssh2-1-dev libnbd-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libspdlog-dev libcli11-dev libsqlite3-dev
  libssl-dev
  libsystemd-dev
  # real peers that tests and the demo start
  openssh-server openssh-client nbd-server nbdkit libnbd-bin qemu-utils
  prometheus iproute2 nftables e2fsprogs fdisk systemd
  # test tooling
  python3 curl procps psmisc golang-go
)
GRPCURL_VERSION=v1.9.1

missing=()
for package in "${PACKAGES[@]}"; do
  if [[ "$package" == golang-go ]] && command -v go >/dev/null; then
    continue  # any Go toolchain will do for grpcurl
  fi
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: missing packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

# grpcurl is a Go program that Debian does not package.
PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
if ! command -v grpcurl >/dev/null; then
  bin_dir=/usr/local/bin
  [[ $(id -u) == 0 ]] || bin_dir=$HOME/go/bin
  echo "setup: installing grpcurl $GRPCURL_VERSION into $bin_dir"
  GOBIN=$bin_dir go install \
    "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
fi
