#!/usr/bin/env bash
# Installs what the tests, the bench and the demo need on a fresh Debian machine.
# Idempotent; never reads standard input.
set -euo pipefail
cd "$(dirname "$0")/.."

need_deb=()
command -v notary >/dev/null 2>&1 || need_deb+=(notary)
command -v notary-server >/dev/null 2>&1 || need_deb+=(notary)
[ -d /usr/share/gocode/src/github.com/theupdateframework/notary/fixtures ] || need_deb+=(golang-github-docker-notary-dev)

if [ ${#need_deb[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing Debian packages: ${need_deb[*]}"
  $SUDO apt-get update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_deb[@]}" </dev/null >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund </dev/null >/dev/null
fi
