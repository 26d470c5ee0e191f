#!/usr/bin/env bash
# Installs the system tools the tests and the docs use (Debian 12/13, Ubuntu; as root), only those missing. The
# container engine is not here: `tier up` installs and checks it (infra/local/engine/setup.sh owns that list).
# A tool counts as present by its file, not its package: GitHub's ubuntu-24.04 image has PostgreSQL 16 and Chromium
# installed outside the Debian package names, and there apt's chromium is a snap wrapper. Idempotent.
set -euo pipefail

missing=()
# need <apt package> <tool> <file that proves the tool is present>... (scripts/ci/lib/runner-tools.ts reads these lines)
need() {
  local pkg=$1 path
  shift 2
  for path in "$@"; do
    # shellcheck disable=SC2086 # the path may be a glob (PostgreSQL's versioned folder)
    compgen -G "$path" >/dev/null && return 0
  done
  missing+=("$pkg")
}

# integration tests: a throwaway PostgreSQL server (test/support/postgres.ts looks here)
need postgresql postgres '/usr/lib/postgresql/*/bin/initdb'
# page tests and docs rendering: a headless Chromium (Debian's package, or the runner image's /usr/bin/chromium)
need chromium chromium /usr/bin/chromium
need fonts-dejavu-core fonts-dejavu /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
# docs: diagrams as code (graphviz dot renders SVG and PNG)
need graphviz graphviz /usr/bin/dot
# the CI scripts' tests build throwaway repositories (change detection); a minimal Debian has no git
need git git /usr/bin/git

if ((${#missing[@]} == 0)); then exit 0; fi
if grep -qi '^ID=ubuntu' /etc/os-release 2>/dev/null && [[ " ${missing[*]} " == *" chromium "* ]]; then
  echo "no browser at /usr/bin/chromium, and Ubuntu's chromium package is a snap wrapper:" >&2
  echo "install Chromium or Google Chrome from its vendor and link it to /usr/bin/chromium" >&2
  exit 1
fi
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
