#!/bin/sh
# demo.sh BUILD: the eksegress story, told with the CLI.
#
# Against the bundled simulator (started here with a sample organization of
# three accounts, stopped on exit): audit the fleet with an HTML report,
# preflight a cluster whose network is broken, plan the migration and review
# it, apply it with a canary and a wave, watch the guard refuse a revert,
# audit again, and print the SCP that keeps new clusters compliant with its
# decision matrix.
#
# With AWS credentials present (AWS_ACCESS_KEY_ID, AWS_PROFILE or a
# credentials file) it runs a read-only audit of the real account instead;
# EKSEGRESS_DEMO=simulator forces the simulator. Reports go to
# EKSEGRESS_DEMO_OUT (default BUILD/demo).
set -eu
BUILD=${1:-build}
PY=${PYTHON:-python3}
OUT=${EKSEGRESS_DEMO_OUT:-$BUILD/demo}
export LUA_PATH='lua/?.lua;lua/?/init.lua;;'
export LUA_CPATH="$BUILD/?.so;;"
mkdir -p "$OUT"
# A journal left by an earlier run would (rightly) stop apply: start clean.
rm -f "$OUT"/fleet.html "$OUT"/fleet.json "$OUT"/fleet.plan.json "$OUT"/fleet.plan.journal "$OUT"/scp.json \
  "$OUT"/audit.html "$OUT"/audit.json

# Commands are printed as a user would type them, then run.
eksegress() { lua5.4 bin/eksegress "$@"; }
show() {
  printf '\n$ %s\n' "$*"
  rc=0
  "$@" || rc=$?
  [ "$rc" -eq 0 ] || printf '(exit %s)\n' "$rc"
}
say() { printf '\n== %s\n' "$*"; }

real=0
if [ "${EKSEGRESS_DEMO:-}" != "simulator" ]; then
  if [ -n "${AWS_ACCESS_KEY_ID:-}" ] || [ -n "${AWS_PROFILE:-}" ] || [ -f "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" ]; then
    real=1
  fi
fi

if [ "$real" -eq 1 ]; then
  say "AWS credentials found: a read-only audit of your account (EKSEGRESS_DEMO=simulator make demo uses the simulator)"
  show eksegress audit --regions all --require CUSTOMER_ROUTED --output table \
    --export "$OUT/audit.html" --export "$OUT/audit.json"
  printf '\nNothing was changed. The HTML report: %s/audit.html\n' "$OUT"
  exit 0
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

# The simulator's management-account credentials, and nothing from the
# user's own AWS configuration.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' \
  AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$url" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
cd "$OUT" 2>/dev/null && OUT=$(pwd) && cd - >/dev/null
fleet=$("$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
cl = [c for a in d["accounts"] for c in a.get("clusters", [])]
print("%d accounts, %d clusters in %d regions" % (len(d["accounts"]), len(cl), len({c.get("region") for c in cl})))' \
  tools/ekssim/fleets/sample.json)
printf 'demo: the AWS simulator is at %s (tools/ekssim/fleets/sample.json: %s)\n' "$url" "$fleet"
printf 'demo: reports are written to %s\n' "$OUT"

say "1. Which clusters run which egress mode? Audit the whole organization, every enabled region"
show eksegress audit --organization --role-name OrganizationAccountAccessRole --regions all \
  --require CUSTOMER_ROUTED --output table --export "$OUT/fleet.html" --export "$OUT/fleet.json"
echo "Exit 2: two regions are denied by an SCP, so the report cannot claim the fleet complies."
echo "Open $OUT/fleet.html in a browser: charts by account and region, a sortable, filterable table."

say "2. Is analytics ready for CUSTOMER_ROUTED? The network preflight says no, and says how to fix it"
show eksegress preflight --region us-west-2 --cluster analytics --output table

say "3. Plan the migration of every non-compliant cluster of the management account; review it"
show eksegress plan --all-noncompliant --regions us-east-1,us-west-2,eu-west-1 \
  --out "$OUT/fleet.plan.json" --output table
plan_id=$(grep -o '"plan_id": *"p-[0-9a-f]*"' "$OUT/fleet.plan.json" | grep -o 'p-[0-9a-f]*' | head -n 1)
echo "Clusters with blocking findings, an unknown mode or CUSTOMER_ISOLATED are never planned for migration."

say "4. Apply it: payments first, alone, as the canary; then the rest in a wave. Every step is journaled"
show eksegress apply "$OUT/fleet.plan.json" --confirm "$plan_id" --canary payments --wave-size 2 \
  --poll-interval 1 --output table
echo "After a crash, resume finishes from the journal; here every cluster is done, so it sends nothing."
show eksegress resume "$OUT/fleet.plan.journal" --output table

say "5. Try to undo it: the guard in the C core refuses before anything is signed (examples/guard_refuses_revert.lua)"
show lua5.4 examples/guard_refuses_revert.lua payments us-west-2

say "6. Audit again: three more clusters comply"
show eksegress audit --regions us-east-1,us-west-2,eu-west-1 --require CUSTOMER_ROUTED --output table

say "7. Keep new clusters compliant: the SCP, and how it decides (evaluated locally, nothing sent)"
show eksegress scp --out "$OUT/scp.json" --explain --output table

say "Done. What the simulator received (its request log), per cluster:"
"$PY" -c 'import json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/log"))
sent, others = {}, {}
for r in log["requests"]:
    op = r.get("operation") or "?"
    if op == "UpdateClusterConfig":
        sent.setdefault(r.get("cluster"), []).append(r.get("status"))
    elif not op.startswith(("Describe", "List", "Get")):
        others[op] = others.get(op, 0) + 1
for name in sorted(sent):
    print("  %-10s %d UpdateClusterConfig (HTTP %s)" % (name, len(sent[name]), ", ".join(map(str, sent[name]))))
reads = len(log["requests"]) - sum(map(len, sent.values())) - sum(others.values())
print("  and %d reads (Describe*, List*, Get*)%s" % (reads, "".join(", %d %s" % (n, op) for op, n in sorted(others.items()))))' "$url"
echo "Reports: $OUT (fleet.html, fleet.json, fleet.plan.json, fleet.plan.journal, scp.json). Stopping the simulator."
