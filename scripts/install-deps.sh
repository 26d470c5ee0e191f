#!/usr/bin/env bash
# Installs every system package the build, the tests and the local environment use (Debian/Ubuntu, as root).
# Idempotent: safe to run again. Each part appends the packages it needs.
set -euo pipefail

APT_PACKAGES=(
  # integration tests: a throwaway PostgreSQL server
  postgresql
  # page tests and docs rendering: headless Chromium
  chromium
  fonts-dejavu-core
  # docs: diagrams as code (graphviz dot renders SVG and PNG)
  graphviz
  # local environment (infra/local): podman engine, docker-compose 1.29 against its API, offline base images
  podman
  runc
  catatonit
  docker-compose
  debootstrap
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
