#!/usr/bin/env bash
# The main job on one machine. Today: builds the three services, starts
# each on loopback, shows each answering a health check through grpcurl,
# and stops them. It grows into a whole migration as the services do.
# Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
PATH=$PATH:/usr/local/go/bin:$HOME/go/bin

step() { printf '\n== %s\n' "$*"; }

step "building"
bazel build //services/... 2>&1 | grep -E '^(ERROR|INFO: Build)' || true

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

declare -A services=(
  [tunnel-manager]="services/tunnel/tunnel-manager migratekit.tunnel.v1.TunnelService"
  [vma-api]="services/vma-api/vma-api migratekit.vma.v1.VmaService"
  [export-manager]="services/exports/export-manager migratekit.exports.v1.ExportService"
)
for name in tunnel-manager vma-api export-manager; do
  read -r binary service <<<"${services[$name]}"
  port=$(free_port)
  step "starting $name on 127.0.0.1:$port"
  extra=()
  if [[ $name == tunnel-manager ]]; then
    # No OMA in this demo yet: aim at a port nobody listens on (the tunnel
    # retries with backoff) with a key of its own.
    ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
    extra=(--oma_host=127.0.0.1 --oma_port="$(free_port)"
      --identity="$work/id_ed25519" --host_key_fingerprint=SHA256:none
      --local_forwards= --remote_forwards=127.0.0.1:9081:127.0.0.1:8081)
  fi
  "bazel-bin/$binary" "${extra[@]}" --grpc_listen="127.0.0.1:$port" \
    --metrics_listen="127.0.0.1:$(free_port)" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 50); do
    grpcurl -plaintext "127.0.0.1:$port" list >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "services:"
  grpcurl -plaintext "127.0.0.1:$port" list | sed 's/^/  /'
  echo "health of the process:"
  grpcurl -plaintext "127.0.0.1:$port" grpc.health.v1.Health/Check |
    sed 's/^/  /'
  echo "health of $service (NOT_SERVING until its feature is built):"
  grpcurl -plaintext -d "{\"service\":\"$service\"}" "127.0.0.1:$port" \
    grpc.health.v1.Health/Check | sed 's/^/  /'
done

step "stopping"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
pids=()
echo "all services stopped (exit status $status)"
exit "$status"
