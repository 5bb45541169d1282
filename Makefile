# eksegress developer Makefile.
#
#   make demo       install what is missing, build, run the demo (simulator, or a
#                   real account read-only when AWS credentials are present)
#   make            build build/eksegress/core.so and build/libeksegress_core.a
#   make test       install missing system packages, build, run every suite
#   make check      test + sanitizers (ASan/UBSan) + valgrind + luacheck + cppcheck
#                   + the short chaos runs
#   make bench      benchmarks (never part of test)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each), then the Lua-level
#                   fuzz at LUA_FUZZ_SCALE times its make-test counts
#   make chaos      the chaos specs at full size (CHAOS_SCALE=1: 2,000-cluster
#                   audit, 200-cluster migration with 20 kill -9s); make check
#                   runs their short form (chaos-short, CHAOS_SCALE=0.1)
#
# BUILD selects the output folder, so several builds (and several developers'
# sessions) never write the same objects: make BUILD=build/asan ...

BUILD      ?= build
CC         ?= cc
PYTHON     ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
LUA        ?= lua5.4
BUSTED     ?= $(LUA) $(shell command -v busted 2>/dev/null || echo /usr/bin/busted)
FUZZ_SECONDS ?= 60
CHAOS_SCALE  ?= 1

# pkg-config is evaluated lazily (=), after `setup` has had a chance to run.
CORE_PKGS   = libcurl libcrypto jansson expat
CORE_CFLAGS = $(shell pkg-config --cflags $(CORE_PKGS))
CORE_LIBS   = $(shell pkg-config --libs $(CORE_PKGS))
LUA_CFLAGS  = $(shell pkg-config --cflags lua5.4)
LUA_LIBS    = $(shell pkg-config --libs lua5.4)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wwrite-strings -Wformat=2 -Wundef -Wvla -Wold-style-definition
OPT       ?= -O2 -g
SANITIZE  ?=
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) $(OPT) $(SANITIZE) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(SANITIZE) $(EXTRA_LDFLAGS)

