#!/bin/sh
# demo.sh BUILD: run examples/demo.lua against a real AWS account when
# credentials are present (read-only), otherwise against the bundled
# simulator (started here, stopped on exit). EKSEGRESS_DEMO=simulator forces
# the simulator.
set -eu
BUILD=${1:-build}
PY=${PYTHON:-python3}
export LUA_PATH='lua/?.lua;lua/?/init.lua;;'
export LUA_CPATH="$BUILD/?.so;;"

real=0
if [ "${EKSEGRESS_DEMO:-}" != "simulator" ]; then
  if [ -n "${AWS_ACCESS_KEY_ID:-}" ] || [ -n "${AWS_PROFILE:-}" ] || [ -f "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" ]; then
    real=1
  fi
fi

if [ "$real" -eq 1 ]; then
  echo "demo: AWS credentials found: read-only inventory of the real account (EKSEGRESS_DEMO=simulator to use the simulator)"
  exec lua5.4 examples/demo.lua
fi

log=$(mktemp)
"$PY" tools/ekssim/ekssim.py --port 0 --fleet tools/ekssim/fleets/sample.json --time-scale 0.002 >"$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$log"' EXIT INT TERM
url=""
i=0
while [ $i -lt 200 ]; do
  url=$(sed -n 's/^ekssim listening on \(http:.*\)$/\1/p' "$log")
  [ -n "$url" ] && break
  sleep 0.05
  i=$((i + 1))
done
[ -n "$url" ] || { echo "demo: the simulator did not start:"; cat "$log"; exit 1; }
echo "demo: simulator at $url (sample fleet: tools/ekssim/fleets/sample.json)"

env -u AWS_PROFILE AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' \
  AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$url" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  AWS_EC2_METADATA_DISABLED=true lua5.4 examples/demo.lua --simulator
