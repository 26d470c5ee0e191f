#!/usr/bin/env bash
# Runs the README's two commands on a machine where nothing was installed by hand: a clean Debian root
# (12 bookworm and/or 13 trixie) made with debootstrap, this repository's HEAD cloned into it, then in
# a chroot `npm ci && npx tier up`, the first request through the edge at once, and `npm test`.
# Everything is torn down and unmounted afterwards. Run it whenever the install path changes.
#
# Usage: bash scripts/fresh-machine.sh [--up-only] [--keep] [bookworm|trixie ...]   (default: both)
#   --up-only  stop after `tier up` and the first request (about 5 min a release instead of about 20)
#   --keep     on failure leave the root mounted and its environment running for a look
#              (enter it with `chroot /var/tmp/tier-fresh/<release> bash`)
#   --clean    stop and unmount every root left by --keep, then exit
#
# Needs root. The chroot shares this host's network, so the local environment's ports (8080, 8081,
# 9090) must be free: run `npx tier down` on the host first. Timings go to stdout, full logs to
# /var/tmp/tier-fresh/<release>.log.
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
    *) echo "usage: $0 [--up-only] [--keep] [bookworm|trixie ...]" >&2; exit 2 ;;
  esac
done
((${#releases[@]})) || releases=(bookworm trixie)

[[ $(id -u) -eq 0 ]] || { echo "fresh-machine: needs root (debootstrap, mount, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends debootstrap >/dev/null

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

# Ends every process whose root is inside $1 (podman, conmon, containers), then unmounts $1.
release_root() {
  local root=$1 pid
  for _ in 1 2 3; do
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
      [[ $(readlink "/proc/$pid/root" 2>/dev/null) == "$root"* ]] && kill -9 "$pid" 2>/dev/null
    done
    sleep 1
  done
  while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r)
}

if ((clean)); then
  for root in "$base"/*/; do
    root=${root%/}
    [[ -d $root/root/project ]] && chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      bash -c 'cd /root/project && npx tier down --volumes' >/dev/null 2>&1 || true
    release_root "$root" && rm -rf "$root" && say "removed $root"
  done
  exit 0
fi
for port in 8080 8081 9090; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "fresh-machine: port $port is in use on this host (the chroot shares its network): run \`npx tier down\` first" >&2
    exit 2
  fi
done

# Runs a command in the clean root as a new user's login shell would, with CI's environment.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-bundle.crt TERM=dumb LANG=C.UTF-8 CI=true DEBIAN_FRONTEND=noninteractive bash -c "$1"
}

timed() { # name, command in the root
  local name=$1 start=$SECONDS rc=0
  say "… $name"
  in_root "$2" >>"$log" 2>&1 || rc=$?
  say "$([[ $rc == 0 ]] && echo ✔ || echo ✖) $name ($((SECONDS - start)) s)"
  return "$rc"
}

# An error mid-way (set -e) must not leave mounts behind.
kept=""
trap '[[ -n ${root:-} && $root != "$kept" ]] && release_root "$root"' EXIT
failed=()
for release in "${releases[@]}"; do
  root=$base/$release log=$base/$release.log
  mkdir -p "$base"
  release_root "$root"
  rm -rf "$root"
  : >"$log"
  say "━━ $release: clean root in $root (log: $log)"
  start=$SECONDS
  debootstrap --variant=minbase "$release" "$root" >>"$log" 2>&1
  # podman needs the root to be a mount point; containers need proc, sys, dev and a tmpfs /run.
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
  mount -t tmpfs tmpfs "$root/run"
  # What a new machine of this kind has: Node and npm, the sandbox's CA (the registries are reached
  # through a TLS-inspecting proxy), and apt that does not start services.
  cp /etc/resolv.conf "$root/etc/"
  cp /usr/bin/node "$root/usr/bin/"
  mkdir -p "$root/usr/lib/node_modules" && cp -a /usr/lib/node_modules/npm "$root/usr/lib/node_modules/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-bundle.crt"
  mkdir -p "$root/usr/etc" && printf 'cafile=/usr/local/share/ca-certificates/host-bundle.crt\n' >"$root/usr/etc/npmrc"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
  git clone -q --no-local "$repo" "$root/root/project"
  say "✔ clean $release root with this repository at $(git -C "$repo" rev-parse --short HEAD) ($((SECONDS - start)) s)"

  ok=1
  # The first request right after `tier up` returns must be served: no wait, no retry.
  first_request="node -e \"Promise.all(['/', '/api/status'].map((p) => fetch('http://127.0.0.1:8080' + p).then((r) => { console.log(p, r.status); if (r.status !== 200) process.exitCode = 1; })))\""
  if timed "npm ci" "cd /root/project && npm ci --no-audit --no-fund" &&
    timed "npx tier up" "cd /root/project && npx tier up" &&
    timed "first request through the edge" "$first_request"; then
    grep -E '^✔ up|^/' "$log" | tail -3 | sed 's/^/    /'
    if ((!up_only)); then
      timed "npx tier down" "cd /root/project && npx tier down" || ok=0
      timed "npm test" "cd /root/project && npm test" || ok=0
      grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed 's/^/    /'
    fi
  else
    ok=0
    tail -25 "$log" | sed 's/^/    /'
  fi
  if ((keep && !ok)); then
    kept=$root
    say "   kept $root running: chroot $root bash; remove with: bash $0 --clean"
  else
    in_root "cd /root/project && npx tier down --volumes" >>"$log" 2>&1 || true
    release_root "$root"
    rm -rf "$root"
  fi
  say "━━ $release: $([[ $ok == 1 ]] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  ((ok)) || failed+=("$release")
done
((${#failed[@]} == 0)) || { echo "fresh-machine: failed on ${failed[*]}" >&2; exit 1; }
