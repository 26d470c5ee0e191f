#!/usr/bin/env bash
# Installs the system packages the build and the tests use (Debian/Ubuntu, as root). The container
# engine is not here: `tier up` installs and checks it (infra/local/engine/setup.sh owns that list).
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
  # flock: the engine setup or another tool on this machine may be running apt at the same time.
  flock /tmp/apt.lock apt-get update -qq
  flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
