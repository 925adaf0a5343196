#!/usr/bin/env bash
# Installs what the tests, the bench and the demo need on a fresh Debian machine.
# Idempotent; never reads standard input.
set -euo pipefail
cd "$(dirname "$0")/.."

need_deb=()
command -v notary >/dev/null 2>&1 || need_deb+=(notary)
command -v notary-server >/dev/null 2>&1 || need_deb+=(notary)
[ -d /usr/share/gocode/src/github.com/theupdateframework/notary/fixtures ] || need_deb+=(golang-github-docker-notary-dev)
# docker trust verbs: a real registry, skopeo to push test images, htpasswd for registry auth.
command -v docker-registry >/dev/null 2>&1 || need_deb+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need_deb+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need_deb+=(apache2-utils)
# PKCS#11 tests: a SoftHSM2 token per test (softhsm2-util, /usr/lib/softhsm/libsofthsm2.so).
{ command -v softhsm2-util >/dev/null 2>&1 && [ -f /usr/lib/softhsm/libsofthsm2.so ]; } || need_deb+=(softhsm2)

if [ ${#need_deb[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing Debian packages: ${need_deb[*]}"
  $SUDO apt-get update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_deb[@]}" </dev/null >/dev/null
fi

# pkcs11js (optional dependency, native) is built by npm ci: package.json's allowScripts approves
# its install script. A node_modules from before it was added, or from a failed build, is redone
# once per lockfile: when the build fails (no compiler, no Node headers), the lockfile's hash is
# kept in node_modules/.dtrust-pkcs11js-tried so that later runs do not reinstall every time.
tried=node_modules/.dtrust-pkcs11js-tried
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  install=yes
elif node -e "require('pkcs11js')" >/dev/null 2>&1; then
  install=no
elif [ "$(cat "$tried" 2>/dev/null)" = "$lock_hash" ]; then
  install=no
else
  install=yes
fi
if [ "$install" = yes ]; then
  echo "setup: installing npm packages (npm ci, about 30 s)"
  npm ci --no-audit --no-fund </dev/null >/dev/null
  if ! node -e "require('pkcs11js')" >/dev/null 2>&1; then
    echo "$lock_hash" >"$tried"
    echo "setup: pkcs11js (optional, for PKCS#11 tokens) could not be built; not retried until package-lock.json changes (needs python3, make, g++)"
  fi
fi