CORE_SRC  = $(sort $(wildcard csrc/core/*.c))
CORE_OBJ  = $(CORE_SRC:csrc/core/%.c=$(BUILD)/obj/core/%.o)
BIND_SRC  = $(sort $(wildcard csrc/lua_*.c))
BIND_OBJ  = $(BIND_SRC:csrc/%.c=$(BUILD)/obj/%.o)
CTEST_SRC = $(sort $(wildcard csrc/tests/test_*.c))
CTEST_BIN = $(CTEST_SRC:csrc/tests/%.c=$(BUILD)/tests/%)

CORE_LIB  = $(BUILD)/libeksegress_core.a
CORE_SO   = $(BUILD)/eksegress/core.so

LUA_ENV = LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='$(BUILD)/?.so;;' \
          EKSEGRESS_PYTHON='$(PYTHON)'

.PHONY: demo all setup test test-run ctest ctest-run busted simtest check check-run asan valgrind \
        lint luacheck cppcheck check-layers bench fuzz chaos chaos-short chaos-run clean

all: $(CORE_SO) $(CORE_LIB)

setup:
	@sh tools/setup.sh

demo: setup
	@$(MAKE) --no-print-directory -s all
	@PYTHON='$(PYTHON)' sh tools/demo.sh $(BUILD)

$(BUILD)/obj/core/%.o: csrc/core/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: csrc/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $(LUA_CFLAGS) -Icsrc/core -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# The Lua module resolves Lua API symbols from the host interpreter: no -llua.
$(CORE_SO): $(BIND_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $(BIND_OBJ) $(CORE_LIB) $(CORE_LIBS)

# C tests of the core link the static library alone; tests named test_lua_*
# also link the binding and a Lua interpreter (they open lua_States in C).
$(BUILD)/tests/test_lua_%: csrc/tests/test_lua_%.c $(BIND_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $(LUA_CFLAGS) -Icsrc/core -Icsrc $< $(BIND_OBJ) $(CORE_LIB) \
	  $(ALL_LDFLAGS) $(CORE_LIBS) $(LUA_LIBS) -lm -o $@

$(BUILD)/tests/test_%: csrc/tests/test_%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -Icsrc/core $< $(CORE_LIB) $(ALL_LDFLAGS) $(CORE_LIBS) -lm -lpthread -o $@

-include $(CORE_OBJ:.o=.d) $(BIND_OBJ:.o=.d)

# ---- distribution: the C host library and examples, LuaRocks, API docs ----
#
#   make embed            build/libeksegress.a (core, binding, host API, every
#                         Lua module as text) and examples/embed/{host,threads}
#   make rockspec         regenerate rockspec/*.rockspec from the tree
#   make rock [TREE=dir]  install with LuaRocks from this checkout (tools/rock.sh)
#   make docs             the Lua API reference (LDoc, config.ld) in docs/api/

HOST_SRC   = $(sort $(wildcard csrc/host/*.c))
HOST_OBJ   = $(HOST_SRC:csrc/host/%.c=$(BUILD)/obj/host/%.o)
EMBED_C    = $(BUILD)/gen/embedded_lua.c
EMBED_OBJ  = $(BUILD)/obj/gen/embedded_lua.o
HOST_LIB   = $(BUILD)/libeksegress.a
EMBED_BIN  = $(BUILD)/examples/embed/host $(BUILD)/examples/embed/threads
# Folders too: adding or removing a module changes its folder's time.
LUA_TREE   = $(shell find lua -name '*.lua' -o -type d)
DOCS_DIR  ?= docs/api

.PHONY: embed rockspec rock docs docs-run

all: $(HOST_LIB)

# The host API includes eksegress.h (csrc/) and core headers.
$(BUILD)/obj/host/%.o: csrc/host/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $(LUA_CFLAGS) -Icsrc -Icsrc/core -MMD -MP -c $< -o $@

-include $(HOST_OBJ:.o=.d)

$(EMBED_C): $(LUA_TREE) tools/dist.lua
	@mkdir -p $(@D)
	$(LUA) tools/dist.lua embed > $@.tmp && mv $@.tmp $@

$(EMBED_OBJ): $(EMBED_C) csrc/host/embedded.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Icsrc/host -c $< -o $@

$(HOST_LIB): $(CORE_OBJ) $(BIND_OBJ) $(HOST_OBJ) $(EMBED_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/examples/embed/%: examples/embed/%.c csrc/eksegress.h $(HOST_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -Icsrc $< $(HOST_LIB) $(ALL_LDFLAGS) $(CORE_LIBS) $(LUA_LIBS) \
	  -lm -lpthread -o $@

embed: $(EMBED_BIN)

# C tests of the host API link libeksegress.a as a host does.
$(BUILD)/tests/test_host_%: csrc/tests/test_host_%.c $(HOST_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -Icsrc -Icsrc/host -Icsrc/core $< $(HOST_LIB) $(ALL_LDFLAGS) \
	  $(CORE_LIBS) $(LUA_LIBS) -lm -lpthread -o $@

rockspec:
	$(LUA) tools/dist.lua rockspec scm > rockspec/eksegress-scm-1.rockspec
	v=$$(sed -n 's/^#define ES_VERSION "\(.*\)"/\1/p' csrc/core/es_version.h); \
	  $(LUA) tools/dist.lua rockspec $$v > rockspec/eksegress-$$v-1.rockspec

rock: setup
	@sh tools/rock.sh $(if $(TREE),--tree '$(TREE)')

docs: setup
	@$(MAKE) --no-print-directory docs-run
	@echo "docs: $(DOCS_DIR)/index.html"

docs-run:
	@ldoc -d $(DOCS_DIR) . >/dev/null

# ---- tests ---------------------------------------------------------------

# The README's test command. Installs what is missing, then runs every suite
# and ends with "N passed, N failed".
test: setup
	@$(MAKE) --no-print-directory test-run

SUITES = "$(MAKE) --no-print-directory -s ctest-run" \
         "$(MAKE) --no-print-directory -s busted" \
         "$(MAKE) --no-print-directory -s simtest"

test-run: all $(CTEST_BIN)
	@tools/run-suites $(SUITES)

ctest: all $(CTEST_BIN)
	@$(MAKE) --no-print-directory ctest-run

# C tests run from the repository root; fixtures live under spec/fixtures.
# Every test program runs even when an earlier one fails; the status says
# whether any failed.
ctest-run: $(CTEST_BIN)
	@rc=0; for t in $(CTEST_BIN); do echo "# $$t"; $(CTEST_WRAP) $$t || { echo "# FAILED: $$t"; rc=1; }; done; exit $$rc

busted: all
	@$(LUA_ENV) $(BUSTED_WRAP) $(BUSTED) -o TAP spec

simtest:
	@if [ -f tools/ekssim/tests/run.py ]; then $(PYTHON) tools/ekssim/tests/run.py; \
	 else echo "ok 1 # SKIP simulator not present"; fi

# ---- check: sanitizers, valgrind, linters --------------------------------

# `make check` runs every phase, even after one fails, as suites of
# tools/run-suites, so it ends like `make test` with "N passed, N failed".
# Each phase prints its own total as a "# phase total: ..." comment, and each
# linter reports one TAP test. Phases: the plain suites, the same under
# ASan+UBSan, the same under valgrind, then check-layers, luacheck, cppcheck.
check: setup
	@$(MAKE) --no-print-directory check-run

CHECK_SUITES = "$(MAKE) --no-print-directory -s test-run" \
               "$(MAKE) --no-print-directory -s asan" \
               "$(MAKE) --no-print-directory -s valgrind" \
               "$(MAKE) --no-print-directory -s check-layers" \
               "$(MAKE) --no-print-directory -s luacheck" \
               "$(MAKE) --no-print-directory -s cppcheck" \
               "$(MAKE) --no-print-directory -s chaos-short"

check-run:
	@tools/run-suites $(CHECK_SUITES)

# Debian's busted script re-executes itself under the `lua` of .busted
# (sh -c "lua5.4 busted --ignore-lua ..."). Under a wrapper that would leave
# valgrind watching only the parent, so the wrapped runs pass --ignore-lua and
# the tests run in the very lua5.4 process the wrapper started.
BUSTED_DIRECT = $(BUSTED) --ignore-lua

# -- ASan + UBSan. An instrumented build of its own, inside $(BUILD) so that
# sessions with different BUILD folders never share objects. The run steps
# pass the same flags, so a source edited meanwhile is rebuilt instrumented.
ASAN_BUILD ?= $(BUILD)/asan
ASAN_FLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_MAKE   = $(MAKE) --no-print-directory -s BUILD=$(ASAN_BUILD) OPT='-O1 -g' SANITIZE='$(ASAN_FLAGS)'
LIBASAN     = $(shell $(CC) -print-file-name=libasan.so)
LIBUBSAN    = $(shell $(CC) -print-file-name=libubsan.so)
UBSAN_ENV   = UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# C tests are instrumented executables: every check on, leak detection included.
ASAN_CTEST_WRAP = env ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:strict_string_checks=1 $(UBSAN_ENV)
# Lua: lua5.4 is not instrumented, core.so is. The ASan runtime must come
# before every other library, hence LD_PRELOAD (which also puts it first, so
# verify_asan_link_order=0 is not needed). Children of the run (python
# simulators, lua5.4 examples) inherit it and simply run with ASan's malloc.
# LeakSanitizer stays off here, for two reasons. ASAN_OPTIONS and LD_PRELOAD
# reach every child of the run, and with leak detection on, any program that
# exits without freeing (sh, sed, mktemp in tools/demo.sh, python) fails with
# LeakSanitizer's exit code: specs that run those would fail for leaks not
# ours. And busted leaves through os.exit(code, true): the lua_State is
# closed, Lua dlcloses the C modules, and what a library keeps until exit is
# reported from "<unknown module>", which no suppression can name (lua5.4,
# which owns most allocations, is not instrumented either). Leaks through the
# binding are caught by valgrind on this same suite (definite leaks fail it)
# and by test_lua_two_states (C, LeakSanitizer on).
ASAN_LUA_WRAP = env LD_PRELOAD=$(LIBASAN):$(LIBUBSAN) ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:check_initialization_order=1 $(UBSAN_ENV)

asan:
	@$(ASAN_MAKE) all $(CTEST_SRC:csrc/tests/%.c=$(ASAN_BUILD)/tests/%)
	@tools/run-suites \
	  "$(ASAN_MAKE) ctest-run CTEST_WRAP='$(ASAN_CTEST_WRAP)'" \
	  "$(ASAN_MAKE) busted BUSTED='$(BUSTED_DIRECT)' BUSTED_WRAP='$(ASAN_LUA_WRAP)'"

# -- valgrind memcheck on the plain build: zero errors, zero definite leaks.
# Only the lua5.4 and C test processes are traced (no --trace-children): the
# python servers they start are not ours. --keep-debuginfo keeps the frames
# of modules Lua dlcloses at exit readable (and matchable by suppressions).
# EKSEGRESS_SLOW=1 lets specs scale their timeouts.
VALGRIND = valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
           --show-leak-kinds=definite --keep-debuginfo=yes --num-callers=30 --trace-children=no \
           --child-silent-after-fork=yes --suppressions=tools/valgrind.supp

valgrind: all $(CTEST_BIN)
	@tools/run-suites \
	  "$(MAKE) --no-print-directory -s ctest-run CTEST_WRAP='$(VALGRIND)'" \
	  "$(MAKE) --no-print-directory -s busted BUSTED='$(BUSTED_DIRECT)' BUSTED_WRAP='env EKSEGRESS_SLOW=1 $(VALGRIND)'"

# -- linters. Each prints one TAP test (check-run counts them) and fails on
# any finding.
lint: check-layers luacheck cppcheck

# csrc/core stays pure C: no Lua header (any header named lua*, lauxlib*),
# and no Lua symbol, defined or undefined, in the static library.
check-layers: $(CORE_LIB)
	@echo "1..1"
	@if grep -nE '#[[:space:]]*include[[:space:]]*[<"]([^">]*/)?(lua|lauxlib)[^">/]*\.h' \
	     csrc/core/*.c csrc/core/*.h; then \
	  echo "not ok 1 - check-layers: csrc/core must not include Lua headers"; exit 1; fi
	@if nm -A $(CORE_LIB) | grep -E ' [A-Za-z] (lua_|luaL_|luaopen_)'; then \
	  echo "not ok 1 - check-layers: $(CORE_LIB) references Lua symbols"; exit 1; fi
	@echo "ok 1 - check-layers: csrc/core has no Lua header, $(CORE_LIB) no Lua symbol"

# The Lua folders that exist (bin/, examples/, bench/ may not). Any warning fails.
LUACHECK_PATHS = $(wildcard lua spec bin examples bench tools/*.lua)

luacheck:
	@echo "1..1"
	@if luacheck --quiet --codes --no-color $(LUACHECK_PATHS); then \
	  echo "ok 1 - luacheck $(LUACHECK_PATHS)"; \
	 else echo "not ok 1 - luacheck $(LUACHECK_PATHS)"; exit 1; fi

# Every configuration of every file (no -D). A finding is fixed in the code;
# an inline suppression (cppcheck-suppress) only with a comment saying why.
cppcheck:
	@echo "1..1"
	@if cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	     --std=c11 --inline-suppr --suppress=missingIncludeSystem -Icsrc/core csrc; then \
	  echo "ok 1 - cppcheck csrc"; \
	 else echo "not ok 1 - cppcheck csrc"; exit 1; fi

# ---- bench and fuzz ------------------------------------------------------

bench: setup all
	@$(MAKE) --no-print-directory -s bench-run

bench-run:
	@sh bench/run.sh $(BUILD)

# Then the Lua-level fuzz (spec 15) at LUA_FUZZ_SCALE times its make-test counts.
LUA_FUZZ_SCALE ?= 100

fuzz: setup all
	@rc=0; sh fuzz/run.sh $(FUZZ_SECONDS) || rc=1; \
	 $(LUA_ENV) EKSEGRESS_FUZZ_SCALE=$(LUA_FUZZ_SCALE) $(BUSTED) -o TAP spec/15-fuzz_parsers_spec.lua || rc=1; \
	 exit $$rc

# ---- chaos ---------------------------------------------------------------
#
# spec/9x-*_spec.lua, tagged #chaos (the default busted run excludes them):
# faults, kill -9 and resume, clock skew, expiring and failing credentials,
# unwritable journals and reports, the canary secret scan. CHAOS_SCALE scales
# cluster and kill counts; CHAOS_FIGURES=FILE collects the measured figures.

chaos: setup all
	@$(MAKE) --no-print-directory -s chaos-run CHAOS_SCALE=$(CHAOS_SCALE)

chaos-short: all
	@$(MAKE) --no-print-directory -s chaos-run CHAOS_SCALE=0.1

chaos-run:
	@$(LUA_ENV) CHAOS_SCALE=$(CHAOS_SCALE) $(BUSTED) --run=chaos -o TAP

clean:
	rm -rf build

# ---- reliability (issue 16): secret wiping, fuzzing -------------------------
#
#   make fuzz          every libFuzzer target for FUZZ_SECONDS (fuzz/run.sh), then
#                      spec 15 (the Lua-level fuzz) with EKSEGRESS_FUZZ_SCALE=LUA_FUZZ_SCALE
#   make fuzz-short    every target for FUZZ_SHORT_SECONDS (part of make check)
#   make chaos         the chaos specs at full size (above; docs/RELIABILITY.md)
#
# test_secret_wipe watches every free() and realloc() the core makes for
# canary secrets: it links with --wrap for them and for malloc
# (csrc/tests/test_secret_wipe.c).
FUZZ_SHORT_SECONDS ?= 3

# make check runs a short fuzz pass as one more suite.
CHECK_SUITES += "$(MAKE) --no-print-directory -s fuzz-short"

$(BUILD)/tests/test_secret_wipe: csrc/tests/test_secret_wipe.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -Icsrc/core $< $(CORE_LIB) $(ALL_LDFLAGS) \
	  -Wl,--wrap=free,--wrap=realloc,--wrap=malloc $(CORE_LIBS) -lm -lpthread -o $@

.PHONY: fuzz-short

fuzz-short:
	@sh fuzz/run.sh $(FUZZ_SHORT_SECONDS)

# ---- end of the reliability block -------------------------------------------
