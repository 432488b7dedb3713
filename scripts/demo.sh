#!/usr/bin/env bash
# Installs what is missing, builds, and runs the gateway's main job on shipped
# recordings: two spoken conversations through the real offline engines.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# The fixture calendar is written around Monday 7 December 2026, 08:00 in London.
export TZ=Europe/London
NOW=2026-12-07T08:00:00Z
U=fixtures/utterances

echo
echo '== "Hey Jarvis, what'"'"'s on my calendar tomorrow?"'
node bin/gateway.js replay --now "$NOW" "$U/calendar_tomorrow__en-us_150.wav"

echo '== "Hey Jarvis, close breaker seven at substation twelve." ... "Confirm."'
node bin/gateway.js replay --now "$NOW" \
  "$U/breaker_close_7_12__en-us_150.wav" "$U/followup_confirm__en-us+f3_185.wav"

echo "Reply audio is in out/replies/. Try: node bin/gateway.js say \"what's my next meeting\""
