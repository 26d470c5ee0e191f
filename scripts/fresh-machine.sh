#!/usr/bin/env bash
# Runs the README's two commands on a machine where nothing was installed by hand: a clean Debian root
# (12 bookworm and/or 13 trixie) made with debootstrap, this repository's HEAD cloned into it, then
# `npm ci && npx tier up`, the first request through the edge at once, and `npm test`.
#
# The root runs in its own mount and PID namespaces with pivot_root, not chroot: under a chroot the
# container runtime's `exec` (so every healthcheck) enters the host's root instead of the container's,
# because a joined mount namespace starts at its root mount, which a chroot leaves as the host's.
# It has its own network namespace too, reaching the package registries through NAT: the host's
# ports, bridges and firewall rules stay untouched (so it runs beside a host's own `tier up`).
# Ending the namespace's first process ends every process in it, containers included, and its
# mounts with it; deleting the network namespace removes whatever the root's engine set up there.
#
# Usage: bash scripts/fresh-machine.sh [--up-only] [--keep] [bookworm|trixie ...]   (default: both)
#   --up-only  stop after `tier up` and the first request (about 5 min a release instead of about 20)
#   --keep     on failure leave the root and its environment running for a look (the line printed
#              says how to enter it)
#   --clean    end every root left by --keep, then exit
#
# Needs root. Timings go to stdout, full logs to /var/tmp/tier-fresh/<release>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
base=/var/tmp/tier-fresh
up_only=0 keep=0 clean=0 releases=()
for arg in "$@"; do
  case $arg in
    --up-only) up_only=1 ;;
    --keep) keep=1 ;;
    --clean) clean=1 ;;
    bookworm | trixie) releases+=("$arg") ;;
    *) echo "usage: $0 [--up-only] [--keep] [--clean] [bookworm|trixie ...]" >&2; exit 2 ;;
  esac
