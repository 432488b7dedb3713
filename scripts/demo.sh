#!/usr/bin/env bash
# Installs what is missing, builds, and runs the gateway's main job on shipped
# recordings through the real offline engines: a calendar question, then a breaker
# closed over Modbus TCP from inside a microVM, read back and confirmed by voice.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# The fixture calendar is written around Monday 7 December 2026, 08:00 in London.
export TZ=Europe/London
NOW=2026-12-07T08:00:00Z
U=fixtures/utterances
G="node bin/gateway.js"

echo
echo '== "Hey Jarvis, what'"'"'s on my calendar tomorrow?"'
$G replay --now "$NOW" "$U/calendar_tomorrow__en-us_150.wav"

# The critical tier: signing keys, the guest image (built from Debian packages on this
# host and cached), signed, then installed sealed into the read-only store.
echo '== setting up the critical tier (keys, guest image, store)'
if [ ! -d keys ]; then $G keys >/dev/null
elif [ ! -f keys/snapshot.key ]; then $G keys --purpose snapshot >/dev/null
fi
$G rootfs build
$G rootfs sign
$G rootfs install build/rootfs

# The demo's device: a Modbus TCP server (Debian's pymodbus) holding coil 7 of unit 1,
# which config/gateway.toml names "breaker 7 at substation 12".
mkdir -p logs
./scripts/demo-modbus.sh > logs/demo-modbus.log 2>&1 &
MODBUS=$!
trap 'kill "$MODBUS" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/1502) 2>/dev/null && break
  sleep 0.1
done

echo
echo '== "Hey Jarvis, close breaker seven at substation twelve." ... "Confirm."'
echo '   (played at real speed: the microVM starts while the read-back is spoken)'
$G replay --realtime --now "$NOW" \
  "$U/breaker_close_7_12__en-us_150.wav" "$U/followup_confirm__en-us+f3_185.wav"
echo '== logs/firecracker.log'
tail -n 5 logs/firecracker.log
echo '== the Modbus server saw:'
cat logs/demo-modbus.log

echo "Reply audio is in out/replies/. Try: $G say \"what's my next meeting\""
