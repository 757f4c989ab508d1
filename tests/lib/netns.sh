# Two hosts on one machine: network namespaces "vma" and "oma" joined by a
# veth pair, with nftables letting only TCP 443 from the VMA to the OMA
# across (and the replies back). Root only. Sourced after testlib.sh.
#
#   netns_up          makes both; sets NS_VMA, NS_OMA (unique names),
#                     VMA_ADDR=198.18.0.1, OMA_ADDR=198.18.0.2; torn down by
#                     netns_down (call it from the test's exit path, or rely
#                     on tl_cleanup calling netns_down when sourced).
#   in_vma CMD...     runs CMD in the VMA's namespace; in_oma likewise.
#   netns_cut         drops every packet between the two (no reset, no FIN:
#                     a path that went silent); netns_restore undoes it.
#
# 198.18.0.0/15 is the range set aside for benchmarking and tests; nothing
# outside this machine is ever addressed.

VMA_ADDR=198.18.0.1
OMA_ADDR=198.18.0.2

netns_up() {
  local id
  id=$(printf '%04x' $((RANDOM % 65536)))
  NS_VMA=mk-vma-$id
  NS_OMA=mk-oma-$id
  ip netns add "$NS_VMA" || return 1
  ip netns add "$NS_OMA" || return 1
  ip link add "vma$id" netns "$NS_VMA" type veth peer name "oma$id" \
    netns "$NS_OMA" || return 1
  ip -n "$NS_VMA" addr add "$VMA_ADDR/30" dev "vma$id"
  ip -n "$NS_OMA" addr add "$OMA_ADDR/30" dev "oma$id"
  local ns
  for ns in "$NS_VMA" "$NS_OMA"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_VMA" link set "vma$id" up
  ip -n "$NS_OMA" link set "oma$id" up

  # The OMA accepts only new connections to 443 from the VMA; the VMA
  # accepts only replies. The "cut" chains come first and are empty until
  # netns_cut fills them.
  ip netns exec "$NS_OMA" nft -f - <<NFT || return 1
table inet migratekit {
  chain cut {}
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "lo" accept
    jump cut
    ct state established,related accept
    tcp dport 443 accept
    drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    jump cut
  }
}
NFT
  ip netns exec "$NS_VMA" nft -f - <<NFT || return 1
table inet migratekit {
  chain cut {}
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "lo" accept
    jump cut
    ct state established,related accept
    drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    jump cut
  }
}
NFT
  NETNS_ID=$id
}

in_vma() { ip netns exec "$NS_VMA" "$@"; }
in_oma() { ip netns exec "$NS_OMA" "$@"; }

netns_cut() {
  in_oma nft add rule inet migratekit cut drop
  in_vma nft add rule inet migratekit cut drop
}

netns_restore() {
  in_oma nft flush chain inet migratekit cut
  in_vma nft flush chain inet migratekit cut
}

netns_down() {
  [[ -n ${NS_VMA:-} ]] || return 0
  # Processes still inside keep a namespace alive; kill them first.
  local ns pid
  for ns in "$NS_VMA" "$NS_OMA"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
    ip netns delete "$ns" 2>/dev/null
  done
  NS_VMA=""
  NS_OMA=""
}