done
((${#releases[@]})) || releases=(bookworm trixie)

[[ $(id -u) -eq 0 ]] || { echo "fresh-machine: needs root (debootstrap, namespaces, mounts)" >&2; exit 2; }
say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

# One small network per release: the root's side 10.254.N.2/30, the host's 10.254.N.1, NAT out.
net_index() { [[ $1 == bookworm ]] && echo 12 || echo 13; }

make_network() { # release
  local ns=fresh-$1 n; n=$(net_index "$1")
  ip netns add "$ns"
  ip link add "fresh$n-host" type veth peer name "fresh$n-root"
  ip link set "fresh$n-root" netns "$ns"
  ip addr add "10.254.$n.1/30" dev "fresh$n-host" && ip link set "fresh$n-host" up
  ip -n "$ns" addr add "10.254.$n.2/30" dev "fresh$n-root"
  ip -n "$ns" link set "fresh$n-root" up && ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "10.254.$n.1"
  sysctl -qw net.ipv4.ip_forward=1
  # Docker (and ufw, firewalld) drop forwarded traffic by default: let this network's through.
  if command -v iptables >/dev/null; then
    iptables -I FORWARD -i "fresh$n-host" -j ACCEPT
    iptables -I FORWARD -o "fresh$n-host" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  fi
  nft -f - <<NFT
table ip $ns {
  chain postrouting { type nat hook postrouting priority srcnat; ip saddr 10.254.$n.0/30 oifname != "fresh$n-host" masquerade; }
}
NFT
}

remove_network() { # release
  local ns=fresh-$1 n; n=$(net_index "$1")
  ip netns delete "$ns" 2>/dev/null || true
  ip link delete "fresh$n-host" 2>/dev/null || true
  nft delete table ip "$ns" 2>/dev/null || true
  if command -v iptables >/dev/null; then
    iptables -D FORWARD -i "fresh$n-host" -j ACCEPT 2>/dev/null || true
    iptables -D FORWARD -o "fresh$n-host" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null || true
  fi
}

# Ends a root's namespaces (its first process, its network) and removes the root.
end_root() { # release
  local pidfile=$base/$1.pid
  if [[ -f $pidfile ]]; then
    # Only our own namespace's first process: the file outlives reboots, the number may not be ours.
    pid=$(cat "$pidfile")
    [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == unshare*fresh-steps* ]] && kill -9 "$pid"
    sleep 1
    rm -f "$pidfile"
  fi
  remove_network "$1"
  rm -rf --one-file-system "${base:?}/$1"
}

if ((clean)); then
  for pidfile in "$base"/*.pid; do
    [[ -e $pidfile ]] || continue
    release=$(basename "$pidfile" .pid)
    end_root "$release" && say "removed $base/$release"
  done
  exit 0
fi
# The root gets its own network: a loopback resolver of the host's would be the root's own loopback.
resolv=/etc/resolv.conf
[[ -f /run/systemd/resolve/resolv.conf ]] && resolv=/run/systemd/resolve/resolv.conf
if grep -qE '^nameserver 127\.' "$resolv"; then
  echo "fresh-machine: $resolv names a loopback resolver, which the root's own network cannot reach" >&2
  exit 2
fi
# Node as a new machine of this kind has it: one binary and npm's own folder (not Debian's nodejs).
if [[ ! -x /usr/bin/node || ! -d /usr/lib/node_modules/npm ]]; then
  echo "fresh-machine: needs Node at /usr/bin/node with npm in /usr/lib/node_modules/npm (an official or NodeSource build)" >&2
  exit 2
fi
for tool in debootstrap:debootstrap nft:nftables; do
  command -v "${tool%%:*}" >/dev/null ||
    flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null
done

# The steps, run inside the new root as its first process. Writes ok/failed to /root/fresh.result.
steps=$(
  cat <<'STEPS'
set -u
cd /root/project
log=/root/fresh.log
timed() { # name, command
  local start=$SECONDS rc=0
  printf '%s … %s\n' "$(date +%H:%M:%S)" "$1"
  bash -c "$2" >>"$log" 2>&1 || rc=$?
  printf '%s %s %s (%s s)\n' "$(date +%H:%M:%S)" "$([[ $rc == 0 ]] && echo ✔ || echo ✖)" "$1" $((SECONDS - start))
  return "$rc"
}
# The first requests right after `tier up` returns must be served: no wait, no retry.
first_request="node -e \"Promise.all(['/', '/api/status'].map((p) => fetch('http://127.0.0.1:8080' + p).then((r) => { console.log('first request', p, r.status); if (r.status !== 200) process.exitCode = 1; })))\""
result=ok
if timed "npm ci" "npm ci --no-audit --no-fund" &&
  timed "npx tier up" "npx tier up" &&
  timed "first request through the edge" "$first_request"; then
  grep -E '^✔ (waiting until served|up)|^first request' "$log" | sed 's/^/    /'
  if [[ $UP_ONLY != 1 ]]; then
    timed "npx tier down" "npx tier down" || result=failed
    timed "npm test" "npm test" || result=failed
    grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed 's/^/    /'
  fi
else
  result=failed
  tail -25 "$log" | sed 's/^/    /'
fi
if [[ $result == failed && $KEEP == 1 ]]; then
  echo "$result" >/root/fresh.result
  exec sleep infinity
fi
npx tier down --volumes >>"$log" 2>&1 || true
echo "$result" >/root/fresh.result
STEPS
)

# An error on the host side (set -e) must not leave a namespace or a network behind.
current=""
trap '[[ -n $current ]] && end_root "$current"' EXIT
failed=()
for release in "${releases[@]}"; do
  root=$base/$release
  mkdir -p "$base"
  end_root "$release"
  current=$release
  say "━━ $release: clean root in $root (log: $base/$release.log)"
  start=$SECONDS
  debootstrap --variant=minbase "$release" "$root" >"$base/$release.log" 2>&1 ||
    { tail -5 "$base/$release.log" >&2; echo "fresh-machine: debootstrap failed (log: $base/$release.log)" >&2; exit 1; }
  # What a new machine of this kind has: Node and npm, the sandbox's CA (the registries are reached
  # through a TLS-inspecting proxy), and apt that does not start services.
  cp "$resolv" "$root/etc/resolv.conf"
  cp /usr/bin/node "$root/usr/bin/"
  mkdir -p "$root/usr/lib/node_modules" && cp -a /usr/lib/node_modules/npm "$root/usr/lib/node_modules/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  ca=/usr/local/share/ca-certificates/host-bundle.crt
  mkdir -p "$root/usr/local/share/ca-certificates" "$root/usr/etc"
  cp /etc/ssl/certs/ca-certificates.crt "$root$ca"
  printf 'cafile=%s\n' "$ca" >"$root/usr/etc/npmrc"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
  git clone -q --no-local "$repo" "$root/root/project"
  printf '%s\n' "$steps" >"$root/root/fresh-steps.sh"
  say "✔ clean $release root with this repository at $(git -C "$repo" rev-parse --short HEAD) ($((SECONDS - start)) s)"

  # New network, mount and PID namespaces; the root becomes the mount namespace's own root (pivot_root).
  make_network "$release"
  # nsenter, not `ip netns exec`: that remounts /sys without the cgroup mounts the runtime needs.
  nsenter --net="/run/netns/fresh-$release" unshare --mount --pid --fork --propagation private --kill-child -- bash -c '
    set -e
    cd "$1" && mount --bind . . && cd "$1"
    mount -t proc proc proc
    mount --rbind /sys sys && mount --rbind /dev dev
    mount -t tmpfs tmpfs run
    mkdir -p .host && pivot_root . .host && cd / && umount -l /.host && rmdir /.host
    exec /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      NODE_EXTRA_CA_CERTS="$2" TERM=dumb LANG=C.UTF-8 CI=true DEBIAN_FRONTEND=noninteractive \
      UP_ONLY="$3" KEEP="$4" bash /root/fresh-steps.sh' _ "$root" "$ca" "$up_only" "$keep" &
  echo $! >"$base/$release.pid"
  until [[ -f $root/root/fresh.result ]] || ! kill -0 "$(cat "$base/$release.pid")" 2>/dev/null; do sleep 2; done
  cat "$root/root/fresh.log" >>"$base/$release.log" 2>/dev/null || true
  result=$(cat "$root/root/fresh.result" 2>/dev/null || echo failed)
  if [[ $result == failed && $keep == 1 ]]; then
    first=$(pgrep -P "$(cat "$base/$release.pid")" || true)
    say "   kept it running: nsenter -t ${first:-?} -a bash; end it with: bash $0 --clean"
  else
    end_root "$release"
  fi
  current=""
  say "━━ $release: $([[ $result == ok ]] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  [[ $result == ok ]] || failed+=("$release")
done
((${#failed[@]} == 0)) || { echo "fresh-machine: failed on ${failed[*]}" >&2; exit 1; }
