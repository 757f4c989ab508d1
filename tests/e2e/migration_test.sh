#!/usr/bin/env bash
# The whole system end to end: a real ext4 disk, as a VMDK served by
# qemu-nbd on the VMA, moved by `migctl migrate` run on the OMA, through the
# tunnel alone. As root the two hosts are network namespaces with only TCP
# 443 between them (and the path can be cut); otherwise everything runs on
# loopback and the cases that need root are skipped.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/testlib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/sshd.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/netns.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/disk_image.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/plane.sh"
tl_init
trap 'tl_cleanup; netns_down' EXIT

PLANE_BIN=$(tl_bin .)
layout=loopback
tl_is_root && layout=netns
# A dead session's reverse listener must go away quickly for the path-cut
# case; the tunnel's own keepalive is 2 s x 3 (plane.sh).
SSHD_EXTRA_CONFIG=$'ClientAliveInterval 2\nClientAliveCountMax 3'
if ! plane_up "$layout"; then
  tl_fail "the plane did not come up ($layout)"
  tl_case "the plane comes up" false
  tl_finish
fi
tl_log "plane up: layout=$layout"

only_443_crosses() {
  local port
  for port in 22 10809 8083 9081; do
    if in_vma timeout 3 bash -c "exec 3<>/dev/tcp/$OMA_ADDR/$port" 2>/dev/null; then
      tl_fail "port $port on the OMA is reachable from the VMA"
    fi
  done
  in_vma timeout 3 bash -c "exec 3<>/dev/tcp/$OMA_ADDR/443" ||
    tl_fail "port 443 on the OMA is not reachable from the VMA"
  for port in 8081 10808; do
    if in_oma timeout 3 bash -c "exec 3<>/dev/tcp/$VMA_ADDR/$port" 2>/dev/null; then
      tl_fail "port $port on the VMA is reachable from the OMA"
    fi
  done
}

disk_dir=$TL_TMP/disk
mkdir -p "$disk_dir"
disk_make_real "$disk_dir" 256
plane_serve_source "$disk_dir/disk.vmdk" vmdk

migrate_real_vmdk() {
  local target=$TL_TMP/target-real.img out rc problems
  truncate -s 256M "$target"
  out=$(migctl_oma migrate --volume-id e2e-real --device "$target" \
    --source "$PLANE_SOURCE_URI" --verify 2>&1)
  rc=$?
  tl_log "migctl migrate said:"$'\n'"$out"
  tl_expect_eq 0 "$rc" "migctl migrate exit code"
  tl_expect_contains "$out" "verified" "migctl output"
  tl_expect_contains "$out" "export migration-vol-e2e-real removed" \
    "migctl output"
  problems=$(disk_check_copy "$disk_dir/disk.raw" "$target") ||
    tl_fail "the migrated disk is not whole: $problems"
  # The export is gone afterwards.
  migctl_oma exports get --volume-id e2e-real >/dev/null 2>&1 &&
    tl_fail "the export is still there after migrate"
  return 0
}

grpcurl_reaches_vma_api_through_the_reverse_forward() {
  local listed answer
  listed=$(on_oma grpcurl -plaintext "$PLANE_REVERSE" list 2>&1)
  tl_expect_contains "$listed" "migratekit.vma.v1.VmaService" "list via 9081"
  answer=$(on_oma grpcurl -plaintext "$PLANE_REVERSE" \
    migratekit.vma.v1.VmaService/ListJobs 2>&1)
  tl_expect_contains "$answer" "migration-vol-e2e-real" "ListJobs via 9081"
  answer=$(on_oma grpcurl -plaintext -d \
    '{"service":"migratekit.vma.v1.VmaService"}' "$PLANE_REVERSE" \
    grpc.health.v1.Health/Check 2>&1)
  tl_expect_contains "$answer" '"SERVING"' "vma-api health via 9081"
}

