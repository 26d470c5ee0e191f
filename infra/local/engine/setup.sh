#!/usr/bin/env bash
# Prepares a container engine for the local environment and prints how to reach it (KEY=value lines).
# Prefers a running Docker Engine with Compose v2; otherwise sets up podman + docker-compose 1.29
# (Debian/Ubuntu, as root), writing /etc/containers/containers.conf and starting podman's API socket.
# Idempotent. Not root and something missing: prints exactly what to install and exits 2.
set -euo pipefail

STATE_DIR=${TIER_STATE_DIR:-/tmp/tier-local}
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}
# netavark + aardvark-dns: container name resolution (Debian 12's podman otherwise falls back to CNI
# without DNS, and compose service names would not resolve). netavark programs every network through a
# firewall tool that neither it nor podman depends on: iptables (Debian 12's netavark 1.4) or nft
# (Debian 13's netavark 1.14 defaults to nftables). Without it the first container start fails with
# "netavark: No such file or directory" or "unable to execute nft". Both are small: install both.
APT_PACKAGES=(podman runc catatonit netavark aardvark-dns iptables nftables docker-compose debootstrap)

log() { echo "setup: $*" >&2; }

# 1. A working Docker Engine with Compose v2 wins (developer laptops, CI runners that have one).
if [[ ${TIER_ENGINE:-auto} != podman ]] && command -v docker >/dev/null 2>&1 &&
  docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  echo "ENGINE=docker"
  echo "COMPOSE=docker compose"
  echo "DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
  echo "CONTAINER_LOG_DIR=/var/lib/docker/containers"
  exit 0
fi

# 2. podman + docker-compose 1.29 against podman's Docker-compatible API.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "setup: (or run 'tier up' as root once; a Docker Engine with 'docker compose' v2 also works)" >&2
    exit 2
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # flock: other tools on this machine may be running apt at the same time.
  flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    flock /tmp/apt.lock apt-get update -qq
    flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  }
fi

# The firewall tool this netavark calls (its version decides: 1.12 made nftables the default driver).
for netavark_bin in /usr/lib/podman/netavark /usr/libexec/podman/netavark; do
  [[ -x $netavark_bin ]] || continue
  version=$("$netavark_bin" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -n 1 || true)
  firewall=iptables
  if [[ $version =~ ^([0-9]+)\.([0-9]+)$ ]] && ((BASH_REMATCH[1] > 1 || BASH_REMATCH[2] >= 12)); then
    firewall=nft
  fi
  if ! command -v "$firewall" >/dev/null 2>&1 && ! [[ -x /usr/sbin/$firewall ]]; then
    package=$([[ $firewall == nft ]] && echo nftables || echo iptables)
    echo "setup: netavark $version needs $firewall to set up container networks, and it is not installed" >&2
    echo "setup: install it with: sudo apt-get install -y $package" >&2
    exit 2
  fi
  break
done

if [[ $(id -u) -eq 0 ]]; then
  # crun fails on hybrid cgroups and podman's default nofile limit exceeds the sandbox's hard limit;
  # k8s-file logs are what the log shipper reads.
  hard_nofile=$(ulimit -Hn)
  [[ $hard_nofile == unlimited || $hard_nofile -gt 1048576 ]] && hard_nofile=1048576
  conf=$(
    cat <<CONF
# Written by infra/local/engine/setup.sh (tier local environment).
[containers]
default_ulimits = ["nofile=${hard_nofile}:${hard_nofile}", "nproc=32768:32768"]
log_driver = "k8s-file"
[network]
network_backend = "netavark"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  )
  mkdir -p /etc/containers
  if [[ ! -f /etc/containers/containers.conf ]] || [[ "$(cat /etc/containers/containers.conf)" != "$conf" ]]; then
    log "writing /etc/containers/containers.conf"
    printf '%s\n' "$conf" >/etc/containers/containers.conf
    conf_changed=1
  fi
  # A machine that ran podman with CNI before keeps an idle cni-podman0 bridge on 10.88.0.0/16, the
  # subnet netavark's default network also uses: two routes, and builds lose DNS and egress.
  if [[ -d /sys/class/net/cni-podman0 && -z "$(ls /sys/class/net/cni-podman0/brif 2>/dev/null)" ]] &&
    grep -q 'network_backend = "netavark"' /etc/containers/containers.conf; then
    log "removing the idle CNI bridge cni-podman0 (conflicts with netavark's default network)"
    ip link delete cni-podman0 || true
  fi
fi

ping_socket() {
  [[ -S $PODMAN_SOCK ]] && timeout 5 podman --remote --url "unix://$PODMAN_SOCK" version >/dev/null 2>&1
}

# The API service reads containers.conf once: restart the one we started when the file changed.
if [[ ${conf_changed:-0} == 1 && -f $STATE_DIR/podman-service.pid ]]; then
  old=$(cat "$STATE_DIR/podman-service.pid")
  if [[ $(ps -o args= -p "$old" 2>/dev/null) == "podman system service"* ]]; then
    log "restarting podman system service (configuration changed)"
    kill "$old" && while kill -0 "$old" 2>/dev/null; do sleep 0.1; done
  fi
fi

if ! ping_socket && [[ $(id -u) -ne 0 ]]; then
  log "podman's API socket $PODMAN_SOCK is not running, and only root can start it"
  log "run \`sudo npx tier up\` once (it starts the socket), or use Docker Engine with 'docker compose' v2"
  log "(with Docker installed but not usable: add yourself to the docker group, then log in again)"
  exit 2
fi
if ! ping_socket; then
  mkdir -p "$(dirname "$PODMAN_SOCK")" "$STATE_DIR"
  log "starting podman system service on $PODMAN_SOCK"
  # --time=0: never exit when idle. setsid: survives the shell that started it.
  setsid nohup podman system service --time=0 "unix://$PODMAN_SOCK" >>"$STATE_DIR/podman-service.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/podman-service.pid"
  for _ in $(seq 1 50); do ping_socket && break; sleep 0.2; done
  ping_socket || { log "podman API did not come up; see $STATE_DIR/podman-service.log"; exit 1; }
fi

echo "ENGINE=podman"
echo "COMPOSE=docker-compose"
echo "DOCKER_HOST=unix://$PODMAN_SOCK"
echo "CONTAINER_LOG_DIR=/var/lib/containers/storage/overlay-containers"
