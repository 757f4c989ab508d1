#!/usr/bin/env bash
# Runs every test: the formatting check, then all Bazel tests (unit tests,
# and integration tests against real sshd, nbd-server, nbdkit, qemu-nbd,
# Prometheus and grpcurl). Prints the number of skipped cases, then ends
# with one line "N passed, N failed". Tests that need root (network
# namespaces, nftables) say so and count as skipped when not run as root.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || exit 1
PATH=$PATH:/usr/local/go/bin:$HOME/go/bin

format=pass
unformatted=$(git ls-files '*.cc' '*.h' | while read -r file; do
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || echo "$file"
done)
if [[ -n "$unformatted" ]]; then
  format=fail
  echo "not clang-formatted (run clang-format -i on them):"
  echo "$unformatted"
fi

output=$(mktemp)
trap 'rm -f "$output"' EXIT
bazel test //... --keep_going 2>&1 | tee "$output" |
  grep -vE '^(Loading|Analyzing|INFO: (Analyzed|Found)|\[[0-9,]+ / )'

python3 tests/count_results.py "$(bazel info bazel-testlogs 2>/dev/null)" \
  "$output" --extra="clang-format=$format"
