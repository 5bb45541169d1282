#!/bin/sh
# bench/run.sh BUILD: the benchmarks behind `make bench` (never part of `make test`).
#
#   sh bench/run.sh build            # what `make bench` runs, after building BUILD
#
# Each section appends "key value" lines to $BUILD/bench/raw.txt; at the end
# bench/report.py turns them into the printed table and bench/results.json.
# To add a section: write a function section_NAME that appends its lines,
# add NAME to BENCH_SECTIONS' default, and describe its figures in report.py.
#
# The peer sections (calls, audit, startup, scaling) run bench/peers.py and
# compare eksegress with boto3, the AWS SDK for JavaScript v3 and the AWS
# CLI; the peers are installed first when missing (Debian's python3-boto3,
# awscli and time; npm's @aws-sdk/client-eks into bench/js from its
# package-lock.json).
#
# Environment knobs (defaults in brackets):
#   BENCH_SECONDS       seconds per signing measurement per round [2]
#   BENCH_ROUNDS        rounds; the best round of each figure is kept [3]
#   BENCH_SIM_SECONDS   length of the simulator run [5]
#   BENCH_SECTIONS      sections to run, in order ["sigv4 ekssim calls audit startup scaling"]
#   BENCH_PEER_ROUNDS   rounds of each peer figure; the median is kept [3]
#   BENCH_CALLS         DescribeCluster calls per calls figure [2000]
#   BENCH_SCALING       cluster counts of the scaling curve [100,1000,10000,30000]
#   BENCH_NO_INSTALL    1: never install peers (a missing peer is skipped) [0]
#   BENCH_STRICT        1: exit 2 when a figure misses its target [0]
#   CC, LUA, PYTHON     tools [cc, lua5.4, /usr/bin/python3 or python3]
set -eu

cd "$(dirname "$0")/.."

BUILD=${1:-build}
BENCH_SECONDS=${BENCH_SECONDS:-2}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_SIM_SECONDS=${BENCH_SIM_SECONDS:-5}
BENCH_SECTIONS=${BENCH_SECTIONS:-sigv4 ekssim calls audit startup scaling}
BENCH_NO_INSTALL=${BENCH_NO_INSTALL:-0}
BENCH_STRICT=${BENCH_STRICT:-0}
CC=${CC:-cc}
LUA=${LUA:-lua5.4}
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

OUT=$BUILD/bench
RAW=$OUT/raw.txt
mkdir -p "$OUT"
: >"$RAW"

say() { printf 'bench: %s\n' "$*" >&2; }
raw() { printf '%s\n' "$*" >>"$RAW"; }
die() { say "$*"; exit 1; }

# ---- machine and method (the report adds CPU model and flags itself) -------
raw "meta_seconds $BENCH_SECONDS"
raw "meta_rounds $BENCH_ROUNDS"
raw "meta_sim_seconds $BENCH_SIM_SECONDS"
raw "meta_lua_v $($LUA -v 2>&1 | head -n 1)"
raw "meta_cc_v $($CC --version 2>/dev/null | head -n 1)"
raw "meta_python_v $($PYTHON --version 2>&1 | head -n 1)"
raw "meta_curl_pc $(pkg-config --modversion libcurl 2>/dev/null || echo unknown)"

# ---- peers: install what is missing, then record the versions measured ---
apt_install() {
  [ "$BENCH_NO_INSTALL" = 1 ] && { say "peers: $* missing (BENCH_NO_INSTALL=1: not installed)"; return 0; }
  command -v apt-get >/dev/null 2>&1 || { say "peers: $* missing and no apt-get: install them yourself"; return 0; }
  sudo_=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo_=sudo
  say "peers: installing $*"
  $sudo_ apt-get update -q >&2 || true
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends "$@" >&2 \
    || say "peers: could not install $* (their figures are skipped)"
}

peers() {
  pkgs=""
  "$PYTHON" -c 'import boto3' 2>/dev/null || pkgs="$pkgs python3-boto3"
  [ -x /usr/bin/aws ] || pkgs="$pkgs awscli"
  [ -x /usr/bin/time ] || pkgs="$pkgs time"
  command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
  command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
  # shellcheck disable=SC2086
  [ -n "$pkgs" ] && apt_install $pkgs
  want=$(sed -n 's/.*"@aws-sdk\/client-eks": "\([0-9.]*\)".*/\1/p' bench/js/package.json)
  got=$(sed -n 's/^ *"version": "\([0-9.]*\)".*/\1/p' bench/js/node_modules/@aws-sdk/client-eks/package.json \
    2>/dev/null | head -n 1)
  if [ "$want" != "$got" ] && [ "$BENCH_NO_INSTALL" != 1 ] && command -v npm >/dev/null 2>&1; then
    say "peers: installing @aws-sdk/client-eks $want into bench/js (npm ci)"
    (cd bench/js && npm ci --no-audit --no-fund >&2) || say "peers: npm ci failed (the JS figures are skipped)"
  fi
  raw "meta_boto3_v $("$PYTHON" -c 'import boto3, botocore; print(boto3.__version__, botocore.__version__)' 2>/dev/null || echo missing)"
  raw "meta_awscli_v $(/usr/bin/aws --version 2>/dev/null | head -n 1 || echo missing)"
  raw "meta_node_v $(node --version 2>/dev/null || echo missing)"
  raw "meta_jssdk_v $(sed -n 's/^ *"version": "\([0-9.]*\)".*/\1/p' \
    bench/js/node_modules/@aws-sdk/client-eks/package.json 2>/dev/null | head -n 1 || echo missing)"
}

