#!/bin/sh
# Starts the demo's Modbus TCP server: unit 1 with coils and holding registers, on
# 127.0.0.1:1502 (the port config/gateway.toml maps breaker 7 at substation 12 to, coil 7).
# It prints each write it receives. Stop it with Ctrl-C. Then, in another terminal:
#
#   node bin/gateway.js rootfs build && node bin/gateway.js rootfs sign   # once
#   # with enable_firecracker_sandbox = true in config/gateway.toml:
#   node bin/gateway.js say "close breaker 7 at substation 12" "confirm"
#
# Needs Debian's python3-pymodbus. PORT=... and HOST=... override the address.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 test/servers/modbus_server.py --host "${HOST:-127.0.0.1}" \
  --port "${PORT:-1502}" --unit 1
