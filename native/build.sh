#!/usr/bin/env bash
# Builds the native helpers in native/*.c into build/native/, each only when its
# source (or this script) is newer than the binary. Needs gcc, pkg-config and the
# pocketsphinx development packages; ./scripts/setup.sh installs them.
# gw_sandbox (native/sandbox.c) needs only gcc and the kernel headers, and is built first,
# so that the dangerous tier does not depend on the speech packages.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'native/build.sh: %s\n' "$*" >&2; }

PKGS=(pocketsphinx sphinxbase)
OUT=build/native

command -v gcc >/dev/null || {
  say "gcc is missing: apt-get install gcc (or run ./scripts/setup.sh)"; exit 1; }
mkdir -p "$OUT"
fresh() { [ -x "$1" ] && [ "$1" -nt "$2" ] && [ "$1" -nt native/build.sh ]; }
if ! fresh "$OUT/gw_sandbox" native/sandbox.c; then
  say "compiling native/sandbox.c"
  gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$OUT/gw_sandbox.tmp" native/sandbox.c
  mv "$OUT/gw_sandbox.tmp" "$OUT/gw_sandbox"
fi

command -v pkg-config >/dev/null || {
  say "pkg-config is missing: apt-get install pkg-config (or run ./scripts/setup.sh)"; exit 1; }
if ! pkg-config --exists "${PKGS[@]}"; then
  say "the pocketsphinx development files are missing:" \
    "apt-get install libpocketsphinx-dev libsphinxbase-dev (or run ./scripts/setup.sh)"
  exit 1
fi

mkdir -p "$OUT"
read -r -a FLAGS <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -r -a LIBS <<<"$(pkg-config --libs "${PKGS[@]}")"

for src in native/*.c; do
  [ "$src" = native/sandbox.c ] && continue
  bin="$OUT/$(basename "$src" .c)"
  if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt native/build.sh ]; then
    continue
  fi
  say "compiling $src"
  gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$bin.tmp" "$src" "${FLAGS[@]}" "${LIBS[@]}"
  mv "$bin.tmp" "$bin"
done