case " $BENCH_SECTIONS " in
  *" calls "*|*" audit "*|*" startup "*|*" scaling "*|*" sigv4 "*) peers ;;
esac

# ---- section: SigV4 signer (core, Lua API, minimal reference) --------------
# The C program alternates core / reference / keyed reference inside one
# process; the Lua API runs in its own interpreter. One round = one C run then
# one Lua run, each measuring BENCH_SECONDS per figure, so a busy neighbour
# hits every figure about equally; report.py keeps the best round of each.
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
      -Wwrite-strings -Wformat=2 -Wundef -Wvla -Wold-style-definition"

section_sigv4() {
  lib=$BUILD/libeksegress_core.a
  [ -f "$lib" ] || die "$lib is missing: run 'make BUILD=$BUILD' first"
  [ -f "$BUILD/eksegress/core.so" ] || die "$BUILD/eksegress/core.so is missing: run 'make BUILD=$BUILD' first"
  # The signer needs only libcrypto; the other core libraries are listed so a
  # future dependency of the signer objects still links.
  # shellcheck disable=SC2046,SC2086
  $CC -std=c11 -D_GNU_SOURCE -O2 $WARN -Icsrc/core bench/sigv4_bench.c "$lib" \
    $(pkg-config --libs libcrypto libcurl jansson expat) -lm -o "$OUT/sigv4_bench" \
    || die "cannot build $OUT/sigv4_bench"
  say "sigv4: $BENCH_ROUNDS rounds of C core / reference / keyed reference / Lua API, ${BENCH_SECONDS} s each"
  r=1
  while [ "$r" -le "$BENCH_ROUNDS" ]; do
    say "sigv4: round $r/$BENCH_ROUNDS"
    "$OUT/sigv4_bench" "$BENCH_SECONDS" 1 >"$OUT/sigv4_c.$r.txt" || die "sigv4_bench failed (see above)"
    grep -v '^#' "$OUT/sigv4_c.$r.txt" | sed 's/^/c_/' >>"$RAW"
    LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH="$BUILD/?.so;;" \
      "$LUA" bench/sigv4_lua.lua "$BENCH_SECONDS" 1 >"$OUT/sigv4_lua.$r.txt" \
      || die "bench/sigv4_lua.lua failed (see above)"
    grep -v '^#' "$OUT/sigv4_lua.$r.txt" | sed 's/^/lua_/' >>"$RAW"
    if "$PYTHON" -c 'import botocore' 2>/dev/null; then
      "$PYTHON" bench/sigv4_botocore.py "$BENCH_SECONDS" 1 | sed 's/^/py_/' >>"$RAW" \
        || die "bench/sigv4_botocore.py failed (see above)"
    fi
    r=$((r + 1))
  done
}

# ---- section: simulator throughput -------------------------------------
# tools/ekssim/bench.py starts its own simulator (generated fleet), drives it
# with signed DescribeCluster calls over 64 keep-alive connections spread over
# several client processes, and prints one JSON line.
section_ekssim() {
  if [ ! -f tools/ekssim/bench.py ]; then
    say "ekssim: tools/ekssim/bench.py not present, skipped"
    return 0
  fi
  say "ekssim: signed DescribeCluster over 64 keep-alive connections for ${BENCH_SIM_SECONDS} s"
  status=0
  PYTHONDONTWRITEBYTECODE=1 "$PYTHON" tools/ekssim/bench.py --connections 64 \
    --seconds "$BENCH_SIM_SECONDS" --json >"$OUT/ekssim.txt" || status=$?
  raw "ekssim_status $status"
  line=$(grep '^{' "$OUT/ekssim.txt" | tail -n 1 || true)
  [ -n "$line" ] || die "tools/ekssim/bench.py printed no result (exit status $status)"
  raw "ekssim_json $line"
}

# ---- sections: eksegress beside boto3, the JS SDK and the AWS CLI ---------
# bench/peers.py prints one "key {json}" line per measurement.
peer_section() {
  PYTHON="$PYTHON" LUA="$LUA" "$PYTHON" bench/peers.py "$1" "$BUILD" >>"$RAW" \
    || die "bench/peers.py $1 failed (see above)"
}

section_calls() {
  # shellcheck disable=SC2086
  $CC -std=c11 -O2 $WARN -Wno-deprecated-declarations bench/responder.c \
    $(pkg-config --libs libcrypto) -o "$OUT/responder" || die "cannot build $OUT/responder"
  say "calls: 2,000 DescribeCluster per figure against bench/responder.c (SigV4 verified)"
  peer_section calls
}

section_audit() { peer_section audit; }
section_startup() { peer_section startup; }
section_scaling() { peer_section scaling; }

for s in $BENCH_SECTIONS; do
  type "section_$s" >/dev/null 2>&1 || die "unknown section '$s' (BENCH_SECTIONS)"
  # Load average when the section starts: other sessions' work shows here
  # (the simulator section itself runs ~70 threads, so read it before).
  raw "meta_loadavg $s $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
  "section_$s"
done

strict=""
[ "$BENCH_STRICT" = 1 ] && strict="--strict"
status=0
# shellcheck disable=SC2086
"$PYTHON" bench/report.py $strict "$RAW" bench/results.json || status=$?
# The document keeps its schema (docs/schemas/bench.schema.json), when a
# validator is at hand.
if "$PYTHON" -c 'import jsonschema' 2>/dev/null; then
  "$PYTHON" tools/schema-validate.py docs/schemas/bench.schema.json bench/results.json >&2 || status=1
fi
exit "$status"
