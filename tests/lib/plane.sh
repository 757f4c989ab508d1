# The whole network plane on this machine, for the end-to-end test and the
# demo: an OMA (sshd with the restricted tunnel account, export-manager and
# its nbd-server) and a VMA (tunnel-manager, vma-api, a source disk served
# by qemu-nbd), joined only by the SSH session on "port 443".
#
# Two layouts:
#   netns     (root) two network namespaces with nftables letting only TCP
#             443 across (tests/lib/netns.sh); sshd on 198.18.0.2:443; every
#             service on its default port inside its own host.
#   loopback  (anyone) one host; sshd runs as the current user on a free
#             port and every service on a free port.
#
# Source after testlib.sh (tl_init done), sshd.sh and netns.sh:
#   PLANE_BIN=DIR   where services/... and clients/... binaries are
#   plane_up LAYOUT        starts everything; returns non-zero if a part
#                          did not come up (its log is in $TL_TMP)
#   plane_serve_source FILE FORMAT   serves a source disk on the VMA with
#                          qemu-nbd (read-only); sets PLANE_SOURCE_URI
#   on_oma CMD... / on_vma CMD...    runs CMD on that host
#   migctl_oma ARGS...     migctl on the OMA with the plane's addresses
#   plane_tunnel_up        true once the tunnel is up with both forwards
#
# Addresses (host:port, each on its own host's loopback): PLANE_EXPORTS
# (export-manager), PLANE_NBD (nbd-server), PLANE_REVERSE (the OMA's end of
# the reverse forward, vma-api as the OMA sees it), PLANE_TUNNEL_GRPC,
# PLANE_VMA_GRPC, PLANE_FORWARD (the VMA's end of the NBD forward); metrics:
# PLANE_TUNNEL_METRICS, PLANE_VMA_METRICS, PLANE_EXPORTS_METRICS.

on_oma() { "${OMA_RUN[@]}" "$@"; }
on_vma() { "${VMA_RUN[@]}" "$@"; }

_plane_port() {
  if [[ $PLANE_LAYOUT == netns ]]; then echo "$1"; else tl_free_port; fi
}

_plane_wait() {  # _plane_wait HOSTSIDE HOST PORT [SECONDS]
  tl_wait_until "${4:-30}" "on_$1" bash -c "exec 3<>/dev/tcp/$2/$3"
}

plane_up() {
  PLANE_LAYOUT=$1
  local bin=${PLANE_BIN:?PLANE_BIN is not set}
  local sshd_host=127.0.0.1 sshd_port=""
  # Command prefixes that run a program on each host; empty on loopback.
  # Programs are started through these, not through a shell function, so
  # that the pid tl_start keeps is the program's own.
  OMA_RUN=()
  VMA_RUN=()
  if [[ $PLANE_LAYOUT == netns ]]; then
    netns_up || return 1
    OMA_RUN=(ip netns exec "$NS_OMA")
    VMA_RUN=(ip netns exec "$NS_VMA")
    sshd_host=$OMA_ADDR
    sshd_port=443
  fi

  # The ports, as DESIGN.md has them when each host has its own loopback.
  local nbd reverse exports forward vma tunnel
  nbd=$(_plane_port 10809)
  reverse=$(_plane_port 9081)
  exports=$(_plane_port 8083)
  forward=$(_plane_port 10808)
  vma=$(_plane_port 8081)
  tunnel=$(_plane_port 8082)
  PLANE_NBD=127.0.0.1:$nbd
  PLANE_REVERSE=127.0.0.1:$reverse
  PLANE_EXPORTS=127.0.0.1:$exports
  PLANE_FORWARD=127.0.0.1:$forward
  PLANE_VMA_GRPC=127.0.0.1:$vma
  PLANE_TUNNEL_GRPC=127.0.0.1:$tunnel
  PLANE_EXPORTS_METRICS=127.0.0.1:$(_plane_port 9103)
  PLANE_VMA_METRICS=127.0.0.1:$(_plane_port 9102)
  PLANE_TUNNEL_METRICS=127.0.0.1:$(_plane_port 9101)

  # OMA: sshd, export-manager.
  SSHD_LISTEN_HOST=$sshd_host SSHD_LISTEN_PORT=$sshd_port \
    SSHD_NETNS=${NS_OMA:-} sshd_setup "$TL_TMP/oma-sshd" "$nbd" "$reverse" ||
    return 1
  sshd_start || return 1
  tl_start export-manager "${OMA_RUN[@]}" "$bin/services/exports/export-manager" \
    --grpc_listen="$PLANE_EXPORTS" --metrics_listen="$PLANE_EXPORTS_METRICS" \
    --nbd_listen="$PLANE_NBD" --state_dir="$TL_TMP/oma-exports" \
    --allow_regular_files
  _plane_wait oma 127.0.0.1 "$nbd" || return 1

  # VMA: vma-api, tunnel-manager.
  tl_start vma-api "${VMA_RUN[@]}" "$bin/services/vma-api/vma-api" \
    --grpc_listen="$PLANE_VMA_GRPC" --metrics_listen="$PLANE_VMA_METRICS" \
    --state_dir="$TL_TMP/vma-state" --default_target_address="$PLANE_FORWARD"
  _plane_wait vma 127.0.0.1 "$vma" || return 1
  tl_start tunnel-manager "${VMA_RUN[@]}" "$bin/services/tunnel/tunnel-manager" \
    --grpc_listen="$PLANE_TUNNEL_GRPC" \
    --metrics_listen="$PLANE_TUNNEL_METRICS" \
    --oma_host="$sshd_host" --oma_port="$SSHD_PORT" --user="$SSHD_USER" \
    --identity="$SSHD_IDENTITY" --known_hosts="$SSHD_KNOWN_HOSTS" \
    --local_forwards="$PLANE_FORWARD:$PLANE_NBD" \
    --remote_forwards="$PLANE_REVERSE:$PLANE_VMA_GRPC" \
    --keepalive_interval_seconds=2 --keepalive_count=3 \
    --backoff_max_seconds=2 ${PLANE_TUNNEL_FLAGS:-}
  tl_wait_until 60 plane_tunnel_up || return 1
}

plane_tunnel_up() {
  on_vma grpcurl -plaintext -d \
    '{"service":"migratekit.tunnel.v1.TunnelService"}' "$PLANE_TUNNEL_GRPC" \
    grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'
}

plane_serve_source() {
  local image=$1 format=$2 port
  port=$(_plane_port 10900)
  tl_start qemu-nbd "${VMA_RUN[@]}" qemu-nbd --read-only --persistent --shared=16 \
    --format="$format" --bind=127.0.0.1 --port="$port" --export-name=disk \
    "$image"
  _plane_wait vma 127.0.0.1 "$port" || return 1
  PLANE_SOURCE_URI=nbd://127.0.0.1:$port/disk
}

migctl_oma() {
  on_oma "$PLANE_BIN/clients/migctl/migctl" --exports-address="$PLANE_EXPORTS" \
    --vma-address="$PLANE_REVERSE" --tunnel-address="$PLANE_TUNNEL_GRPC" "$@"
}