# Starts a Prometheus on HOST (oma or vma) scraping the given metrics
# addresses every second; sets PROM_URL.
start_prometheus() {
  local host=$1 name=prometheus-$1 port config
  shift
  port=$(tl_free_port)
  config=$TL_TMP/$name.yml
  {
    echo "global: {scrape_interval: 1s}"
    echo "scrape_configs:"
    echo "  - job_name: migratekit"
    echo "    static_configs:"
    echo "      - targets: [$(printf '"%s",' "$@" | sed 's/,$//')]"
  } >"$config"
  local run=("${OMA_RUN[@]}")
  [[ $host == vma ]] && run=("${VMA_RUN[@]}")
  tl_start "$name" "${run[@]}" prometheus --config.file="$config" \
    --storage.tsdb.path="$TL_TMP/$name-data" \
    --web.listen-address="127.0.0.1:$port"
  PROM_URL=http://127.0.0.1:$port
}

prom_query() {  # prom_query HOST QUERY: prints the first value
  "on_$1" curl -fsS --get --data-urlencode "query=$2" "$3/api/v1/query" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}

prometheus_scrapes_every_service() {
  local vma_prom oma_prom want
  start_prometheus vma "$PLANE_TUNNEL_METRICS" "$PLANE_VMA_METRICS"
  vma_prom=$PROM_URL
  start_prometheus oma "$PLANE_EXPORTS_METRICS"
  oma_prom=$PROM_URL
  scraped() { [[ "$(prom_query "$1" "$2" "$3")" == "$4" ]]; }
  tl_wait_until 30 scraped vma 'count(up == 1)' "$vma_prom" 2 ||
    tl_fail "the VMA's Prometheus does not see both services up"
  tl_wait_until 30 scraped oma 'count(up == 1)' "$oma_prom" 1 ||
    tl_fail "the OMA's Prometheus does not see export-manager up"
  tl_wait_until 30 scraped vma 'migratekit_tunnel_up' "$vma_prom" 1 ||
    tl_fail "migratekit_tunnel_up is not 1 in Prometheus: $(
      prom_query vma migratekit_tunnel_up "$vma_prom")"
}

# One migration in the background; its output and exit code land in
# $TL_TMP/NAME.out and NAME.rc, its pid is added to MIGRATIONS.
MIGRATIONS=()
migrate_in_background() {
  local name=$1
  shift
  (migctl_oma --timeout 120 migrate "$@" >"$TL_TMP/$name.out" 2>&1
    echo $? >"$TL_TMP/$name.rc") &
  MIGRATIONS+=($!)
}

# Waits for the background migrations (not for the servers, which are
# background processes of this shell too).
wait_for_migrations() {
  local pid
  for pid in "${MIGRATIONS[@]}"; do wait "$pid"; done
  MIGRATIONS=()
}

two_migrations_and_a_third_export_at_once() {
  local small=$TL_TMP/target-small.img big=$TL_TMP/target-big.img
  local third=$TL_TMP/target-third.img
  truncate -s 256M "$big"
  truncate -s 96M "$small"
  truncate -s 16M "$third"
  # The second source: a synthetic 96 MiB disk, slowed so that the copies
  # overlap.
  local source2_port
  source2_port=$(_plane_port 10901)
  # One thread per connection: see nbdkit_start in tests/lib/nbd.sh.
  tl_start source2 "${VMA_RUN[@]}" nbdkit --foreground --exit-with-parent \
    --threads=1 --ipaddr 127.0.0.1 --port "$source2_port" --filter=rate \
    pattern 96M rate=32M
  _plane_wait vma 127.0.0.1 "$source2_port" || tl_fail "nbdkit did not start"
  migrate_in_background big --volume-id e2e-big --device "$big" \
    --source "$PLANE_SOURCE_URI" --verify
  migrate_in_background small --volume-id e2e-small --device "$small" \
    --source "nbd://127.0.0.1:$source2_port/" --verify

  # While they copy: a third export, served.
  sleep 1
  local made
  made=$(migctl_oma exports create --volume-id e2e-third --device "$third" 2>&1) ||
    tl_fail "third export: $made"
  tl_expect_contains "$made" "served" "third export state"
  on_oma nbdinfo --size "nbd://$PLANE_NBD/migration-vol-e2e-third" \
    >/dev/null 2>&1 || tl_fail "the third export does not serve"

  wait_for_migrations
  tl_expect_eq 0 "$(cat "$TL_TMP/big.rc")" "big migration: $(tail -3 "$TL_TMP/big.out")"
  tl_expect_eq 0 "$(cat "$TL_TMP/small.rc")" "small migration: $(tail -3 "$TL_TMP/small.out")"
  tl_expect_contains "$(cat "$TL_TMP/big.out")" "verified" "big migration"
  tl_expect_contains "$(cat "$TL_TMP/small.out")" "verified" "small migration"
  local problems
  problems=$(disk_check_copy "$disk_dir/disk.raw" "$big") ||
    tl_fail "big: $problems"
  migctl_oma exports delete --volume-id e2e-third >/dev/null ||
    tl_fail "deleting the third export"
  tl_stop source2 || true
}

