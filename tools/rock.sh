#!/bin/sh
# rock.sh [--tree DIR] [ROCKSPEC]: install eksegress with LuaRocks from this
# checkout (`make rock`, `make rock TREE=DIR`), offline when its Lua
# dependencies are already installed.
#
# Why --deps-mode=none: the rock depends on lua-cjson and argparse. Debian and
# Ubuntu ship them as packages (lua-cjson, lua-argparse) that Lua 5.4 finds on
# its default paths, but LuaRocks 3.8 (Debian 12's) only counts rocks that are
# in a rocks tree's manifest (its list of "provided" rocks is fixed: lua and
# utf8), so it would try to download them again, which fails offline. So when
# the very interpreter LuaRocks builds for can already require both modules,
# this script checks that first and passes --deps-mode=none; otherwise it lets
# LuaRocks install them from the rocks server as usual. The CLI finds its own
# tree (bin/eksegress), so the install works from any folder either way.
set -eu

tree=""
spec=rockspec/eksegress-scm-1.rockspec
while [ $# -gt 0 ]; do
  case "$1" in
    --tree) tree=$2; shift 2 ;;
    --tree=*) tree=${1#--tree=}; shift ;;
    -*) echo "usage: sh tools/rock.sh [--tree DIR] [ROCKSPEC]" >&2; exit 64 ;;
    *) spec=$1; shift ;;
  esac
done

# Paths given relative to where the script was started from.
case "$tree" in ""|/*) ;; *) tree=$(pwd)/$tree ;; esac
case "$spec" in /*) ;; *) [ -f "$spec" ] && spec=$(pwd)/$spec ;; esac
cd "$(dirname "$0")/.."

command -v luarocks >/dev/null 2>&1 || { echo "rock: luarocks is missing (make setup installs it)" >&2; exit 1; }
lr() { if [ -n "$tree" ]; then luarocks --lua-version 5.4 --tree "$tree" "$@"; else luarocks --lua-version 5.4 "$@"; fi; }

lua=$(luarocks --lua-version 5.4 config variables.LUA 2>/dev/null || true)
[ -n "$lua" ] || lua=lua5.4
deps=""
if "$lua" -e 'require "cjson"; require "argparse"' 2>/dev/null; then
  echo "rock: lua-cjson and argparse are already installed for $lua: --deps-mode=none"
  deps="--deps-mode=none"
fi

# Objects of the builtin build land beside the sources (and eksegress/core.so
# in the checkout's root); the Makefile builds under build/ and never reads
# them. They are removed afterwards so the checkout stays as it was.
cleanup() { rm -f csrc/*.o csrc/core/*.o eksegress/core.so; rmdir eksegress 2>/dev/null || true; }
trap cleanup EXIT
# shellcheck disable=SC2086
lr make $deps "$spec"

# The installed CLI, run from another folder.
bin=$(lr config deploy_bin_dir)/eksegress
(cd / && "$bin" --version)
echo "rock: installed. For require \"eksegress\" from your own scripts:"
if [ -n "$tree" ]; then
  echo "  eval \"\$(luarocks --lua-version 5.4 --tree $tree path)\""
else
  echo "  eval \"\$(luarocks --lua-version 5.4 path)\""
fi
