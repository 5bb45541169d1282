#!/bin/sh
# fuzz/run.sh [SECONDS]: build and run every libFuzzer target fuzz/fuzz_*.c.
#
# Each target is compiled with clang -fsanitize=fuzzer,address,undefined
# together with the core sources it names in a comment line
#   /* fuzz-sources: guard.c guard_json.c es_buf.c */
# (paths relative to csrc/core; without that line, every csrc/core/*.c), and
# linked with libcurl, libcrypto, jansson and expat. It then runs for SECONDS
# (default 60) from the seeds in fuzz/corpus/<name>/ (name = file name without
# "fuzz_" and ".c"); new inputs go to $FUZZ_BUILD/corpus-<name>/, crashes to
# $FUZZ_BUILD/artifacts-<name>/. An optional fuzz/<name>.dict is passed as
# -dict. Exits non-zero if any target fails to build or finds a crash.
#
# Environment: FUZZ_BUILD (default build/fuzz), FUZZ_CC (default clang),
# FUZZ_ONLY (run only the target with this name, e.g. "guard").
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

status=0
ran=0
for src in fuzz/fuzz_*.c; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .c)
  short=${name#fuzz_}
  if [ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$short" ]; then
    continue
  fi
  list=$(sed -n 's|.*fuzz-sources:\(.*\)\*/.*|\1|p' "$src" | head -n 1)
  core=""
  if [ -n "$list" ]; then
    for f in $list; do core="$core csrc/core/$f"; done
  else
    core=$(ls csrc/core/*.c)
  fi
  echo "# fuzz: building $name ($core )"
  # shellcheck disable=SC2086
  if ! $CC $FLAGS -Icsrc/core $PKG_CFLAGS "$src" $core $PKG_LIBS -o "$OUT/$name"; then
    echo "not ok - fuzz: $name does not build"
    status=1
    continue
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
    -print_final_stats=1 -artifact_prefix="$arts/" 2>"$OUT/$name.log"
  rc=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb|#[0-9]+ +DONE)' \
    "$OUT/$name.log" | sed 's/^/# /'
  if [ "$rc" -ne 0 ]; then
    echo "not ok - fuzz: $name failed (exit $rc), see $OUT/$name.log and $arts/"
    grep -E 'ERROR|oracle|SUMMARY|runtime error' "$OUT/$name.log" | head -n 20 | sed 's/^/# /'
    status=1
  else
    echo "ok - fuzz: $name ran ${SECS}s without a crash"
  fi
  ran=$((ran + 1))
done
if [ "$ran" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "not ok - fuzz: no target ran"
  status=1
fi
exit $status
