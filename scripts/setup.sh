#!/usr/bin/env bash
# Installs what the gateway needs on a Debian or Ubuntu host, then builds it.
# Idempotent: when everything is already there it only checks, in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(espeak-ng sox libsox-fmt-all pocketsphinx pocketsphinx-en-us
  libpocketsphinx-dev libsphinxbase-dev pkg-config gcc make libc6-dev libssl-dev
  flex bison libelf-dev bc bubblewrap chromium
  radicale tshark python3-pymodbus python3-serial-asyncio qemu-system-x86 busybox-static)

say() { printf 'setup: %s\n' "$*" >&2; }

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
stamp=node_modules/.setup-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  say "installing npm dependencies"
  # onnxruntime-node's install script would fetch GPU files; the CPU build ships in the package.
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-fund --no-audit --loglevel=error
  touch "$stamp"
fi

# Native helpers, rebuilt when their sources change.
if [ -x native/build.sh ]; then
  native/build.sh
fi

# TypeScript, rebuilt when any source is newer than the last build.
if [ ! -f dist/.build-stamp ] || [ -n "$(find src tsconfig.json -newer dist/.build-stamp -print -quit)" ]; then
  say "compiling TypeScript"
  rm -rf dist
  npx tsc -p tsconfig.json
  touch dist/.build-stamp
fi
