#!/bin/sh
# setup.sh: install the system packages eksegress needs, when they are missing.
# Detects apt (Debian/Ubuntu), dnf (Fedora/RHEL), apk (Alpine) and brew (macOS).
# Idempotent: when everything is present it only checks and returns.
set -eu

need_install=0
have() { command -v "$1" >/dev/null 2>&1; }
pc() { pkg-config --exists "$1" 2>/dev/null; }

for cmd in cc make pkg-config lua5.4 busted python3 valgrind cppcheck luacheck clang prove nghttpd; do
  have "$cmd" || { echo "setup: missing command $cmd"; need_install=1; }
done
for mod in lua5.4 libcurl libcrypto jansson expat; do
  pc "$mod" || { echo "setup: missing library $mod (pkg-config)"; need_install=1; }
done
if have lua5.4; then
  lua5.4 -e 'require "cjson"' 2>/dev/null || { echo "setup: missing lua-cjson for Lua 5.4"; need_install=1; }
  lua5.4 -e 'require "argparse"' 2>/dev/null || { echo "setup: missing lua-argparse"; need_install=1; }
fi
# Distribution (specs 80-83): LuaRocks, LDoc, and Discount for LDoc's
# markdown (Debian builds lua-discount for Lua 5.1 only, the Lua LDoc runs on).
have luarocks || { echo "setup: missing luarocks"; need_install=1; }
have ldoc || { echo "setup: missing ldoc (lua-ldoc)"; need_install=1; }
if have apt-get; then
  { have lua5.1 && lua5.1 -e 'require "discount"' 2>/dev/null; } || { echo "setup: missing lua-discount"; need_install=1; }
fi
if [ -x /usr/bin/python3 ] && have apt-get; then
  /usr/bin/python3 -c 'import botocore' 2>/dev/null || { echo "setup: missing python3-botocore"; need_install=1; }
fi
[ -n "$(ls /usr/lib/llvm-14/lib/libFuzzer*.a 2>/dev/null || true)" ] || \
  [ -n "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer*.a 2>/dev/null || true)" ] || \
  { have apt-get && { echo "setup: missing libFuzzer"; need_install=1; }; } || true

# The report specs (56-59): a JSON Schema validator, Chromium for the HTML
# report, and playwright-core (an npm package that drives it and downloads no
# browser), from tools/browser/package-lock.json. Its own step, so that when
# all is present it stays silent and the check above decides the message.
report_tools() {
  pkgs=""
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || pkgs="$pkgs chromium"
  { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; } || pkgs="$pkgs python3-jsonschema"
  have node || pkgs="$pkgs nodejs"
  have npm || pkgs="$pkgs npm"
  if [ -n "$pkgs" ]; then
    echo "setup: missing for the report specs:$pkgs"
    sudo_=""
    [ "$(id -u)" -ne 0 ] && have sudo && sudo_="sudo"
    if have apt-get; then
      $sudo_ apt-get update -q
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends $pkgs
    elif have dnf; then
      # shellcheck disable=SC2086
      $sudo_ dnf install -y $pkgs
    elif have apk; then
      # shellcheck disable=SC2086
      $sudo_ apk add --no-cache $(echo "$pkgs" | sed 's/python3-jsonschema/py3-jsonschema/')
    else
      echo "setup: install$pkgs yourself (the browser test skips without Chromium)" >&2
    fi
  fi
  browser_dir=$(dirname "$0")/browser
  want=$(sed -n 's/.*"playwright-core": "\([0-9.]*\)".*/\1/p' "$browser_dir/package.json")
  got=$(sed -n 's/^ *"version": "\([0-9.]*\)".*/\1/p' "$browser_dir/node_modules/playwright-core/package.json" \
    2>/dev/null | head -n 1)
  if have npm && [ "$want" != "$got" ]; then
    echo "setup: installing playwright-core $want in tools/browser (npm ci)"
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error) ||
      echo "setup: npm ci failed in tools/browser: the browser test will fail until it succeeds" >&2
  fi
}
report_tools

[ "$need_install" -eq 0 ] && { echo "setup: all dependencies present"; exit 0; }

SUDO=""
[ "$(id -u)" -ne 0 ] && have sudo && SUDO="sudo"

if have apt-get; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    build-essential pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev libssl-dev \
    libjansson-dev libexpat1-dev lua-cjson lua-argparse lua-busted lua-check \
    python3 python3-botocore valgrind cppcheck clang libclang-rt-14-dev libfuzzer-14-dev \
    nghttp2-server perl ca-certificates luarocks lua-ldoc lua5.1 lua-discount
elif have dnf; then
  $SUDO dnf install -y gcc make pkgconf-pkg-config lua lua-devel libcurl-devel openssl-devel \
    jansson-devel expat-devel lua-cjson lua-argparse python3 python3-botocore valgrind \
    cppcheck clang compiler-rt perl-Test-Harness luarocks nghttp2
  have busted || $SUDO luarocks --lua-version 5.4 install busted
  have luacheck || $SUDO luarocks --lua-version 5.4 install luacheck
  have ldoc || $SUDO luarocks --lua-version 5.4 install ldoc
elif have apk; then
  $SUDO apk add --no-cache build-base pkgconf lua5.4 lua5.4-dev curl-dev openssl-dev \
    jansson-dev expat-dev lua5.4-cjson lua5.4-argparse python3 py3-botocore valgrind \
    cppcheck clang compiler-rt perl-utils luarocks5.4 nghttp2
  have busted || $SUDO luarocks-5.4 install busted
  have luacheck || $SUDO luarocks-5.4 install luacheck
  have ldoc || $SUDO luarocks-5.4 install ldoc
elif have brew; then
  brew install lua pkg-config curl openssl@3 jansson expat luarocks python cppcheck llvm nghttp2
  luarocks --lua-version 5.4 install lua-cjson
  luarocks --lua-version 5.4 install argparse
  luarocks --lua-version 5.4 install busted
  luarocks --lua-version 5.4 install luacheck
  luarocks --lua-version 5.4 install ldoc
else
  echo "setup: no supported package manager (apt, dnf, apk, brew); install the packages listed in README.md" >&2
  exit 1
fi
echo "setup: done"