metric_value() {  # metric_value HOST ADDRESS NAME
  "on_$1" curl -fsS "http://$2/metrics" | awk -v name="$3" '$1 == name { print $2 }'
}

path_dropped_for_20s_mid_copy() {
  local target=$TL_TMP/target-cut.img port
  truncate -s 256M "$target"
  port=$(_plane_port 10902)
  tl_start source3 "${VMA_RUN[@]}" nbdkit --foreground --exit-with-parent \
    --threads=1 --ipaddr 127.0.0.1 --port "$port" --filter=rate pattern 256M \
    rate=16M
  _plane_wait vma 127.0.0.1 "$port" || tl_fail "nbdkit did not start"
  migrate_in_background cut --volume-id e2e-cut --device "$target" \
    --source "nbd://127.0.0.1:$port/" --verify

  # Some data first, then silence on the wire.
  copying() { grep -q "copying" "$TL_TMP/cut.out" 2>/dev/null; }
  tl_wait_until 60 copying || tl_fail "the job never started copying"
  sleep 2
  tl_log "cutting the 443 path"
  netns_cut
  tunnel_down() {
    [[ "$(metric_value vma "$PLANE_TUNNEL_METRICS" migratekit_tunnel_up)" == 0 ]]
  }
  tl_wait_until 18 tunnel_down ||
    tl_fail "migratekit_tunnel_up stayed 1 while the path was dropped"
  sleep $((20 - 2))
  tl_log "restoring the 443 path"
  netns_restore
  tl_wait_until 60 plane_tunnel_up || tl_fail "the tunnel did not come back"
  tl_expect_eq 1 "$(metric_value vma "$PLANE_TUNNEL_METRICS" migratekit_tunnel_up)" \
    "migratekit_tunnel_up after the cut"

  wait_for_migrations
  tl_expect_eq 0 "$(cat "$TL_TMP/cut.rc")" "migration across the cut: $(
    tail -5 "$TL_TMP/cut.out")"
  tl_expect_contains "$(cat "$TL_TMP/cut.out")" "verified" "migration output"
  tl_stop source3 || true
}

if [[ $layout == netns ]]; then
  tl_case "only TCP 443 crosses between the hosts" only_443_crosses
else
  tl_skip "only TCP 443 crosses between the hosts" \
    "needs root for network namespaces and nftables"
fi
tl_case "migctl migrate moves a real VMDK and it checks whole" \
  migrate_real_vmdk
tl_case "grpcurl on the OMA reaches vma-api through the reverse forward" \
  grpcurl_reaches_vma_api_through_the_reverse_forward
tl_case "Prometheus scrapes every service; tunnel_up is 1" \
  prometheus_scrapes_every_service
tl_case "two migrations at once and a third export made meanwhile" \
  two_migrations_and_a_third_export_at_once
if [[ $layout == netns ]]; then
  tl_case "the 443 path dropped for 20 s mid-copy: the job resumes and verifies" \
    path_dropped_for_20s_mid_copy
else
  tl_skip "the 443 path dropped for 20 s mid-copy: the job resumes and verifies" \
    "needs root for nftables"
fi
tl_finish
