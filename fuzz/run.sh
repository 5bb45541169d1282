#!/bin/sh
# fuzz/run.sh [SECONDS]: build and run every libFuzzer target fuzz/fuzz_*.c.
#
# Each target is compiled with clang -fsanitize=fuzzer,address,undefined
# together with the core sources it names in a comment line
#   /* fuzz-sources: guard.c guard_json.c es_buf.c */
# (paths relative to csrc/core; without that line, every csrc/core/*.c), and
# linked with libcurl, libcrypto, jansson and expat. A target is rebuilt only
# when it is older than its source, a core file or this script. It then runs
# for SECONDS (default 60) from the seeds in fuzz/corpus/<name>/ (name = file
# name without "fuzz_" and ".c"); new inputs go to $FUZZ_BUILD/corpus-<name>/,
# crashes to $FUZZ_BUILD/artifacts-<name>/. An optional fuzz/<name>.dict is
# passed as -dict. LeakSanitizer is on (libFuzzer's -detect_leaks=1): a leak
# fails the target like a crash.
#
# Output is TAP, one numbered test per target ("ok 3 - fuzz: xml ran 60 s,
# 812345 inputs, no crash, no leak"), so tools/run-suites counts it; the last
# line before the plan is "# fuzz total: N inputs". Each target's counts are
# also appended to $FUZZ_BUILD/executions.tsv (date, target, seconds, inputs,
# new units, peak RSS MB) for docs/RELIABILITY.md. Exits non-zero if any
# target fails to build, finds a crash, a leak or an oracle violation.
#
# Environment: FUZZ_BUILD (default build/fuzz), FUZZ_CC (default clang),
# FUZZ_ONLY (run only the target with this name, e.g. "guard"). Targets run
# one after another.
set -u
SECS=${1:-60}
cd "$(dirname "$0")/.." || exit 2
OUT=${FUZZ_BUILD:-build/fuzz}
CC=${FUZZ_CC:-clang}
PKGS="libcurl libcrypto jansson expat"
# shellcheck disable=SC2086  # PKGS is a word list on purpose
PKG_CFLAGS=$(pkg-config --cflags $PKGS) || exit 2
# shellcheck disable=SC2086
PKG_LIBS=$(pkg-config --libs $PKGS) || exit 2
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
FLAGS="$FLAGS -std=c11 -D_GNU_SOURCE -Wall -Wextra"
mkdir -p "$OUT"

# Is $1 missing or older than any of the remaining files?
stale() {
  target=$1
  shift
  [ -f "$target" ] || return 0
  for f in "$@"; do
    [ "$f" -nt "$target" ] && return 0
  done
  return 1
}

status=0
n=0
total=0
for src in fuzz/fuzz_*.c; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .c)
  short=${name#fuzz_}
  if [ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$short" ]; then
    continue
  fi
  n=$((n + 1))
  list=$(sed -n 's|.*fuzz-sources:\(.*\)\*/.*|\1|p' "$src" | head -n 1)
  core=""
  if [ -n "$list" ]; then
    for f in $list; do core="$core csrc/core/$f"; done
  else
    core=$(ls csrc/core/*.c)
  fi
  # shellcheck disable=SC2086
  if stale "$OUT/$name" "$src" $core csrc/core/*.h fuzz/run.sh; then
    echo "# fuzz: building $name ($core )"
    # shellcheck disable=SC2086
    if ! $CC $FLAGS -Icsrc/core $PKG_CFLAGS "$src" $core $PKG_LIBS -o "$OUT/$name.tmp" ||
       ! mv "$OUT/$name.tmp" "$OUT/$name"; then
      echo "not ok $n - fuzz: $short does not build"
      status=1
      continue
    fi
  fi
  seeds="fuzz/corpus/$short"
  work="$OUT/corpus-$short"
  arts="$OUT/artifacts-$short"
  mkdir -p "$work" "$arts" "$seeds"
  dict=""
  [ -f "fuzz/$short.dict" ] && dict="-dict=fuzz/$short.dict"
  echo "# fuzz: running $name for ${SECS}s (seeds $seeds)"
  # shellcheck disable=SC2086
  "$OUT/$name" "$work" "$seeds" $dict -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$arts/" 2>"$OUT/$name.log"
  rc=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb|#[0-9]+ +DONE)' \
    "$OUT/$name.log" | sed 's/^/# /'
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$OUT/$name.log" | tail -n 1)
  units=$(sed -n 's/^stat::new_units_added: *\([0-9]*\).*/\1/p' "$OUT/$name.log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *\([0-9]*\).*/\1/p' "$OUT/$name.log" | tail -n 1)
  execs=${execs:-0}
  total=$((total + execs))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$short" "$SECS" "$execs" \
    "${units:-0}" "${rss:-0}" >>"$OUT/executions.tsv"
  if [ "$rc" -ne 0 ] || [ "$execs" -eq 0 ]; then
    echo "not ok $n - fuzz: $short failed (exit $rc, $execs inputs), see $OUT/$name.log and $arts/"
    grep -E 'ERROR|oracle|SUMMARY|runtime error' "$OUT/$name.log" | head -n 20 | sed 's/^/# /'
    status=1
  else
    echo "ok $n - fuzz: $short ran ${SECS} s, $execs inputs, no crash, no leak, no oracle violation"
  fi
done
if [ "$n" -eq 0 ]; then
  echo "not ok 1 - fuzz: no target ran"
  status=1
  n=1
fi
echo "# fuzz total: $total inputs"
echo "1..$n"
exit $status
